//! Ktor's own formats, byte for byte, for sharing sessions with a Ktor 3.5 service (a migration,
//! or a mixed fleet), and for reading what a Ktor 1.x service wrote.
//!
//! * [`KtorSign`] is `SessionTransportTransformerMessageAuthentication`:
//!   `payload/lowercase-hex(HMAC(payload))`.
//! * [`KtorEncrypt`] is `SessionTransportTransformerEncrypt`:
//!   `hex(iv)/hex(AES-CBC-PKCS7(payload)):hex(HMAC(ciphertext))`.
//! * [`KtorUnkeyedDigest`] is Ktor 1.x's `SessionTransportTransformerDigest`:
//!   `payload/lowercase-hex(SHA-384("ktor" ‖ payload))`. **Unkeyed**: anyone can compute it, so
//!   it detects corruption, not forgery. Ktor deprecated it in 1.1, made it an error in 1.2.2
//!   and deleted it in 2.0; it is here only to move Ktor 1.x sessions to
//!   [`Sign`](super::Sign) with [`Migrate`](super::Migrate).
//!
//! Both read and write exactly what Ktor does, with the same keys (AES-128, -192 or -256, and
//! HMAC keys of at least [`MIN_KTOR_KEY_LEN`] bytes, or any length through the constructors
//! named `..._allowing_short_key`, for a short key a Ktor service already uses) and the same
//! algorithm names (`"HmacSHA256"`, `"SHA-384"`, ...). The sample keys of Ktor's and this crate's
//! documentation are refused ([`KtorError::SampleKey`]). Where Ktor is lenient and
//! the leniency buys nothing, these are stricter, which never refuses a value Ktor wrote:
//! hexadecimal must be lowercase (Ktor only writes lowercase; it accepts uppercase IV and
//! ciphertext), the IV must be 16 bytes, and every MAC and digest is compared in constant time
//! (Ktor's encrypt transformer uses `String ==`).
//!
//! **What they cannot fix, because it is the format:**
//!
//! * No expiry and no session name under the MAC: a value replays for as long as the key
//!   lives, and a value can be moved between two sessions that share keys. The context's
//!   `expires_at` is ignored.
//! * [`KtorEncrypt`]'s MAC does not cover the IV. In CBC the first plaintext block is
//!   `decrypt(C1) XOR IV`, so whoever flips bits of the IV flips the same bits of the first 16
//!   bytes of the payload, and the MAC still verifies: the beginning of the session value is
//!   **malleable**. With JSON that is the opening `{"userId":"...` of the value.
//! * [`KtorUnkeyedDigest`] has no key at all: whoever can compute SHA-384 can write a value it
//!   accepts. It protects a by-value session against nothing; in front of a by-id session it
//!   adds nothing to the randomness of the id it carries.
//!
//! Use them for compatibility only. For new systems use [`Encrypt`](super::Encrypt) (or
//! [`Sign`](super::Sign)), which authenticate everything, bind the session name, carry an
//! expiry and support key rotation.

mod digest;
mod encrypt;
mod sign;

pub use digest::{KTOR_DIGEST_SALT, KtorUnkeyedDigest};
pub use encrypt::KtorEncrypt;
pub use sign::KtorSign;

use super::Rejection;
use super::mac::Hash;

/// The longest value the Ktor formats accept, in characters: the largest value any transport
/// carries ([`MAX_HEADER_SIZE`](crate::transport::MAX_HEADER_SIZE)). A longer value is refused
/// before it is parsed.
pub const MAX_KTOR_VALUE_LEN: usize = crate::transport::MAX_HEADER_SIZE;

