//! Master keys, their ids, and key rings for rotation.
//!
//! A [`Key`] is one master secret of at least 32 bytes. It is never used directly: every
//! purpose (signing with HMAC-SHA-256, encrypting with XChaCha20-Poly1305, ...) gets its own
//! key, derived with HKDF-SHA-256 (RFC 5869) under a distinct `info` string such as
//! `typed-sessions/v1/sign/hmac-sha256`. So one master key can serve [`Sign`](crate::Sign) and
//! [`Encrypt`](crate::Encrypt) at once, and a signed value never verifies as an encrypted one
//! (nor the other way round).
//!
//! A [`KeyRing`] holds the current key, which protects every value written, and any number of
//! previous keys, which still open values they wrote. Each modern value names its key by a
//! [`KeyId`], so reading looks up exactly one key.

use std::fmt;

use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::samples::is_refused_sample;

mod derived;
mod ring;

pub(crate) use derived::DerivedKeys;
pub use ring::KeyRing;

/// The shortest master key the modern formats accept, in bytes (256 bits).
pub const MIN_KEY_LEN: usize = 32;

/// The longest master key accepted, in bytes. Longer input is almost certainly a mistake (a
/// file instead of a key); HKDF gains nothing from more than a few hash blocks.
pub const MAX_KEY_LEN: usize = 1024;

/// The `info` under which a key's id is derived.
const KEY_ID_INFO: &[u8] = b"typed-sessions/v1/key-id";

/// Why a key or key ring was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key is shorter than [`MIN_KEY_LEN`].
    #[error(
        "the key is {len} bytes long; the modern formats need at least {min} random bytes (generate one with `Key::generate()` or `openssl rand -hex 32`)"
    )]
    TooShort {
        /// The length given.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The key is longer than [`MAX_KEY_LEN`].
    #[error("the key is {len} bytes long; at most {max} bytes are accepted")]
    TooLong {
        /// The length given.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// Every byte of the key is the same (for example all zeros): a placeholder, not a secret.
    #[error("the key is one byte repeated (for example all zeros), which is not a secret")]
    Trivial,
    /// Every byte of the key is printable ASCII: a passphrase, or hex or base64 text passed as
    /// raw bytes, not 32 random bytes.
    #[error(
        "the key is all printable ASCII, so it is a passphrase or encoded text, not random bytes; \
         decode a hex or base64 key with `Key::from_hex` or `Key::from_base64`, or make one with \
         `Key::generate()` (or `typed-sessions keygen`)"
    )]
    Printable,
    /// The key is one of the sample keys printed in this crate's documentation, examples or
    /// tests: public, so it protects nothing.
    #[error(
        "the key is a sample key from typed-sessions' documentation or tests, known to everyone; \
         make your own with `Key::generate()`, `typed-sessions keygen` or `openssl rand -hex 32`"
    )]
    SampleKey,
    /// The text is not hexadecimal.
    #[error("the key is not valid hexadecimal (an even number of 0-9, a-f, A-F characters)")]
    InvalidHex,
    /// The text is not base64.
    #[error("the key is not valid base64 (standard or URL-safe alphabet)")]
    InvalidBase64,
    /// Two keys of one ring have the same id (most likely the same key was added twice).
    #[error("two keys of the ring have the same id {id}; every key must be different")]
    DuplicateKeyId {
        /// The repeated id.
        id: KeyId,
    },
}

/// A master key for [`Sign`](crate::Sign) and [`Encrypt`](crate::Encrypt): at least 32 random
/// bytes (see [`from_bytes`](Key::from_bytes) for what is refused).
///
/// Its bytes are wiped from memory when it is dropped, `Debug` shows only its [`KeyId`], and
/// `==` compares in constant time.
///
/// ```
/// use typed_sessions::transform::{Key, KeyError};
///
/// // Production: from your secret store, e.g. `Key::from_hex(&std::env::var("SESSION_KEY")?)?`.
/// let key = Key::generate();
/// assert_eq!(key.len(), 32);
///
/// assert!(matches!(Key::from_hex("00112233445566778899aabbccddeeff"), Err(KeyError::TooShort { len: 16, .. })));
/// assert_eq!(Key::from_bytes(&[0; 32]), Err(KeyError::Trivial));
/// assert_ne!(Key::generate(), key);
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<Vec<u8>>,
    id: KeyId,
}

