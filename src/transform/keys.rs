//! Master keys, their ids, and key rings for rotation.
//!
//! A [`Key`] is one master secret of at least 32 bytes. It is never used directly: every
//! purpose (signing with HMAC-SHA-256, encrypting with XChaCha20-Poly1305, ...) gets its own
//! key, derived with HKDF-SHA-256 (RFC 5869) under a distinct `info` string such as
//! `typed-sessions/v1/sign/hmac-sha256`. So one master key can serve [`Sign`](super::Sign) and
//! [`Encrypt`](super::Encrypt) at once, and a signed value never verifies as an encrypted one
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

/// A master key for [`Sign`](super::Sign) and [`Encrypt`](super::Encrypt): at least 32 bytes,
/// not one repeated byte.
///
/// Its bytes are wiped from memory when it is dropped, `Debug` shows only its [`KeyId`], and
/// `==` compares in constant time.
///
/// ```
/// use typed_sessions::transform::{Key, KeyError};
///
/// let key = Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")?;
/// assert_eq!(key.len(), 32);
/// assert!(!format!("{key:?}").contains("0001020304"));
///
/// assert!(matches!(Key::from_hex("00112233445566778899aabbccddeeff"), Err(KeyError::TooShort { len: 16, .. })));
/// assert_eq!(Key::from_bytes(&[0; 32]), Err(KeyError::Trivial));
///
/// let fresh = Key::generate();
/// assert_ne!(fresh, key);
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<Vec<u8>>,
    id: KeyId,
}

impl Key {
    /// A key from raw bytes (at least [`MIN_KEY_LEN`], at most [`MAX_KEY_LEN`], not one
    /// repeated byte).
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
    /// ```
    /// # use typed_sessions::transform::Key;
    /// let key = Key::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90")?;
    /// # Ok::<(), typed_sessions::transform::KeyError>(())
    /// ```
    pub fn from_hex(text: &str) -> Result<Key, KeyError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| KeyError::InvalidHex)?);
        Key::from_bytes(&bytes)
    }

    /// A key from base64 text: the standard or the URL-safe alphabet, with or without `=`
    /// padding (surrounding whitespace is ignored).
    ///
    /// ```
    /// # use typed_sessions::transform::Key;
    /// let key = Key::from_base64("qx2b5V3cLNnOBVxTJyQVbQ8m3Dhn1C1nQp0TiRCkWxU=")?;
    /// assert_eq!(key.len(), 32);
    /// # Ok::<(), typed_sessions::transform::KeyError>(())
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
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// The keys of a [`Sign`](super::Sign) or [`Encrypt`](super::Encrypt): one current key, which
/// protects every value written, and previous keys, which only open values written before a
/// rotation.
///
/// To rotate: deploy `[new, old]` (new values use `new`, old ones still read); once every
/// value written with `old` has expired (the session's ttl), deploy `[new]`. Dropping a key
/// at once logs out everyone whose value it wrote: that is the emergency revocation.
///
/// ```
/// use typed_sessions::transform::{Key, KeyError, KeyRing, Sign};
///
/// let old = Key::generate();
/// let new = Key::generate();
/// let ring = KeyRing::new(new.clone()).with_previous(old.clone())?;
/// assert_eq!(ring.current().id(), new.id());
/// assert!(ring.get(old.id()).is_some());
///
/// // The same key twice is refused.
/// assert!(matches!(KeyRing::new(new.clone()).with_previous(new.clone()), Err(KeyError::DuplicateKeyId { .. })));
///
/// // One key is a ring of one.
/// let sign = Sign::new(new);
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRing {
    /// Writes every new value.
    current: Key,
    /// Only read.
    previous: Vec<Key>,
}

impl KeyRing {
    /// A ring of one key.
    pub fn new(current: Key) -> KeyRing {
        KeyRing {
            current,
            previous: Vec::new(),
        }
    }

    /// A ring with a current key and previous keys (most recent first, though the order of
    /// previous keys does not matter). Fails if two keys have the same id.
    pub fn from_keys(
        current: Key,
        previous: impl IntoIterator<Item = Key>,
    ) -> Result<KeyRing, KeyError> {
        previous
            .into_iter()
            .try_fold(KeyRing::new(current), KeyRing::with_previous)
    }

    /// Adds a previous key (open only). Fails if its id is already in the ring.
    pub fn with_previous(mut self, key: Key) -> Result<KeyRing, KeyError> {
        if self.get(key.id()).is_some() {
            return Err(KeyError::DuplicateKeyId { id: key.id() });
        }
        self.previous.push(key);
        Ok(self)
    }

    /// The key that protects new values.
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// The previous keys, in the order they were added.
    pub fn previous(&self) -> &[Key] {
        &self.previous
    }

    /// Every key: the current one first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    /// The key with id `id`, if the ring holds it.
    pub fn get(&self, id: KeyId) -> Option<&Key> {
        self.keys().find(|k| k.id() == id)
    }
}