/// Why a Ktor-compatible transformer could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KtorError {
    /// The MAC algorithm name is not one Ktor (the JCE) knows and this library offers.
    #[error(
        "unknown MAC algorithm `{0}`: use \"HmacSHA256\" (Ktor's default), \"HmacSHA1\", \"HmacSHA384\" or \"HmacSHA512\""
    )]
    UnknownAlgorithm(String),
    /// The hash name of [`KtorUnkeyedDigest`] is not one Ktor (Java's `MessageDigest`) knows
    /// and this library offers.
    #[error(
        "unknown digest algorithm `{0}`: use \"SHA-384\" (Ktor 1.1+'s default), \"SHA-256\" (Ktor 1.0's), \"SHA-1\" or \"SHA-512\""
    )]
    UnknownDigestAlgorithm(String),
    /// A key is empty (Ktor's `SecretKeySpec` refuses it too).
    #[error("the {0} key is empty")]
    EmptyKey(&'static str),
    /// The AES key is not 16, 24 or 32 bytes long.
    #[error("the encryption key is {0} bytes long; AES needs 16, 24 or 32 bytes")]
    AesKeyLength(usize),
    /// The encryption key and the sign key are the same: one key used for two purposes.
    #[error("the encryption key and the sign key are the same; use two independent random keys")]
    SameKeys,
    /// A key given as text is not hexadecimal.
    #[error("the {0} key is not valid hexadecimal")]
    InvalidHex(&'static str),
    /// The sign key is shorter than [`MIN_KTOR_KEY_LEN`]. Ktor takes any length (its own
    /// documentation uses 14 bytes); this library takes a short key only through a constructor
    /// that says so, for a key a Ktor service already uses.
    #[error(
        "the {which} key is {len} bytes long; use at least {min} random bytes (32 is better), \
         or, to share the short key a Ktor service already uses, \
         `KtorSign::new_allowing_short_key` or `KtorEncrypt::new_allowing_short_sign_key`"
    )]
    ShortKey {
        /// Which key (`"sign"`).
        which: &'static str,
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The key is a sample key printed in Ktor's or this crate's documentation, examples or
    /// tests: public, so it protects nothing.
    #[error(
        "the {0} key is a sample key from Ktor's or typed-sessions' documentation or tests, \
         known to everyone; make your own (`openssl rand -hex 32`)"
    )]
    SampleKey(&'static str),
}

/// The shortest key the Ktor formats accept without being told otherwise, in bytes (128 bits).
/// Ktor itself accepts any non-empty key.
pub const MIN_KTOR_KEY_LEN: usize = 16;

/// Checks a Ktor key named `which`: not empty, not a sample key, and at least
/// [`MIN_KTOR_KEY_LEN`] bytes unless `allow_short`.
pub(crate) fn check_key(
    key: &[u8],
    which: &'static str,
    allow_short: bool,
) -> Result<(), KtorError> {
    if key.is_empty() {
        return Err(KtorError::EmptyKey(which));
    }
    if super::samples::is_refused_sample(key) {
        return Err(KtorError::SampleKey(which));
    }
    if !allow_short && key.len() < MIN_KTOR_KEY_LEN {
        return Err(KtorError::ShortKey {
            which,
            len: key.len(),
            min: MIN_KTOR_KEY_LEN,
        });
    }
    Ok(())
}

/// Maps a JCE MAC name (case-insensitive, as `Mac.getInstance`) to a hash.
pub(crate) fn mac_algorithm(name: &str) -> Result<(Hash, &'static str), KtorError> {
    const NAMES: [(&str, Hash); 4] = [
        ("HmacSHA256", Hash::Sha256),
        ("HmacSHA1", Hash::Sha1),
        ("HmacSHA384", Hash::Sha384),
        ("HmacSHA512", Hash::Sha512),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(n, h)| (h, n))
        .ok_or_else(|| KtorError::UnknownAlgorithm(name.to_owned()))
}

/// Decodes hex text given as a key (either case, as Ktor's `hex()`).
pub(crate) fn key_from_hex(
    text: &str,
    which: &'static str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, KtorError> {
    hex::decode(text.trim())
        .map(zeroize::Zeroizing::new)
        .map_err(|_| KtorError::InvalidHex(which))
}

/// `payload/lowercase-hex(tag)`: the shape of Ktor's signed and digest values.
pub(crate) fn with_hex_tag(payload: &str, tag: &[u8]) -> String {
    let mut out = String::with_capacity(payload.len() + 1 + 2 * tag.len());
    out.push_str(payload);
    out.push('/');
    crate::codec::hex::push_lower(&mut out, tag);
    out
}