impl Key {
    /// A key from raw bytes: at least [`MIN_KEY_LEN`], at most [`MAX_KEY_LEN`], not one
    /// repeated byte, not all printable ASCII (a passphrase or hex text is not a key: use
    /// [`from_hex`](Self::from_hex), [`from_base64`](Self::from_base64) or
    /// [`generate`](Self::generate)), and not one of the sample keys of this crate's
    /// documentation and tests ([`KeyError::SampleKey`]).
    ///
    /// ```
    /// use typed_sessions::transform::{Key, KeyError};
    ///
    /// let passphrase = b"correct horse battery staple 123";
    /// assert_eq!(Key::from_bytes(passphrase), Err(KeyError::Printable));
    /// let hex_text = b"000102030405060708090a0b0c0d0e0f";
    /// assert_eq!(Key::from_bytes(hex_text), Err(KeyError::Printable));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Key, KeyError> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort {
                len: bytes.len(),
                min: MIN_KEY_LEN,
            });
        }
        if bytes.len() > MAX_KEY_LEN {
            return Err(KeyError::TooLong {
                len: bytes.len(),
                max: MAX_KEY_LEN,
            });
        }
        if let Some((first, rest)) = bytes.split_first()
            && rest.iter().all(|b| b == first)
        {
            return Err(KeyError::Trivial);
        }
        if bytes.iter().all(|&b| is_printable_ascii(b)) {
            return Err(KeyError::Printable);
        }
        if is_refused_sample(bytes) {
            return Err(KeyError::SampleKey);
        }
        let bytes = Zeroizing::new(bytes.to_vec());
        let mut id = [0u8; KeyId::LEN];
        derive_into(&bytes, KEY_ID_INFO, &mut id);
        Ok(Key {
            bytes,
            id: KeyId(id),
        })
    }

    /// A key from hexadecimal text (either case; surrounding whitespace is ignored).
    ///
    /// ```no_run
    /// # use typed_sessions::transform::Key;
    /// // 64 hex digits from your secret store (`typed-sessions keygen` makes them).
    /// let key = Key::from_hex(&std::env::var("SESSION_KEY")?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_hex(text: &str) -> Result<Key, KeyError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| KeyError::InvalidHex)?);
        Key::from_bytes(&bytes)
    }

    /// A key from base64 text: the standard or the URL-safe alphabet, with or without `=`
    /// padding (surrounding whitespace is ignored).
    ///
    /// ```no_run
    /// # use typed_sessions::transform::Key;
    /// // 44 base64 characters from your secret store (`typed-sessions keygen` makes them).
    /// let key = Key::from_base64(&std::env::var("SESSION_KEY")?)?;
    /// assert_eq!(key.len(), 32);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_base64(text: &str) -> Result<Key, KeyError> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        let decoded = [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(KeyError::InvalidBase64)?;
        let bytes = Zeroizing::new(decoded);
        Key::from_bytes(&bytes)
    }

    /// A new random 32-byte key from the operating system's CSPRNG.
    ///
    /// Values protected with it can only be read by a process that holds it: a key generated
    /// at startup logs everyone out on every restart and cannot be shared between instances.
    /// For production, generate a key once (`openssl rand -hex 32`), keep it in your secret
    /// store, and load it with [`from_hex`](Self::from_hex).
    pub fn generate() -> Key {
        loop {
            let mut bytes = Zeroizing::new([0u8; MIN_KEY_LEN]);
            crate::random::fill_from_os(bytes.as_mut_slice());
            // Only a broken generator produces 32 equal bytes; draw again rather than fail.
            if let Ok(key) = Key::from_bytes(bytes.as_slice()) {
                return key;
            }
        }
    }

    /// The key's id: a public fingerprint derived from it (see [`KeyId`]).
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The length of the key in bytes.
    #[allow(clippy::len_without_is_empty)] // a key is never empty
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Derives `out.len()` bytes for purpose `info` (HKDF-SHA-256, no salt).
    pub(crate) fn derive(&self, info: &[u8], out: &mut [u8]) {
        derive_into(&self.bytes, info, out);
    }
}

/// Printable ASCII and the whitespace a text file or a terminal adds (tab, newline, return).
fn is_printable_ascii(b: u8) -> bool {
    b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// HKDF-SHA-256 with no salt (RFC 5869 §3.1: optional when the input key is already random).
fn derive_into(ikm: &[u8], info: &[u8], out: &mut [u8]) {
    let hkdf = Hkdf::<Sha256>::new(None, ikm);
    // Every caller asks for at most 64 bytes, far below HKDF-SHA-256's limit of 8160.
    if hkdf.expand(info, out).is_err() {
        out.fill(0);
    }
}

impl PartialEq for Key {
    /// Constant-time comparison of the key bytes.
    fn eq(&self, other: &Key) -> bool {
        self.bytes.as_slice().ct_eq(other.bytes.as_slice()).into()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl ZeroizeOnDrop for Key {}

/// The public id of a [`Key`]: 4 bytes derived from it with HKDF-SHA-256
/// (`info = "typed-sessions/v1/key-id"`), carried in every modern value so that reading looks
/// up exactly one key of the ring.
///
/// Why a fingerprint rather than a position in the ring: the id of a key is the same on every
/// server and in every ring, whatever the order, so a rolling deployment where some instances
/// hold `[new, old]` and others still `[old]` agrees on which key wrote what. It reveals
/// nothing about the key (it is a PRF output; 32 bits of it cannot be turned back into a
/// 256-bit key), and 4 bytes make an accidental clash between the few keys of one ring
/// a one-in-a-billion event, which [`KeyRing`] refuses anyway.
///
/// It prints as 8 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; KeyId::LEN]);

impl KeyId {
    /// The length of a key id in bytes.
    pub const LEN: usize = 4;

    /// The id's bytes, as they appear in a value.
    pub fn as_bytes(&self) -> &[u8; KeyId::LEN] {
        &self.0
    }

    pub(crate) fn from_bytes(bytes: [u8; KeyId::LEN]) -> KeyId {
        KeyId(bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::codec::hex::push_lower(f, &self.0);
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

#[cfg(test)]
mod tests;
