//! [`Encrypt`]: the modern encrypted format (an AEAD), with key rotation, the session name and
//! an expiry authenticated with the ciphertext.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadCore, AeadInOut, KeyInit};
use chacha20poly1305::XChaCha20Poly1305;
use zeroize::Zeroize;

use super::envelope::{self, Format, HEADER_LEN, Header, Opened};
use super::keys::{DerivedKeys, Key, KeyId, KeyRing};
use super::{Rejection, TransformContext, TransformError, Transformer, Unwrapped};

/// The length of the AEAD tag in bytes (both ciphers; never truncated).
const TAG_LEN: usize = 16;

/// The AEAD of an [`Encrypt`].
///
/// Both are audited RustCrypto implementations, used with a full 16-byte tag and a fresh random
/// nonce per value from the OS CSPRNG.
///
/// **The default, AES-256-GCM, was chosen by measurement** (`BENCHMARKS.md`, "Crypto
/// (criterion)"): on the project's x86-64 reference machine (AES-NI and carry-less multiply),
/// an encrypt-then-decrypt round trip costs a fraction of XChaCha20-Poly1305's at every size
/// measured, because the `chacha20poly1305` crate spends a much larger fixed cost per value than
/// AES-GCM does; `BENCHMARKS.md` has the figures.
///
/// **Its limit:** a 12-byte random nonce. NIST SP 800-38D §8.3 allows 2³² values per key with
/// random nonces (a nonce collision would reveal the XOR of two payloads and let the
/// authentication key be recovered). That is four billion session writes: rotate the key
/// ([`KeyRing`]) well before, for example yearly, or sooner on a site that writes thousands of
/// sessions per second. XChaCha20-Poly1305's 24-byte nonce has no such bound: choose it when
/// keys cannot be rotated, or on CPUs without AES instructions (where it is also the faster).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EncryptAlgorithm {
    /// AES-256-GCM: 12-byte random nonce; rotate the key before 2³² values (the default).
    #[default]
    Aes256Gcm,
    /// XChaCha20-Poly1305: 24-byte random nonce, no practical limit on values per key.
    XChaCha20Poly1305,
}

impl EncryptAlgorithm {
    fn format(self) -> Format {
        match self {
            EncryptAlgorithm::XChaCha20Poly1305 => Format::XChaCha20Poly1305,
            EncryptAlgorithm::Aes256Gcm => Format::Aes256Gcm,
        }
    }

    /// The length of the nonce in bytes.
    pub fn nonce_len(self) -> usize {
        match self {
            EncryptAlgorithm::XChaCha20Poly1305 => 24,
            EncryptAlgorithm::Aes256Gcm => 12,
        }
    }
}

/// Encrypts values: the client can neither read nor change them. The recommended transformer
/// for sessions carried by value.
///
/// The value is written as one base64url string (no padding):
///
/// ```text
/// format (1) | key id (4) | expires (8) | nonce (12, or 24 for XChaCha20) | ciphertext (n) | tag (16)
/// associated data = format | key id | expires | len(name) (4, big-endian) | name
/// ```
///
/// The nonce is fresh from the OS CSPRNG for every value. The AEAD authenticates everything:
/// the header and session name as associated data, the nonce as the AEAD nonce, the ciphertext
/// under the tag. The key is derived from the master key with HKDF-SHA-256
/// (`info = "typed-sessions/v1/encrypt/aes256gcm"` or `.../xchacha20poly1305`), so the same
/// master key can also serve [`Sign`](super::Sign) without either accepting the other's values.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::transform::{Encrypt, Key, Rejection, TransformContext, Transformer};
///
/// let encrypt = Encrypt::new(Key::generate());
/// let now = SystemTime::now();
/// let ctx = TransformContext::new("user_session", now).with_expiry(Some(now + Duration::from_secs(60)));
///
/// let value = encrypt.write(&ctx, r#"{"id":"123abc"}"#)?;
/// assert!(!value.contains("123abc"));
/// assert_ne!(value, encrypt.write(&ctx, r#"{"id":"123abc"}"#)?); // a fresh nonce each time
/// assert_eq!(encrypt.read(&ctx, &value).unwrap().value, r#"{"id":"123abc"}"#);
///
/// let later = TransformContext::new("user_session", now + Duration::from_secs(60));
/// assert_eq!(encrypt.read(&later, &value), Err(Rejection::Expired));
/// # Ok::<(), typed_sessions::transform::TransformError>(())
/// ```
#[derive(Clone)]
pub struct Encrypt {
    algorithm: EncryptAlgorithm,
    keys: DerivedKeys<Cipher>,
}