/// Splits `payload/lowercase-hex(tag)` at the **last** `/` (the payload may contain `/`) and
/// decodes the tag, which must be exactly `tag_len` bytes. A value over [`MAX_KTOR_VALUE_LEN`]
/// is [`Rejection::TooLong`], any other shape [`Rejection::Malformed`].
pub(crate) fn split_hex_tag(value: &str, tag_len: usize) -> Result<(&str, Vec<u8>), Rejection> {
    if value.len() > MAX_KTOR_VALUE_LEN {
        return Err(Rejection::TooLong);
    }
    let (payload, tag_hex) = value.rsplit_once('/').ok_or(Rejection::Malformed)?;
    if tag_hex.len() != 2 * tag_len {
        return Err(Rejection::Malformed);
    }
    let tag = crate::codec::hex::decode_lower(tag_hex).ok_or(Rejection::Malformed)?;
    Ok((payload, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_need_the_constructor_that_says_so() {
        let short = KtorError::ShortKey {
            which: "sign",
            len: 15,
            min: MIN_KTOR_KEY_LEN,
        };
        assert_eq!(KtorSign::new([7u8; 15]).unwrap_err(), short);
        assert_eq!(KtorSign::from_hex(&"07".repeat(15)).unwrap_err(), short);
        assert!(KtorSign::new([7u8; 16]).is_ok());
        assert!(KtorSign::new_allowing_short_key([7u8; 1]).is_ok());
        assert!(KtorSign::from_hex_allowing_short_key("07").is_ok());
        assert_eq!(
            KtorSign::new_allowing_short_key(b"").unwrap_err(),
            KtorError::EmptyKey("sign")
        );
        assert_eq!(KtorEncrypt::new([1u8; 16], [7u8; 15]).unwrap_err(), short);
        assert!(KtorEncrypt::new_allowing_short_sign_key([1u8; 16], [7u8; 15]).is_ok());
        assert!(KtorEncrypt::new([1u8; 16], [7u8; 16]).is_ok());
        let message = short.to_string();
        assert!(message.contains("allowing_short_key"), "{message}");
    }

    #[test]
    fn sample_keys_are_refused_outside_tests() {
        use crate::transform::samples::tests::as_in_production;
        let ktor_doc_sign = "6819b57a326945c1968f45236589";
        let ktor_doc_aes = "00112233445566778899aabbccddeeff";
        as_in_production(|| {
            assert_eq!(
                KtorSign::from_hex_allowing_short_key(ktor_doc_sign).unwrap_err(),
                KtorError::SampleKey("sign")
            );
            assert_eq!(
                KtorEncrypt::from_hex_allowing_short_sign_key(ktor_doc_aes, &"07".repeat(16))
                    .unwrap_err(),
                KtorError::SampleKey("encryption")
            );
            assert_eq!(
                KtorEncrypt::from_hex_allowing_short_sign_key(&"01".repeat(16), ktor_doc_sign)
                    .unwrap_err(),
                KtorError::SampleKey("sign")
            );
        });
        assert!(KtorSign::from_hex_allowing_short_key(ktor_doc_sign).is_ok());
    }

    #[test]
    fn algorithm_names_are_jce_names() {
        assert_eq!(mac_algorithm("HmacSHA256").unwrap().0, Hash::Sha256);
        assert_eq!(mac_algorithm("hmacsha1").unwrap(), (Hash::Sha1, "HmacSHA1"));
        assert_eq!(mac_algorithm("HmacSHA384").unwrap().0, Hash::Sha384);
        assert_eq!(mac_algorithm("HmacSHA512").unwrap().0, Hash::Sha512);
        for bad in ["", "SHA256", "HmacMD5", "HmacSHA224", "Hmac SHA256"] {
            assert!(
                matches!(mac_algorithm(bad), Err(KtorError::UnknownAlgorithm(_))),
                "{bad}"
            );
        }
    }
}
