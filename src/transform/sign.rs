//! [`Sign`]: the modern signed format (HMAC-SHA-256 by default), with key rotation, the
//! session name and an expiry under the MAC.

use std::fmt;

use zeroize::Zeroizing;

use super::envelope::{self, Format, HEADER_LEN, Header, Opened};
use super::keys::{DerivedKeys, KeyId, KeyRing};
use super::mac::{Hash, Keyed};
use super::{Rejection, TransformContext, TransformError, Transformer, Unwrapped};

/// The MAC of a [`Sign`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SignAlgorithm {
    /// HMAC-SHA-256, 32-byte MAC (the default).
    #[default]
    HmacSha256,
    /// HMAC-SHA-384, 48-byte MAC.
    HmacSha384,
    /// HMAC-SHA-512, 64-byte MAC.
    HmacSha512,
}

impl SignAlgorithm {
    fn format(self) -> Format {
        match self {
            SignAlgorithm::HmacSha256 => Format::HmacSha256,
            SignAlgorithm::HmacSha384 => Format::HmacSha384,
            SignAlgorithm::HmacSha512 => Format::HmacSha512,
        }
    }

    fn hash(self) -> Hash {
        match self {
            SignAlgorithm::HmacSha256 => Hash::Sha256,
            SignAlgorithm::HmacSha384 => Hash::Sha384,
            SignAlgorithm::HmacSha512 => Hash::Sha512,
        }
    }
}

/// Signs values: the client can read them but not change them.
///
/// The value is written as one base64url string (no padding):
///
/// ```text
/// format (1) | key id (4) | expires (8) | payload (n) | mac (32, 48 or 64)
/// mac = HMAC(derived key, format | key id | expires | len(name) (4, big-endian) | name | payload)
/// ```
///
/// The MAC key is derived from the master key with HKDF-SHA-256
/// (`info = "typed-sessions/v1/sign/hmac-sha256"`, `-sha384`, `-sha512`). The MAC covers the
/// session name, so a value signed for one session is refused by another, and the expiry, so a
/// replayed value dies on time. The payload is **readable** by anyone who decodes the base64:
/// use [`Encrypt`](super::Encrypt) for session data, and `Sign` for ids or public data.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::transform::{Key, Rejection, Sign, TransformContext, Transformer};
///
/// let sign = Sign::new(Key::generate());
/// let now = SystemTime::now();
/// let ctx = TransformContext::new("user_session", now).with_expiry(Some(now + Duration::from_secs(60)));
///
/// let value = sign.write(&ctx, r#"{"id":"123abc"}"#)?;
/// assert_eq!(sign.read(&ctx, &value).unwrap().value, r#"{"id":"123abc"}"#);
///
/// // Another session name, or a minute later: refused.
/// let other = TransformContext::new("admin_session", now);
/// assert_eq!(sign.read(&other, &value), Err(Rejection::BadSignature));
/// let later = TransformContext::new("user_session", now + Duration::from_secs(61));
/// assert_eq!(sign.read(&later, &value), Err(Rejection::Expired));
/// # Ok::<(), typed_sessions::transform::TransformError>(())
/// ```
#[derive(Clone)]
pub struct Sign {
    format: Format,
    keys: DerivedKeys<Keyed>,
}

/// The MAC key `algorithm` derives from `key`.
fn mac_key(key: &super::Key, algorithm: SignAlgorithm) -> Keyed {
    let hash = algorithm.hash();
    let mut derived = Zeroizing::new(vec![0u8; hash.output_len()]);
    key.derive(algorithm.format().info(), &mut derived);
    Keyed::new(hash, &derived)
}

impl Sign {
    /// HMAC-SHA-256 signing with `keys`: a [`Key`](super::Key), or a [`KeyRing`] for rotation.
    pub fn new(keys: impl Into<KeyRing>) -> Sign {
        Sign::with_algorithm(keys, SignAlgorithm::HmacSha256)
    }