/// A cipher with its key schedule already computed.
#[derive(Clone)]
enum Cipher {
    XChaCha(Box<XChaCha20Poly1305>),
    AesGcm(Box<Aes256Gcm>),
}

impl Cipher {
    /// The cipher `algorithm` derives from `key`, its key schedule computed.
    fn derive(key: &Key, algorithm: EncryptAlgorithm) -> Cipher {
        let mut derived = aes_gcm::Key::<Aes256Gcm>::default();
        key.derive(algorithm.format().info(), derived.as_mut_slice());
        let cipher = match algorithm {
            EncryptAlgorithm::XChaCha20Poly1305 => {
                Cipher::XChaCha(Box::new(XChaCha20Poly1305::new(&derived)))
            }
            EncryptAlgorithm::Aes256Gcm => Cipher::AesGcm(Box::new(Aes256Gcm::new(&derived))),
        };
        derived.as_mut_slice().zeroize();
        cipher
    }

    /// Encrypts `buf` in place; returns the tag.
    fn seal(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> Option<[u8; TAG_LEN]> {
        fn run<A: AeadInOut>(
            a: &A,
            nonce: &[u8],
            aad: &[u8],
            buf: &mut [u8],
        ) -> Option<[u8; TAG_LEN]> {
            let nonce = aes_gcm::aead::Nonce::<A>::try_from(nonce).ok()?;
            let tag = a.encrypt_inout_detached(&nonce, aad, buf.into()).ok()?;
            tag.as_slice().try_into().ok()
        }
        match self {
            Cipher::XChaCha(c) => run(c.as_ref(), nonce, aad, buf),
            Cipher::AesGcm(c) => run(c.as_ref(), nonce, aad, buf),
        }
    }

    /// Checks the tag and decrypts `buf` in place (constant-time tag comparison inside the
    /// AEAD; nothing is decrypted when the tag is wrong).
    fn open(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        fn run<A: AeadInOut + AeadCore>(
            a: &A,
            nonce: &[u8],
            aad: &[u8],
            buf: &mut [u8],
            tag: &[u8],
        ) -> bool {
            let (Ok(nonce), Ok(tag)) = (
                aes_gcm::aead::Nonce::<A>::try_from(nonce),
                aes_gcm::aead::Tag::<A>::try_from(tag),
            ) else {
                return false;
            };
            a.decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
                .is_ok()
        }
        match self {
            Cipher::XChaCha(c) => run(c.as_ref(), nonce, aad, buf, tag),
            Cipher::AesGcm(c) => run(c.as_ref(), nonce, aad, buf, tag),
        }
    }
}

impl Encrypt {
    /// Encryption with the default AEAD (AES-256-GCM) and `keys`: a [`Key`], or a
    /// [`KeyRing`] for rotation.
    pub fn new(keys: impl Into<KeyRing>) -> Encrypt {
        Encrypt::with_algorithm(keys, EncryptAlgorithm::default())
    }

    /// Encryption with a chosen AEAD.
    ///
    /// ```
    /// use typed_sessions::transform::{Encrypt, EncryptAlgorithm, Format, Key};
    /// let encrypt = Encrypt::with_algorithm(Key::generate(), EncryptAlgorithm::XChaCha20Poly1305);
    /// assert_eq!(encrypt.format(), Format::XChaCha20Poly1305);
    /// ```
    pub fn with_algorithm(keys: impl Into<KeyRing>, algorithm: EncryptAlgorithm) -> Encrypt {
        Encrypt {
            algorithm,
            keys: DerivedKeys::new(&keys.into(), |key| Cipher::derive(key, algorithm)),
        }
    }

