//! Transformers: protect the transported string (sign it, encrypt it) and check it on the way back.
//!
//! A session registers a chain of transformers. On the way out they run in registration order
//! (`transform(A).transform(B)` sends `B(A(value))`); on the way in they run in reverse, and the
//! first one that rejects the value ends the read: the session is absent, and the response
//! clears the client's copy. For by-id sessions the chain protects the id, not the stored data.
//!
//! Every transformer gets a [`TransformContext`]: the session name (bound into what the modern
//! formats authenticate, so a value cannot be moved from one session to another), the current
//! time, and the expiry the value should carry.
//!
//! # Which transformer
//!
//! | transformer | client can read | client can change | expiry inside | name bound | rotation | use it for |
//! |---|---|---|---|---|---|---|
//! | [`Encrypt`] | no | no | yes | yes | [`KeyRing`] | **by-value sessions (the default choice)** |
//! | [`Sign`] | yes | no | yes | yes | [`KeyRing`] | session ids, public data |
//! | [`KtorEncrypt`] | no | first 16 bytes | no | no | no | sharing sessions with Ktor |
//! | [`KtorSign`] | yes | no | no | no | no | sharing sessions with Ktor |
//! | [`KtorUnkeyedDigest`] | yes | **yes: unkeyed, anyone can compute it** | no | no | no | reading Ktor 1.x values while moving to [`Sign`] ([`Migrate`]) |
//!
//! **Why encryption is the recommended default for by-value sessions.** A session carried by
//! value travels whole to the client and back. Signed, it is only base64: whatever a handler
//! puts in it (a user id, a role, an email address, a cart) is readable by the user, by
//! browser extensions, and in any log or proxy that records cookies; and a later change that adds
//! a sensitive field leaks it silently. Encrypted, the client holds an opaque string; the AEAD
//! also authenticates it, so nothing is lost against signing, and it costs about the same
//! (`BENCHMARKS.md`, "Crypto (criterion)", has the figures). Keep [`Sign`] for values that are
//! public by nature, such as the id of a by-id session.
//!
//! Whatever the format, a by-value session cannot be revoked one by one: a copied value stays
//! valid until its expiry (or until its key leaves the ring). Keep the ttl short, or use a by-id
//! session when logout must end the session everywhere.
//!
//! # Keys
//!
//! [`Encrypt`] and [`Sign`] take a [`Key`], a master secret of at least 32 random bytes
//! (`Key::from_hex`, `Key::from_base64`, `Key::generate`). Shorter keys, keys made of one
//! repeated byte, raw bytes that are all printable ASCII (a passphrase, or hex text not
//! decoded) and the sample keys printed in this crate's documentation and tests are refused
//! ([`KeyError`]). Each format derives its own key from it with HKDF-SHA-256 under its
//! own `info` (`typed-sessions/v1/sign/hmac-sha256`, `typed-sessions/v1/encrypt/aes256gcm`,
//! ...), so one master key can serve signing and encryption, and a value of one format never
//! verifies in another. Keys are wiped from memory on drop and never printed.
//!
//! # The modern formats, byte by byte
//!
//! A value is one base64url string without padding (the alphabet `A-Z a-z 0-9 - _`, so it needs
//! no escaping in a cookie or a header). It is decoded strictly: padding, the standard alphabet,
//! non-canonical trailing bits or whitespace make it invalid. Every value starts with a 13-byte
//! header:
//!
//! ```text
//! offset  size  field
//!      0     1  format   0x01 HMAC-SHA-256, 0x02 HMAC-SHA-384, 0x03 HMAC-SHA-512 (signed, v1)
//!                        0x11 XChaCha20-Poly1305, 0x12 AES-256-GCM (encrypted, v1)
//!      1     4  key id   the [`KeyId`] of the master key (an HKDF fingerprint, see below)
//!      5     8  expires  Unix time in seconds, big-endian; 0 = no expiry
//! ```
//!
//! Signed ([`Sign`]), then:
//!
//! ```text
//!     13     n  payload  the session string, as is (readable)
//!   13+n    32  mac      HMAC(k, header | len(name) | name | payload)   (48 or 64 bytes for SHA-384/512)
//! ```
//!
//! Encrypted ([`Encrypt`]), then:
//!
//! ```text
//!     13    12  nonce       random per value (24 bytes for XChaCha20-Poly1305)
//!   13+12    n  ciphertext
//! 13+12+n   16  tag         AEAD(k, nonce, plaintext = payload, associated data = header | len(name) | name)
//! ```
//!
//! `len(name)` is the session name's length as 4 big-endian bytes, so name and payload can never
//! be re-split. Everything a value contains is authenticated: the header, the session name, the
//! nonce and the payload. A value of `n` payload bytes is `⌈4(45 + n)/3⌉` characters signed with
//! SHA-256, and `⌈4(41 + n)/3⌉` encrypted with AES-256-GCM (`⌈4(53 + n)/3⌉` with
//! XChaCha20-Poly1305). The AEAD is chosen in [`EncryptAlgorithm`], which explains the default.
//!
//! Reading checks, in this order, and stops at the first failure (each a [`Rejection`]):
//! length (over [`MAX_VALUE_LEN`] = 4096: [`Rejection::TooLong`], nothing decoded), strict
//! base64url, the format byte (only the configured one), the key id (looked up in the ring,
//! exactly one key: [`Rejection::UnknownKey`]), the MAC or AEAD tag (constant time:
//! [`Rejection::BadSignature`]; nothing is parsed or decrypted before it passes), then the
//! expiry against the current time ([`Rejection::Expired`]). A value without an expiry is
//! refused by a session that has one (so turning a ttl on also ends old, unlimited values).
//! Writing refuses a value that would be longer than 4096 characters (reported by
//! [`Sessions::set`](crate::Sessions::set) as [`SessionError::TooLarge`](crate::SessionError::TooLarge)).
//!
//! The expiry comes from the session's ttl
//! ([`SessionBuilder::ttl`](crate::SessionBuilder::ttl), by default the cookie's max age): it is
//! inside the authenticated envelope, so a replayed value dies on time even when the client
//! ignores `Max-Age`. By-id sessions write none in their signed id: the server enforces their
//! lifetime. [`Sign::open`] and [`Encrypt::open`] verify a value and return what it holds
//! ([`Opened`]: format, key id, expiry, payload); [`Format::detect`] reads the format and key
//! id without verifying anything.
//!
//! # Key rotation
//!
//! A [`KeyRing`] holds one current key, which writes every new value, and previous keys, which
//! only read. A value names its key by [`KeyId`]: 4 bytes derived from the key with HKDF
//! (`info = "typed-sessions/v1/key-id"`). The id depends only on the key, not on its place in
//! a ring, so servers holding `[new, old]` and servers still holding `[old]` agree during a
//! rolling deployment; a ring that would hold two keys with one id is refused.
//!
//! 1. Deploy `KeyRing::from_keys(new, [old])`: new values use `new`, old ones still read.
//!    When a handler reads a session whose value `old` protected, the response re-sends it
//!    under `new`, with the same expiry (reading never extends a session): active users move
//!    to the new key without noticing.
//! 2. Wait one ttl: every value `old` wrote has expired or been re-sent.
//! 3. Deploy `KeyRing::new(new)`.
//!
//! Dropping a key early logs out every session it protected: the emergency revocation.
//!
//! ```
//! use std::time::Duration;
//! use typed_sessions::SessionsConfig;
//! use typed_sessions::transform::{Encrypt, Key, KeyRing};
//! # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct UserSession { id: String }
//!
//! // Keys come from your secret store, e.g. `Key::from_hex(&std::env::var("SESSION_KEY")?)?`;
//! // generated here so that the example runs.
//! let new = Key::generate();
//! let old = Key::generate();
//! let ring = KeyRing::from_keys(new, [old])?; // a duplicate key would be an error here
//! let layer = SessionsConfig::new()
//!     .cookie::<UserSession>("user_session", |c| c
//!         .max_age(Duration::from_secs(3600))
//!         .transform(Encrypt::new(ring)))
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Ktor compatibility
//!
//! [`KtorSign`] and [`KtorEncrypt`] (module [`ktor`]) read and write exactly what Ktor 3.5's
//! `SessionTransportTransformerMessageAuthentication` and `SessionTransportTransformerEncrypt`
//! do, with the same keys and algorithm names, so a Ktor service and a Rust service can share
//! sessions during a migration (use them with
//! [`SessionBuilder::ktor_defaults`](crate::SessionBuilder::ktor_defaults) and the JSON
//! serializer). They inherit the format's limits: no expiry, no session name under the MAC, no
//! rotation, and for `KtorEncrypt` an IV that the MAC does not cover, which leaves the first 16
//! bytes of the payload malleable. Use [`Encrypt`] for new systems.
//!
//! [`KtorUnkeyedDigest`] reads and writes Ktor 1.x's `SessionTransportTransformerDigest`
//! (`value/hex(SHA-384("ktor" ‖ value))`), which Ktor deprecated in 1.1, made an error in 1.2.2
//! and deleted in 2.0. It has no key: anyone can compute it, so it only detects corruption.
//! Offer it to clients only while moving them to [`Sign`] with [`Migrate`].
//!
//! # Moving between formats
//!
//! [`Migrate::new(from, to)`](Migrate::new) writes `to`'s format and reads both; a value only
//! `from` accepts is re-sent in `to`'s format the first time a handler reads it, as a value
//! under a previous key is re-sent under the current one. It moves a session from a Ktor format
//! to [`Sign`] or [`Encrypt`], or between the modern formats, without logging anyone out; after
//! one lifetime of the session, deploy `to` alone.

