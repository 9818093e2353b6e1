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

mod encrypt;
mod envelope;
mod keys;
pub mod ktor;
mod mac;
mod sign;

use std::fmt;
use std::time::SystemTime;

pub use encrypt::{Encrypt, EncryptAlgorithm};
pub use envelope::{Format, MAX_VALUE_LEN, Opened};
pub use keys::{Key, KeyError, KeyId, KeyRing, MAX_KEY_LEN, MIN_KEY_LEN};
pub use ktor::{KtorEncrypt, KtorError, KtorSign};
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
    /// The MAC or AEAD tag did not verify.
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

/// Why a transformer could not protect an outgoing value.
///
/// [`Sessions::set`](crate::Sessions::set) reports it as
/// [`SessionError::TooLarge`](crate::SessionError::TooLarge) or
/// [`SessionError::Transform`](crate::SessionError::Transform).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The protected value would exceed what the format accepts back.
    #[error("the protected value would be {size} bytes long, over the limit of {limit}")]
    TooLarge {
        /// The size it would have had.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Any other failure (the message never contains the value or key material).
    #[error("{0}")]
    Failed(String),
}

/// One step of the chain: protects a string on the way out, checks and unwraps it on the way in.
///
/// Implement it to add your own step; the built-in ones are in this module.
///
/// ```
/// use typed_sessions::transform::{Rejection, TransformContext, TransformError, Transformer};
///
/// /// Appends `;1` on write and requires it on read (the shape of Ktor's own chain test).
/// struct Append;
/// impl Transformer for Append {
///     fn write(&self, _: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
///         Ok(format!("{value};1"))
///     }
///     fn read(&self, _: &TransformContext<'_>, value: &str) -> Result<String, Rejection> {
///         value.strip_suffix(";1").map(str::to_owned).ok_or(Rejection::Malformed)
///     }
/// }
/// let ctx = TransformContext::new("s", std::time::SystemTime::now());
/// assert_eq!(Append.write(&ctx, "0").unwrap(), "0;1");
/// assert_eq!(Append.read(&ctx, "0;1").unwrap(), "0");
/// ```
pub trait Transformer: Send + Sync + 'static {
    /// Protects `value`.
    fn write(&self, ctx: &TransformContext<'_>, value: &str) -> Result<String, TransformError>;

    /// Checks `value` and returns what was protected. `value` comes from a client: every
    /// failure must be a [`Rejection`], never a panic.
    fn read(&self, ctx: &TransformContext<'_>, value: &str) -> Result<String, Rejection>;

    /// A short description for diagnostics (never key material).
    fn describe(&self) -> String {
        std::any::type_name::<Self>()
            .rsplit("::")
            .next()
            .unwrap_or("transformer")
            .to_owned()
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

    /// Runs every step in registration order.
    pub(crate) fn write(
        &self,
        ctx: &TransformContext<'_>,
        value: String,
    ) -> Result<String, TransformError> {
        self.steps
            .iter()
            .try_fold(value, |acc, step| step.write(ctx, &acc))
    }

    /// Runs every step in reverse order; the first rejection ends the read.
    pub(crate) fn read(
        &self,
        ctx: &TransformContext<'_>,
        value: &str,
    ) -> Result<String, Rejection> {
        let mut steps = self.steps.iter().rev();
        let Some(first) = steps.next() else {
            return Ok(value.to_owned());
        };
        let first = first.read(ctx, value)?;
        steps.try_fold(first, |acc, step| step.read(ctx, &acc))
    }
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.steps.iter().map(|s| s.describe()))
            .finish()
    }
}

/// Helpers for the transformer tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// `value` (base64url) with each bit of each decoded byte flipped in turn, re-encoded
    /// canonically: every single-bit change a client could make to the protected bytes.
    pub(crate) fn every_byte_flipped(value: &str) -> Vec<String> {
        let bytes = URL_SAFE_NO_PAD.decode(value).unwrap();
        let mut out = Vec::with_capacity(bytes.len() * 8);
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut tampered = bytes.clone();
                tampered[i] ^= 1 << bit;
                out.push(URL_SAFE_NO_PAD.encode(&tampered));
            }
        }
        out
    }

    /// Other spellings of the same bytes that a lenient decoder would accept: padded, the
    /// standard alphabet, non-canonical trailing bits, embedded whitespace.
    pub(crate) fn re_encodings(value: &str) -> Vec<String> {
        let mut out = vec![
            format!("{value}="),
            format!("{value}=="),
            format!("{value}\n"),
            format!(" {value}"),
        ];
        let pad = (4 - value.len() % 4) % 4;
        if pad > 0 {
            out.push(format!("{value}{}", "=".repeat(pad)));
        }
        let standard = value.replace('-', "+").replace('_', "/");
        if standard != value {
            out.push(standard);
        }
        let unused_bits = match value.len() % 4 {
            2 => 4,
            3 => 2,
            _ => 0,
        };
        if unused_bits > 0 {
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let last = *value.as_bytes().last().unwrap();
            let index = ALPHABET.iter().position(|&c| c == last).unwrap();
            let mut noncanonical = value[..value.len() - 1].to_owned();
            noncanonical.push(ALPHABET[index ^ 1] as char);
            out.push(noncanonical);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Append(&'static str);
    impl Transformer for Append {
        fn write(&self, _: &TransformContext<'_>, v: &str) -> Result<String, TransformError> {
            Ok(format!("{v};{}", self.0))
        }
        fn read(&self, _: &TransformContext<'_>, v: &str) -> Result<String, Rejection> {
            v.strip_suffix(&format!(";{}", self.0))
                .map(str::to_owned)
                .ok_or(Rejection::Malformed)
        }
    }

    #[test]
    fn chain_writes_in_order_and_reads_in_reverse() {
        let mut chain = Chain::default();
        chain.push(Box::new(Append("1")));
        chain.push(Box::new(Append("2")));
        let ctx = TransformContext::new("s", SystemTime::now());
        assert_eq!(chain.write(&ctx, "0".into()).unwrap(), "0;1;2");
        assert_eq!(chain.read(&ctx, "0;1;2").unwrap(), "0");
        assert_eq!(chain.read(&ctx, "0;2;1"), Err(Rejection::Malformed));
    }
}