    /// The format this transformer writes and accepts.
    pub fn format(&self) -> Format {
        self.algorithm.format()
    }

    /// The id of the key new values are encrypted with.
    pub fn current_key_id(&self) -> KeyId {
        self.keys.current_id()
    }

    /// Authenticates and decrypts `value` for `ctx`, and tells what it holds: format, key id,
    /// expiry and payload. The same checks as [`read`](Transformer::read), in the same order:
    /// length, decoding, AEAD open (tag checked before any plaintext is used), expiry.
    ///
    /// ```
    /// use typed_sessions::transform::{Encrypt, Format, Key, TransformContext, Transformer};
    /// let key = Key::generate();
    /// let encrypt = Encrypt::new(key.clone());
    /// let ctx = TransformContext::new("s", std::time::SystemTime::now());
    /// let opened = encrypt.open(&ctx, &encrypt.write(&ctx, "hello")?).unwrap();
    /// assert_eq!((opened.format, opened.key_id), (Format::Aes256Gcm, key.id()));
    /// assert_eq!(opened.payload, "hello");
    /// # Ok::<(), typed_sessions::transform::TransformError>(())
    /// ```
    pub fn open(&self, ctx: &TransformContext<'_>, value: &str) -> Result<Opened, Rejection> {
        let (mut bytes, header, cipher) = envelope::open_header(value, self.format(), &self.keys)?;
        let nonce_len = self.algorithm.nonce_len();
        if bytes.len() < HEADER_LEN + nonce_len + TAG_LEN {
            return Err(Rejection::Malformed);
        }
        let aad = AssociatedData::new(&header.to_bytes(), ctx.name);
        let (head, body) = bytes
            .split_at_mut_checked(HEADER_LEN + nonce_len)
            .ok_or(Rejection::Malformed)?;
        let nonce = head.get(HEADER_LEN..).ok_or(Rejection::Malformed)?;
        let ciphertext_len = body
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Rejection::Malformed)?;
        let (ciphertext, tag) = body
            .split_at_mut_checked(ciphertext_len)
            .ok_or(Rejection::Malformed)?;
        if !cipher.open(nonce, aad.as_bytes(), ciphertext, tag) {
            return Err(Rejection::BadSignature);
        }
        let expires_at = header.check_expiry(ctx)?;
        bytes.truncate(HEADER_LEN + nonce_len + ciphertext_len);
        bytes.drain(..HEADER_LEN + nonce_len);
        let payload = String::from_utf8(bytes).map_err(|_| Rejection::Malformed)?;
        Ok(Opened {
            format: header.format,
            key_id: header.key_id,
            expires_at,
            payload,
        })
    }
}

/// The associated data that fits on the stack: a header, a length and a name of up to 47
/// bytes (every usual session name).
const INLINE_AAD: usize = 64;

/// The associated data of a value: `header | len(name) | name`. On the stack when it fits in
/// [`INLINE_AAD`] bytes, so that reading or writing a value allocates nothing for it.
enum AssociatedData {
    Inline([u8; INLINE_AAD], usize),
    Heap(Vec<u8>),
}