mod encrypt;
mod envelope;
mod keys;
pub mod ktor;
pub(crate) mod mac;
mod migrate;
mod samples;
mod sign;

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

pub use crate::error::TransformError;
pub use encrypt::{Encrypt, EncryptAlgorithm};
pub use envelope::{Format, MAX_VALUE_LEN, Opened};
pub use keys::{Key, KeyError, KeyId, KeyRing, MAX_KEY_LEN, MIN_KEY_LEN};
pub use ktor::{KtorEncrypt, KtorError, KtorSign, KtorUnkeyedDigest};
pub use migrate::Migrate;
pub use sign::{Sign, SignAlgorithm};

/// What a transformer knows about the value it protects or checks.
#[derive(Debug, Clone, Copy)]
pub struct TransformContext<'a> {
    /// The session's name (the cookie or header name).
    pub name: &'a str,
    /// The current time.
    pub now: SystemTime,
    /// When a value written now should stop being accepted, if the session has a lifetime.
    /// Formats that can carry an expiry put it inside what they authenticate.
    pub expires_at: Option<SystemTime>,
}

impl<'a> TransformContext<'a> {
    /// A context for session `name` at time `now` with no expiry.
    pub fn new(name: &'a str, now: SystemTime) -> Self {
        TransformContext {
            name,
            now,
            expires_at: None,
        }
    }