    /// Signing with another MAC.
    ///
    /// ```
    /// use typed_sessions::transform::{Format, Key, Sign, SignAlgorithm};
    /// let sign = Sign::with_algorithm(Key::generate(), SignAlgorithm::HmacSha512);
    /// assert_eq!(sign.format(), Format::HmacSha512);
    /// ```
    pub fn with_algorithm(keys: impl Into<KeyRing>, algorithm: SignAlgorithm) -> Sign {
        Sign {
            format: algorithm.format(),
            keys: DerivedKeys::new(&keys.into(), |key| mac_key(key, algorithm)),
        }
    }

    /// The format this signer writes and accepts.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The id of the key new values are signed with.
    pub fn current_key_id(&self) -> KeyId {
        self.keys.current_id()
    }

    /// Verifies `value` for `ctx` and tells what it holds: format, key id, expiry and payload.
    /// The same checks as [`read`](Transformer::read), in the same order: length, decoding,
    /// MAC (constant time), expiry.
    ///
    /// ```
    /// use typed_sessions::transform::{Format, Key, Sign, TransformContext, Transformer};
    /// let key = Key::generate();
    /// let sign = Sign::new(key.clone());
    /// let ctx = TransformContext::new("s", std::time::SystemTime::now());
    /// let opened = sign.open(&ctx, &sign.write(&ctx, "hello")?).unwrap();
    /// assert_eq!((opened.format, opened.key_id, opened.expires_at), (Format::HmacSha256, key.id(), None));
    /// assert_eq!(opened.payload, "hello");
    /// # Ok::<(), typed_sessions::transform::TransformError>(())
    /// ```
    pub fn open(&self, ctx: &TransformContext<'_>, value: &str) -> Result<Opened, Rejection> {
        let (bytes, header, mac_key) = envelope::open_header(value, self.format, &self.keys)?;
        let rest = bytes.get(HEADER_LEN..).ok_or(Rejection::Malformed)?;
        let mac_len = self.format_mac_len();
        let payload_len = rest
            .len()
            .checked_sub(mac_len)
            .ok_or(Rejection::Malformed)?;
        let (payload, mac) = rest
            .split_at_checked(payload_len)
            .ok_or(Rejection::Malformed)?;
        let head = bytes.get(..HEADER_LEN).ok_or(Rejection::Malformed)?;
        let name_len = envelope::name_prefix(ctx.name);
        if !mac_key.verify(&[head, &name_len, ctx.name.as_bytes(), payload], mac) {
            return Err(Rejection::BadSignature);
        }
        let expires_at = header.check_expiry(ctx)?;
        let payload = std::str::from_utf8(payload).map_err(|_| Rejection::Malformed)?;
        Ok(Opened {
            format: header.format,
            key_id: header.key_id,
            expires_at,
            payload: payload.to_owned(),
        })
    }

    fn format_mac_len(&self) -> usize {
        match self.format {
            Format::HmacSha384 => Hash::Sha384.output_len(),
            Format::HmacSha512 => Hash::Sha512.output_len(),
            _ => Hash::Sha256.output_len(),
        }
    }
}

impl Transformer for Sign {
    fn write(&self, ctx: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
        let header = Header::new(self.format, self.keys.current_id(), ctx).to_bytes();
        let name_len = envelope::name_prefix(ctx.name);
        let mac = self.keys.current().compute(&[
            &header,
            &name_len,
            ctx.name.as_bytes(),
            value.as_bytes(),
        ]);
        let mut blob = Vec::with_capacity(HEADER_LEN + value.len() + mac.len());
        blob.extend_from_slice(&header);
        blob.extend_from_slice(value.as_bytes());
        blob.extend_from_slice(&mac);
        envelope::encode(&blob)
    }

    fn read(&self, ctx: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
        self.open(ctx, value)
            .map(|opened| self.keys.unwrapped(opened))
    }

    fn describe(&self) -> String {
        format!("Sign({}, key {})", self.format, self.keys.current_id())
    }
}