impl AssociatedData {
    fn new(header: &[u8; HEADER_LEN], name: &str) -> AssociatedData {
        let prefix = envelope::name_prefix(name);
        let len = HEADER_LEN + prefix.len() + name.len();
        let mut inline = [0u8; INLINE_AAD];
        let fits = (|| {
            let (head, rest) = inline.split_at_mut_checked(HEADER_LEN)?;
            let (length, rest) = rest.split_at_mut_checked(prefix.len())?;
            head.copy_from_slice(header);
            length.copy_from_slice(&prefix);
            rest.get_mut(..name.len())?.copy_from_slice(name.as_bytes());
            Some(())
        })();
        match fits {
            Some(()) => AssociatedData::Inline(inline, len),
            None => {
                let mut heap = Vec::with_capacity(len);
                heap.extend_from_slice(header);
                heap.extend_from_slice(&prefix);
                heap.extend_from_slice(name.as_bytes());
                AssociatedData::Heap(heap)
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            AssociatedData::Inline(bytes, len) => bytes.get(..*len).unwrap_or_default(),
            AssociatedData::Heap(bytes) => bytes,
        }
    }
}

impl Transformer for Encrypt {
    fn write(&self, ctx: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
        let header = Header::new(self.format(), self.keys.current_id(), ctx).to_bytes();
        let nonce_len = self.algorithm.nonce_len();
        let mut blob = Vec::with_capacity(HEADER_LEN + nonce_len + value.len() + TAG_LEN);
        blob.extend_from_slice(&header);
        blob.resize(HEADER_LEN + nonce_len, 0);
        blob.extend_from_slice(value.as_bytes());
        let (head, body) = blob
            .split_at_mut_checked(HEADER_LEN + nonce_len)
            .ok_or_else(|| TransformError::Failed("internal layout error".into()))?;
        let nonce = head
            .get_mut(HEADER_LEN..)
            .ok_or_else(|| TransformError::Failed("internal layout error".into()))?;
        crate::random::fill(nonce);
        let aad = AssociatedData::new(&header, ctx.name);
        let tag = self
            .keys
            .current()
            .seal(nonce, aad.as_bytes(), body)
            .ok_or_else(|| TransformError::Failed("the value is too long to encrypt".into()))?;
        blob.extend_from_slice(&tag);
        envelope::encode(&blob)
    }

    fn read(&self, ctx: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
        self.open(ctx, value)
            .map(|opened| self.keys.unwrapped(opened))
    }

    fn describe(&self) -> String {
        format!("Encrypt({}, key {})", self.format(), self.keys.current_id())
    }
}

impl fmt::Debug for Encrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.keys.debug("Encrypt", self.format(), f)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::transform::Sign;
    use crate::transform::tests::support::{every_byte_flipped, re_encodings};

    const ALGORITHMS: [EncryptAlgorithm; 2] = [
        EncryptAlgorithm::XChaCha20Poly1305,
        EncryptAlgorithm::Aes256Gcm,
    ];

    fn key() -> Key {
        Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
    }