    /// The same context with an expiry.
    pub fn with_expiry(mut self, expires_at: Option<SystemTime>) -> Self {
        self.expires_at = expires_at;
        self
    }
}

/// Why a transformer refused an incoming value. The session reads as absent in every case; the
/// reason feeds logs (at debug level, without the value) and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// Not in the expected format (wrong length, bad encoding, missing separator).
    Malformed,
    /// The MAC, AEAD tag or digest did not verify.
    BadSignature,
    /// The value names a key that is not in the key ring.
    UnknownKey,
    /// The value carried an expiry that has passed.
    Expired,
    /// The value is too long to be a value this session could have written.
    TooLong,
}

impl Rejection {
    /// A short stable name, used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::BadSignature => "bad_signature",
            Rejection::UnknownKey => "unknown_key",
            Rejection::Expired => "expired",
            Rejection::TooLong => "too_long",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of the chain: protects a string on the way out, checks and unwraps it on the way in.
///
/// Implement it to add your own step; the built-in ones are in this module.
///
/// ```
/// use typed_sessions::transform::{
///     Rejection, TransformContext, TransformError, Transformer, Unwrapped,
/// };
///
/// /// Appends `;1` on write and requires it on read (the shape of Ktor's own chain test).
/// struct Append;
/// impl Transformer for Append {
///     fn write(&self, _: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
///         Ok(format!("{value};1"))
///     }
///     fn read(&self, _: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
///         let inner = value.strip_suffix(";1").ok_or(Rejection::Malformed)?;
///         Ok(Unwrapped::new(inner.to_owned()))
///     }
/// }
/// let ctx = TransformContext::new("s", std::time::SystemTime::now());
/// assert_eq!(Append.write(&ctx, "0").unwrap(), "0;1");
/// assert_eq!(Append.read(&ctx, "0;1").unwrap().value, "0");
/// ```
pub trait Transformer: Send + Sync + 'static {
    /// Protects `value`.
    fn write(&self, ctx: &TransformContext<'_>, value: &str) -> Result<String, TransformError>;

    /// Checks `value` and returns what was protected, with what the transformer knows about
    /// it: whether it should be written again under the current key (a previous key of a
    /// [`KeyRing`] protected it) and when it expires ([`Unwrapped::new`] for a value with
    /// neither). `value` comes from a client: every failure must be a [`Rejection`], never a
    /// panic.
    fn read(&self, ctx: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection>;

    /// A short description for diagnostics (never key material).
    fn describe(&self) -> String {
        std::any::type_name::<Self>()
            .rsplit("::")
            .next()
            .unwrap_or("transformer")
            .to_owned()
    }
}

/// What a transformer found inside a value it accepted ([`Transformer::read`]).
///
/// `Debug` shows the value's length, not the value (session content or an id).
#[derive(Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// What was protected.
    pub value: String,
    /// The value was protected with a key that is no longer the current one: the sessions
    /// layer re-sends it under the current key (keeping its expiry) when a handler reads it.
    pub stale_key: bool,
    /// The expiry the value carries, if any.
    pub expires_at: Option<SystemTime>,
}

impl fmt::Debug for Unwrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unwrapped")
            .field("value_len", &self.value.len())
            .field("stale_key", &self.stale_key)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Unwrapped {
    /// A value protected with the current key (or by a transformer without keys) that carries
    /// no expiry.
    pub fn new(value: String) -> Unwrapped {
        Unwrapped {
            value,
            stale_key: false,
            expires_at: None,
        }
    }
}

/// The transformers of one session, in registration order.
#[derive(Default)]
pub(crate) struct Chain {
    steps: Vec<Box<dyn Transformer>>,
}

impl Chain {
    pub(crate) fn push(&mut self, step: Box<dyn Transformer>) {
        self.steps.push(step);
    }