impl From<Key> for KeyRing {
    fn from(key: Key) -> KeyRing {
        KeyRing::new(key)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current.id())
            .field(
                "previous",
                &self.previous.iter().map(Key::id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn accepts_32_bytes_in_every_encoding() {
        let from_hex = Key::from_hex(HEX32).unwrap();
        let bytes = hex::decode(HEX32).unwrap();
        let std_b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let url_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(Key::from_base64(&std_b64).unwrap(), from_hex);
        assert_eq!(Key::from_base64(&url_b64).unwrap(), from_hex);
        assert_eq!(Key::from_bytes(&bytes).unwrap(), from_hex);
        assert_eq!(
            Key::from_hex(&format!("  {}\n", HEX32.to_uppercase())).unwrap(),
            from_hex
        );
    }

    #[test]
    fn refuses_short_trivial_and_garbage_keys() {
        assert_eq!(
            Key::from_bytes(&[7; 31][..]).unwrap_err(),
            KeyError::TooShort { len: 31, min: 32 }
        );
        assert_eq!(
            Key::from_bytes(&[]).unwrap_err(),
            KeyError::TooShort { len: 0, min: 32 }
        );
        assert_eq!(Key::from_bytes(&[0; 32]).unwrap_err(), KeyError::Trivial);
        assert_eq!(Key::from_bytes(&[0xab; 64]).unwrap_err(), KeyError::Trivial);
        assert!(matches!(
            Key::from_bytes(&vec![1; MAX_KEY_LEN + 1]).unwrap_err(),
            KeyError::TooLong { .. }
        ));
        assert_eq!(Key::from_hex("xyz").unwrap_err(), KeyError::InvalidHex);
        assert_eq!(Key::from_hex("abc").unwrap_err(), KeyError::InvalidHex);
        assert_eq!(
            Key::from_base64("@@@").unwrap_err(),
            KeyError::InvalidBase64
        );
        // The Ktor documentation's sample keys are too short for the modern formats.
        assert!(matches!(
            Key::from_hex("6819b57a326945c1968f45236589"),
            Err(KeyError::TooShort { len: 14, .. })
        ));
        // 31 zero bytes then one non-zero: not trivial, accepted at 32.
        let mut almost = [0u8; 32];
        almost[31] = 1;
        assert!(Key::from_bytes(&almost).is_ok());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = Key::from_hex(HEX32).unwrap();
        let debug = format!("{key:?} {:?}", KeyRing::new(key.clone()));
        assert!(!debug.contains("0001020304"), "{debug}");
        assert!(!debug.contains("[0, 1, 2"), "{debug}");
        assert!(debug.contains(&key.id().to_string()), "{debug}");
    }

    #[test]
    fn key_id_is_a_stable_hkdf_fingerprint() {
        let key = Key::from_hex(HEX32).unwrap();
        let mut expected = [0u8; 4];
        Hkdf::<Sha256>::new(None, &hex::decode(HEX32).unwrap())
            .expand(b"typed-sessions/v1/key-id", &mut expected)
            .unwrap();
        assert_eq!(key.id().as_bytes(), &expected);
        assert_eq!(key.id().to_string(), hex::encode(expected));
        assert_ne!(Key::generate().id(), key.id());
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let key = Key::from_hex(HEX32).unwrap();
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        key.derive(b"typed-sessions/v1/sign/hmac-sha256", &mut a);
        key.derive(b"typed-sessions/v1/encrypt/xchacha20poly1305", &mut b);
        assert_ne!(a, b);
        assert_ne!(&a[..], &hex::decode(HEX32).unwrap()[..]);
    }

    #[test]
    fn generated_keys_are_random_and_valid() {
        let a = Key::generate();
        let b = Key::generate();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn ring_refuses_duplicates_and_finds_by_id() {
        let (a, b, c) = (Key::generate(), Key::generate(), Key::generate());
        let ring = KeyRing::from_keys(a.clone(), [b.clone(), c.clone()]).unwrap();
        assert_eq!(ring.current(), &a);
        assert_eq!(ring.previous(), &[b.clone(), c.clone()]);
        assert_eq!(ring.get(c.id()), Some(&c));
        assert_eq!(ring.get(Key::generate().id()), None);
        assert_eq!(ring.keys().count(), 3);
        assert_eq!(
            KeyRing::from_keys(a.clone(), [b.clone(), a.clone()]).unwrap_err(),
            KeyError::DuplicateKeyId { id: a.id() }
        );
        assert_eq!(
            KeyRing::new(a.clone())
                .with_previous(a.clone())
                .unwrap_err(),
            KeyError::DuplicateKeyId { id: a.id() }
        );
        let single: KeyRing = a.clone().into();
        assert_eq!(single.current(), &a);
        assert!(single.previous().is_empty());
    }
}