    fn ctx(now: SystemTime) -> TransformContext<'static> {
        TransformContext::new("user_session", now).with_expiry(Some(now + Duration::from_secs(600)))
    }

    #[test]
    fn layout_is_as_documented_and_decrypts_independently() {
        let key = key();
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for algorithm in ALGORITHMS {
            let encrypt = Encrypt::with_algorithm(key.clone(), algorithm);
            let value = encrypt.write(&ctx(now), "payload").unwrap();
            let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
            let n = algorithm.nonce_len();
            assert_eq!(bytes.len(), 13 + n + 7 + 16);
            assert_eq!(bytes[0], encrypt.format().byte());
            assert_eq!(&bytes[1..5], key.id().as_bytes());
            assert_eq!(bytes[5..13], 1_800_000_600u64.to_be_bytes());
            // Decrypt with the AEAD directly, from the documented derivation and AAD.
            let mut derived = [0u8; 32];
            key.derive(encrypt.format().info(), &mut derived);
            let aad = [&bytes[..13], &12u32.to_be_bytes()[..], b"user_session"].concat();
            let payload = aes_gcm::aead::Payload {
                msg: &bytes[13 + n..],
                aad: &aad,
            };
            let plain = match algorithm {
                EncryptAlgorithm::XChaCha20Poly1305 => {
                    use aes_gcm::aead::Aead;
                    XChaCha20Poly1305::new(&derived.into())
                        .decrypt(bytes[13..13 + n].try_into().unwrap(), payload)
                        .unwrap()
                }
                EncryptAlgorithm::Aes256Gcm => {
                    use aes_gcm::aead::Aead;
                    Aes256Gcm::new(&derived.into())
                        .decrypt(bytes[13..13 + n].try_into().unwrap(), payload)
                        .unwrap()
                }
            };
            assert_eq!(plain, b"payload");
        }
    }

    #[test]
    fn round_trips_with_fresh_nonces() {
        let now = SystemTime::now();
        for algorithm in ALGORITHMS {
            let encrypt = Encrypt::with_algorithm(key(), algorithm);
            for payload in ["", "x", "{\"a\":\"é\"}", &"y".repeat(2000)] {
                let a = encrypt.write(&ctx(now), payload).unwrap();
                let b = encrypt.write(&ctx(now), payload).unwrap();
                assert_ne!(a, b);
                let nonce = |v: &str| {
                    URL_SAFE_NO_PAD.decode(v).unwrap()[13..13 + algorithm.nonce_len()].to_vec()
                };
                assert_ne!(nonce(&a), nonce(&b));
                assert_eq!(encrypt.read(&ctx(now), &a).unwrap().value, payload);
                assert_eq!(encrypt.read(&ctx(now), &b).unwrap().value, payload);
            }
        }
    }

    #[test]
    fn the_plaintext_is_hidden() {
        let encrypt = Encrypt::new(key());
        let value = encrypt
            .write(&ctx(SystemTime::now()), "secret-role=admin")
            .unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        assert!(!bytes.windows(6).any(|w| w == b"secret"));
        assert!(!value.contains("secret"));
    }

    #[test]
    fn every_flipped_bit_is_refused_nonce_included() {
        let now = SystemTime::now();
        for algorithm in ALGORITHMS {
            let encrypt = Encrypt::with_algorithm(key(), algorithm);
            let value = encrypt
                .write(&ctx(now), "{\"id\":\"123abc\",\"count\":0}")
                .unwrap();
            let mut checked = 0;
            for tampered in every_byte_flipped(&value) {
                assert!(
                    encrypt.read(&ctx(now), &tampered).is_err(),
                    "accepted {tampered}"
                );
                checked += 1;
            }
            assert_eq!(checked, URL_SAFE_NO_PAD.decode(&value).unwrap().len() * 8);
        }
    }

    /// Names whose associated data fits on the stack, just fits, or does not: each opens its
    /// own values only, also where two names differ in their last byte.
    #[test]
    fn values_are_bound_to_names_of_every_length() {
        let now = SystemTime::now();
        let encrypt = Encrypt::new(key());
        let fits = INLINE_AAD - HEADER_LEN - 4;
        for len in [1, fits - 1, fits, fits + 1, 200] {
            let name = "n".repeat(len);
            let other = format!("{}m", "n".repeat(len - 1));
            let value = encrypt
                .write(&TransformContext::new(&name, now), "abc")
                .unwrap();
            let read = |name: &str| {
                encrypt
                    .read(&TransformContext::new(name, now), &value)
                    .map(|u| u.value)
            };
            assert_eq!(read(&name), Ok("abc".to_owned()), "{len}");
            assert_eq!(read(&other), Err(Rejection::BadSignature), "{len}");
            assert_eq!(
                read(&format!("{name}n")),
                Err(Rejection::BadSignature),
                "{len}"
            );
        }
    }

    #[test]
    fn truncated_extended_re_encoded_and_moved_values_are_refused() {
        let now = SystemTime::now();
        let encrypt = Encrypt::new(key());
        let value = encrypt.write(&ctx(now), "abc").unwrap();
        for cut in 0..value.len() {
            assert!(
                encrypt.read(&ctx(now), &value[..cut]).is_err(),
                "prefix {cut}"
            );
        }
        for extra in ["A", "AA", "AAAA", "="] {
            assert!(encrypt.read(&ctx(now), &format!("{value}{extra}")).is_err());
        }
        for other in re_encodings(&value) {
            assert_eq!(
                encrypt.read(&ctx(now), &other),
                Err(Rejection::Malformed),
                "{other}"
            );
        }
        for name in ["user_sessio", "user_session ", "cart_session"] {
            let other = TransformContext::new(name, now);
            assert_eq!(encrypt.read(&other, &value), Err(Rejection::BadSignature));
        }
        assert_eq!(
            encrypt.read(&ctx(now), &"A".repeat(4097)),
            Err(Rejection::TooLong)
        );
    }

    #[test]
    fn expiry_is_authenticated_and_enforced() {
        let encrypt = Encrypt::new(key());
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let value = encrypt.write(&ctx(now), "v").unwrap();
        let at = |secs| TransformContext::new("user_session", now + Duration::from_secs(secs));
        assert_eq!(
            encrypt.read(&at(599), &value).map(|r| r.value).as_deref(),
            Ok("v")
        );
        assert_eq!(encrypt.read(&at(600), &value), Err(Rejection::Expired));
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        bytes[12] = bytes[12].wrapping_add(100);
        assert_eq!(
            encrypt.read(&at(0), &URL_SAFE_NO_PAD.encode(&bytes)),
            Err(Rejection::BadSignature)
        );
        let opened = encrypt.open(&at(0), &value).unwrap();
        assert_eq!(opened.expires_at, Some(now + Duration::from_secs(600)));
        assert!(!format!("{opened:?}").contains("\"v\""));
    }

    #[test]
    fn signed_and_encrypted_values_never_cross() {
        let now = SystemTime::now();
        let sign = Sign::new(key());
        for algorithm in ALGORITHMS {
            let encrypt = Encrypt::with_algorithm(key(), algorithm);
            let signed = sign.write(&ctx(now), "v").unwrap();
            let sealed = encrypt.write(&ctx(now), "v").unwrap();
            assert!(encrypt.read(&ctx(now), &signed).is_err());
            assert!(sign.read(&ctx(now), &sealed).is_err());
            // Even with the format byte rewritten: different derived keys, different layout.
            let mut bytes = URL_SAFE_NO_PAD.decode(&signed).unwrap();
            bytes[0] = encrypt.format().byte();
            assert!(
                encrypt
                    .read(&ctx(now), &URL_SAFE_NO_PAD.encode(&bytes))
                    .is_err()
            );
            let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
            bytes[0] = sign.format().byte();
            assert!(
                sign.read(&ctx(now), &URL_SAFE_NO_PAD.encode(&bytes))
                    .is_err()
            );
        }
        let a = Encrypt::new(key()).write(&ctx(now), "v").unwrap();
        let x = Encrypt::with_algorithm(key(), EncryptAlgorithm::XChaCha20Poly1305);
        assert_eq!(x.read(&ctx(now), &a), Err(Rejection::Malformed));
        assert_eq!(Encrypt::new(key()).format(), Format::Aes256Gcm);
    }

    #[test]
    fn rotation() {
        let now = SystemTime::now();
        let (old, new) = (key(), Key::generate());
        let before = Encrypt::new(old.clone()).write(&ctx(now), "old").unwrap();
        let ring = KeyRing::from_keys(new.clone(), [old.clone()]).unwrap();
        let rotated = Encrypt::new(ring);
        assert_eq!(
            rotated.read(&ctx(now), &before).map(|r| r.value).as_deref(),
            Ok("old")
        );
        let after = rotated.write(&ctx(now), "new").unwrap();
        assert_eq!(rotated.open(&ctx(now), &after).unwrap().key_id, new.id());
        let dropped = Encrypt::new(new);
        assert_eq!(dropped.read(&ctx(now), &before), Err(Rejection::UnknownKey));
        assert_eq!(
            dropped.read(&ctx(now), &after).map(|r| r.value).as_deref(),
            Ok("new")
        );
    }

    #[test]
    fn too_large_values_are_refused_on_write() {
        let encrypt = Encrypt::new(key());
        let err = encrypt
            .write(&ctx(SystemTime::now()), &"x".repeat(3100))
            .unwrap_err();
        assert!(
            matches!(err, TransformError::TooLarge { limit: 4096, .. }),
            "{err:?}"
        );
        // The largest payload that fits round-trips: 3072 bytes of blob, 4096 characters.
        let fits = "x".repeat(3072 - 13 - 12 - 16);
        let value = encrypt.write(&ctx(SystemTime::now()), &fits).unwrap();
        assert_eq!(value.len(), 4096);
        assert_eq!(
            encrypt.read(&ctx(SystemTime::now()), &value).unwrap().value,
            fits
        );
    }
}