    /// Whether the chain has no step (the value travels as it is).
    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs every step in registration order. An empty chain (a by-id session without
    /// transformers) hands the value back without a copy.
    pub(crate) fn write<'a>(
        &self,
        ctx: &TransformContext<'_>,
        value: &'a str,
    ) -> Result<Cow<'a, str>, TransformError> {
        let mut steps = self.steps.iter();
        let Some(first) = steps.next() else {
            return Ok(Cow::Borrowed(value));
        };
        let first = first.write(ctx, value)?;
        steps
            .try_fold(first, |acc, step| step.write(ctx, &acc))
            .map(Cow::Owned)
    }

    /// Runs every step in reverse order; the first rejection ends the read. The result is
    /// stale if any step found a previous key, and expires at the earliest expiry found. An
    /// empty chain hands the value back without a copy.
    pub(crate) fn read<'a>(
        &self,
        ctx: &TransformContext<'_>,
        value: &'a str,
    ) -> Result<ChainRead<'a>, Rejection> {
        let mut steps = self.steps.iter().rev();
        let Some(first) = steps.next() else {
            return Ok(ChainRead {
                value: Cow::Borrowed(value),
                stale_key: false,
                expires_at: None,
            });
        };
        let first = first.read(ctx, value)?;
        let all = steps.try_fold(first, |acc, step| {
            let next = step.read(ctx, &acc.value)?;
            Ok(Unwrapped {
                value: next.value,
                stale_key: acc.stale_key || next.stale_key,
                expires_at: match (acc.expires_at, next.expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            })
        })?;
        Ok(ChainRead {
            value: Cow::Owned(all.value),
            stale_key: all.stale_key,
            expires_at: all.expires_at,
        })
    }
}

/// What a whole [`Chain`] found: an [`Unwrapped`] whose value may borrow the input. `Debug`
/// shows the value's length only.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ChainRead<'a> {
    /// What was protected.
    pub(crate) value: Cow<'a, str>,
    /// Some step found a previous key.
    pub(crate) stale_key: bool,
    /// The earliest expiry any step found.
    pub(crate) expires_at: Option<SystemTime>,
}

impl fmt::Debug for ChainRead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainRead")
            .field("value_len", &self.value.len())
            .field("stale_key", &self.stale_key)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl ChainRead<'_> {
    /// The same result, owning its value.
    pub(crate) fn into_owned(self) -> ChainRead<'static> {
        ChainRead {
            value: Cow::Owned(self.value.into_owned()),
            stale_key: self.stale_key,
            expires_at: self.expires_at,
        }
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.steps.iter().map(|s| s.describe()))
            .finish()
    }
}

#[cfg(test)]
mod tests;