impl fmt::Debug for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.keys.debug("Sign", self.format, f)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::transform::Key;
    use crate::transform::tests::support::{every_byte_flipped, re_encodings};

    fn key() -> Key {
        Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
    }

    fn ctx(now: SystemTime) -> TransformContext<'static> {
        TransformContext::new("user_session", now).with_expiry(Some(now + Duration::from_secs(600)))
    }

    #[test]
    fn layout_is_as_documented() {
        let key = key();
        let sign = Sign::new(key.clone());
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let ctx = ctx(now);
        let value = sign.write(&ctx, "payload").unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        assert_eq!(bytes.len(), 13 + 7 + 32);
        assert_eq!(bytes[0], 0x01);
        assert_eq!(&bytes[1..5], key.id().as_bytes());
        assert_eq!(bytes[5..13], (1_800_000_600u64).to_be_bytes());
        assert_eq!(&bytes[13..20], b"payload");
        // The MAC, recomputed independently from the documented derivation.
        let mut derived = [0u8; 32];
        key.derive(b"typed-sessions/v1/sign/hmac-sha256", &mut derived);
        let expected = Keyed::new(Hash::Sha256, &derived).compute(&[
            &bytes[..13],
            &12u32.to_be_bytes(),
            b"user_session",
            b"payload",
        ]);
        assert_eq!(&bytes[20..], &expected[..]);
    }

    #[test]
    fn round_trips_every_algorithm_and_payload() {
        let now = SystemTime::now();
        for algorithm in [
            SignAlgorithm::HmacSha256,
            SignAlgorithm::HmacSha384,
            SignAlgorithm::HmacSha512,
        ] {
            let sign = Sign::with_algorithm(key(), algorithm);
            for payload in ["", "x", "{\"a\":\"é/\\u0000\"}", &"y".repeat(2000)] {
                let value = sign.write(&ctx(now), payload).unwrap();
                assert!(
                    value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                );
                assert_eq!(sign.read(&ctx(now), &value).unwrap().value, payload);
            }
        }
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let sign = Sign::new(key());
        let now = SystemTime::now();
        let value = sign
            .write(&ctx(now), "{\"id\":\"123abc\",\"count\":0}")
            .unwrap();
        let mut checked = 0;
        for tampered in every_byte_flipped(&value) {
            assert!(
                sign.read(&ctx(now), &tampered).is_err(),
                "accepted {tampered}"
            );
            checked += 1;
        }
        assert_eq!(checked, URL_SAFE_NO_PAD.decode(&value).unwrap().len() * 8);
    }

    #[test]
    fn truncated_extended_and_re_encoded_values_are_refused() {
        let sign = Sign::new(key());
        let now = SystemTime::now();
        let value = sign.write(&ctx(now), "abc").unwrap();
        for cut in 0..value.len() {
            assert!(sign.read(&ctx(now), &value[..cut]).is_err(), "prefix {cut}");
        }
        for extra in ["A", "AA", "AAA", "AAAA", "x", "="] {
            let longer = format!("{value}{extra}");
            assert!(sign.read(&ctx(now), &longer).is_err(), "{longer}");
        }
        for other in re_encodings(&value) {
            assert_eq!(
                sign.read(&ctx(now), &other),
                Err(Rejection::Malformed),
                "{other}"
            );
        }
        // A MAC cut short or extended inside the blob (re-encoded canonically).
        let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for blob in [&bytes[..bytes.len() - 1], &[&bytes[..], &[0]].concat()[..]] {
            let reencoded = URL_SAFE_NO_PAD.encode(blob);
            assert!(sign.read(&ctx(now), &reencoded).is_err());
        }
        assert_eq!(sign.read(&ctx(now), ""), Err(Rejection::Malformed));
        assert_eq!(
            sign.read(&ctx(now), &"A".repeat(4097)),
            Err(Rejection::TooLong)
        );
    }

    #[test]
    fn the_name_is_bound() {
        let sign = Sign::new(key());
        let now = SystemTime::now();
        let value = sign.write(&ctx(now), "v").unwrap();
        for name in ["user_sessio", "user_session2", "", "USER_SESSION"] {
            let other = TransformContext::new(name, now);
            assert_eq!(sign.read(&other, &value), Err(Rejection::BadSignature));
        }
    }

    #[test]
    fn expiry_is_enforced_after_the_mac() {
        let sign = Sign::new(key());
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let value = sign.write(&ctx(now), "v").unwrap();
        let at = |secs| TransformContext::new("user_session", now + Duration::from_secs(secs));
        assert_eq!(
            sign.read(&at(599), &value).map(|r| r.value).as_deref(),
            Ok("v")
        );
        assert_eq!(sign.read(&at(600), &value), Err(Rejection::Expired));
        assert_eq!(
            sign.open(&at(0), &value).unwrap().expires_at,
            Some(now + Duration::from_secs(600))
        );
        // A value with no expiry is refused once the session has a lifetime.
        let forever = sign
            .write(&TransformContext::new("user_session", now), "v")
            .unwrap();
        assert_eq!(
            sign.read(&at(0), &forever).map(|r| r.value).as_deref(),
            Ok("v")
        );
        assert_eq!(sign.read(&ctx(now), &forever), Err(Rejection::Expired));
        // An expiry in the header is authenticated: pushing it later breaks the MAC.
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        bytes[12] = bytes[12].wrapping_add(100);
        assert_eq!(
            sign.read(&at(0), &URL_SAFE_NO_PAD.encode(&bytes)),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn rotation_uses_the_current_key_and_reads_previous_ones() {
        let (old, new) = (key(), Key::generate());
        let now = SystemTime::now();
        let before = Sign::new(old.clone()).write(&ctx(now), "old").unwrap();
        let rotated = Sign::new(KeyRing::from_keys(new.clone(), [old.clone()]).unwrap());
        assert_eq!(
            rotated.read(&ctx(now), &before).map(|r| r.value).as_deref(),
            Ok("old")
        );
        let after = rotated.write(&ctx(now), "new").unwrap();
        assert_eq!(Format::detect(&after).unwrap().1, new.id());
        assert_eq!(rotated.current_key_id(), new.id());
        let dropped = Sign::new(new.clone());
        assert_eq!(dropped.read(&ctx(now), &before), Err(Rejection::UnknownKey));
        assert_eq!(
            dropped.read(&ctx(now), &after).map(|r| r.value).as_deref(),
            Ok("new")
        );
        // A value naming the right key id but signed with another key: refused by the MAC.
        let impostor = Key::generate();
        let forged = Sign::new(impostor).write(&ctx(now), "x").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&forged).unwrap();
        bytes[1..5].copy_from_slice(new.id().as_bytes());
        assert_eq!(
            dropped.read(&ctx(now), &URL_SAFE_NO_PAD.encode(&bytes)),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn algorithms_do_not_accept_each_other() {
        let now = SystemTime::now();
        let s256 = Sign::new(key());
        let s512 = Sign::with_algorithm(key(), SignAlgorithm::HmacSha512);
        let value = s256.write(&ctx(now), "v").unwrap();
        assert_eq!(s512.read(&ctx(now), &value), Err(Rejection::Malformed));
        // Even with the format byte rewritten, the derived keys and lengths differ.
        let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        bytes[0] = Format::HmacSha512.byte();
        assert!(
            s512.read(&ctx(now), &URL_SAFE_NO_PAD.encode(&bytes))
                .is_err()
        );
    }

    #[test]
    fn debug_shows_ids_only() {
        let key = key();
        let debug = format!(
            "{:?} {}",
            Sign::new(key.clone()),
            Sign::new(key.clone()).describe()
        );
        assert!(debug.contains(&key.id().to_string()));
        assert!(!debug.contains("000102"));
    }
}
