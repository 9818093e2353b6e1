//! [`KtorSign`]: Ktor's `SessionTransportTransformerMessageAuthentication`.

use std::fmt;

use zeroize::Zeroizing;

use super::{KtorError, check_key, key_from_hex, mac_algorithm, split_hex_tag, with_hex_tag};
use crate::transform::mac::{Hash, Keyed};
use crate::transform::{Rejection, TransformContext, TransformError, Transformer, Unwrapped};

/// Ktor's signed format: `payload/lowercase-hex(HMAC(payload))`, HMAC-SHA-256 by default.
///
/// Reads and writes exactly what Ktor 3.5's `SessionTransportTransformerMessageAuthentication`
/// does: the value is split at the **last** `/` (the payload may contain `/`), the MAC is over
/// the payload's UTF-8 bytes, and it is compared in constant time; an uppercase MAC is refused,
/// as in Ktor. Keys shorter than [`MIN_KTOR_KEY_LEN`](super::MIN_KTOR_KEY_LEN) need
/// [`new_allowing_short_key`](Self::new_allowing_short_key), and sample keys are refused.
///
/// The format carries no expiry and does not bind the session name (see the
/// [module documentation](super)); prefer [`Sign`](crate::transform::Sign) for new systems.
///
/// ```
/// use typed_sessions::transform::{KtorSign, TransformContext, Transformer};
///
/// // The key of Ktor's documentation example `session-cookie-server` (14 bytes, and public:
/// // this reproduces Ktor's output; a real key comes from your secret store).
/// let sign = KtorSign::from_hex_allowing_short_key("6819b57a326945c1968f45236589")?;
/// let ctx = TransformContext::new("cart_session", std::time::SystemTime::now());
/// let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// let value = sign.write(&ctx, id).unwrap();
/// assert_eq!(value, format!("{id}/95a45a79d01af15db1d27acb1ef80a63cd44628c5262103b35ab0c36c7bcec91"));
/// assert_eq!(sign.read(&ctx, &value).map(|r| r.value).as_deref(), Ok(id));
/// # Ok::<(), typed_sessions::transform::KtorError>(())
/// ```
#[derive(Clone)]
pub struct KtorSign {
    key: Zeroizing<Vec<u8>>,
    hash: Hash,
    algorithm: &'static str,
    mac: Keyed,
}

impl KtorSign {
    /// Ktor's signing with `key` (at least [`MIN_KTOR_KEY_LEN`](super::MIN_KTOR_KEY_LEN) bytes,
    /// not a sample key) and `"HmacSHA256"`.
    pub fn new(key: impl AsRef<[u8]>) -> Result<KtorSign, KtorError> {
        KtorSign::build(key.as_ref(), false)
    }

    /// [`new`](Self::new) with the key as hex text (as Ktor's `hex("...")`).
    pub fn from_hex(key: &str) -> Result<KtorSign, KtorError> {
        KtorSign::new(key_from_hex(key, "sign")?.as_slice())
    }

    /// [`new`](Self::new), also taking a key shorter than
    /// [`MIN_KTOR_KEY_LEN`](super::MIN_KTOR_KEY_LEN) (any non-empty length, as Ktor): only to
    /// share the key a Ktor service already uses. A short HMAC key can be guessed; replace it
    /// as soon as the Ktor service can change.
    ///
    /// ```no_run
    /// use typed_sessions::transform::KtorSign;
    /// // The Ktor service's `hex("...")` key, from your secret store.
    /// let sign = KtorSign::from_hex_allowing_short_key(&std::env::var("KTOR_SIGN_KEY")?)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_allowing_short_key(key: impl AsRef<[u8]>) -> Result<KtorSign, KtorError> {
        KtorSign::build(key.as_ref(), true)
    }

    /// [`new_allowing_short_key`](Self::new_allowing_short_key) with the key as hex text.
    pub fn from_hex_allowing_short_key(key: &str) -> Result<KtorSign, KtorError> {
        KtorSign::new_allowing_short_key(key_from_hex(key, "sign")?.as_slice())
    }

    fn build(key: &[u8], allow_short: bool) -> Result<KtorSign, KtorError> {
        check_key(key, "sign", allow_short)?;
        Ok(KtorSign {
            key: Zeroizing::new(key.to_vec()),
            hash: Hash::Sha256,
            algorithm: "HmacSHA256",
            mac: Keyed::new(Hash::Sha256, key),
        })
    }

    /// Uses another MAC, named as Ktor names it: `"HmacSHA1"`, `"HmacSHA256"`, `"HmacSHA384"`
    /// or `"HmacSHA512"` (case-insensitive, as the JCE). Any other name is an error.
    ///
    /// ```
    /// use typed_sessions::transform::{KtorError, KtorSign};
    /// let sign = KtorSign::from_hex_allowing_short_key("6819b57a326945c1968f45236589")?
    ///     .with_algorithm("HmacSHA512")?;
    /// assert_eq!(sign.algorithm(), "HmacSHA512");
    /// assert!(matches!(sign.with_algorithm("HmacMD5"), Err(KtorError::UnknownAlgorithm(_))));
    /// # Ok::<(), KtorError>(())
    /// ```
    pub fn with_algorithm(mut self, algorithm: &str) -> Result<KtorSign, KtorError> {
        let (hash, name) = mac_algorithm(algorithm)?;
        self.mac = Keyed::new(hash, &self.key);
        self.hash = hash;
        self.algorithm = name;
        Ok(self)
    }

    /// The MAC's Ktor (JCE) name.
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }
}

impl Transformer for KtorSign {
    /// `value/hex(mac)`. Ktor's format carries no expiry: `ctx` is not used.
    fn write(&self, _ctx: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
        Ok(with_hex_tag(value, &self.mac.compute(&[value.as_bytes()])))
    }

    fn read(&self, _ctx: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
        let (payload, mac) = split_hex_tag(value, self.hash.output_len())?;
        if !self.mac.verify(&[payload.as_bytes()], &mac) {
            return Err(Rejection::BadSignature);
        }
        Ok(Unwrapped::new(payload.to_owned()))
    }

    fn describe(&self) -> String {
        format!("KtorSign({})", self.algorithm)
    }
}

impl fmt::Debug for KtorSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KtorSign")
            .field("algorithm", &self.algorithm)
            .field("key_len", &self.key.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::transform::tests::support::every_char_replaced;

    fn ctx() -> TransformContext<'static> {
        TransformContext::new("s", SystemTime::now())
    }

    /// ktor-sessions.md §3.4, the test key of `SessionTestJvm.testSessionByValueMac`.
    const VECTOR: &str = "{\"userId\":\"id 2\",\"cart\":[]}/0adc94dc04d0122b8139e88250ab61bcc01980ed3898eb4e557e2a749e17ab16";

    #[test]
    fn ktor_vector_payload() {
        let sign = KtorSign::from_hex_allowing_short_key("003515606058610610561058").unwrap();
        assert_eq!(
            sign.write(&ctx(), "{\"userId\":\"id 2\",\"cart\":[]}")
                .unwrap(),
            VECTOR
        );
        assert_eq!(
            sign.read(&ctx(), VECTOR).map(|r| r.value).as_deref(),
            Ok("{\"userId\":\"id 2\",\"cart\":[]}")
        );
    }

    #[test]
    fn ktor_vector_session_id() {
        let sign = KtorSign::from_hex_allowing_short_key("6819b57a326945c1968f45236589").unwrap();
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let signed =
            format!("{id}/95a45a79d01af15db1d27acb1ef80a63cd44628c5262103b35ab0c36c7bcec91");
        assert_eq!(sign.write(&ctx(), id).unwrap(), signed);
        assert_eq!(
            sign.read(&ctx(), &signed).map(|r| r.value).as_deref(),
            Ok(id)
        );
    }

    #[test]
    fn ktor_rejections() {
        let sign = KtorSign::from_hex_allowing_short_key("003515606058610610561058").unwrap();
        // SessionTestJvm's commonSignedChecks: the last hex digit flipped, the last char `x`.
        let last = VECTOR.chars().last().unwrap();
        let flipped = format!(
            "{}{}",
            &VECTOR[..VECTOR.len() - 1],
            if last == '6' { '7' } else { '6' }
        );
        let x = format!("{}x", &VECTOR[..VECTOR.len() - 1]);
        for bad in [
            flipped.as_str(),
            x.as_str(),
            "INVALID",
            "",
            "/",
            "{}/",
            &VECTOR.to_uppercase(),
            &format!(
                "{}{}",
                &VECTOR[..VECTOR.len() - 64],
                &VECTOR[VECTOR.len() - 64..].to_uppercase()
            ),
            &VECTOR[..VECTOR.len() - 1],
            &VECTOR[..VECTOR.len() - 2],
            &format!("{VECTOR}0"),
            &format!("{VECTOR}00"),
            &format!("{VECTOR}/"),
            &format!("x{VECTOR}"),
            &VECTOR.replace("id 2", "id 3"),
        ] {
            assert!(sign.read(&ctx(), bad).is_err(), "accepted {bad}");
        }
        assert_eq!(
            sign.read(&ctx(), &"a".repeat(8193)),
            Err(Rejection::TooLong)
        );
    }

    #[test]
    fn every_character_changed_is_refused() {
        let sign = KtorSign::from_hex_allowing_short_key("003515606058610610561058").unwrap();
        for tampered in every_char_replaced(VECTOR, 0, b"0fA/x") {
            assert!(sign.read(&ctx(), &tampered).is_err(), "accepted {tampered}");
        }
    }

    #[test]
    fn split_is_at_the_last_slash() {
        let sign = KtorSign::new_allowing_short_key(b"k").unwrap();
        let value = sign.write(&ctx(), "a/b/c").unwrap();
        assert_eq!(
            sign.read(&ctx(), &value).map(|r| r.value).as_deref(),
            Ok("a/b/c")
        );
        assert_eq!(value.matches('/').count(), 3);
    }

    #[test]
    fn algorithms_and_keys() {
        let payload = "{\"userId\":\"id 2\",\"cart\":[]}";
        for (name, hex_len) in [
            ("HmacSHA1", 40),
            ("HmacSHA256", 64),
            ("HmacSHA384", 96),
            ("HmacSHA512", 128),
        ] {
            let sign = KtorSign::new_allowing_short_key(b"key")
                .unwrap()
                .with_algorithm(name)
                .unwrap();
            let value = sign.write(&ctx(), payload).unwrap();
            assert_eq!(value.len(), payload.len() + 1 + hex_len, "{name}");
            assert_eq!(
                sign.read(&ctx(), &value).map(|r| r.value).as_deref(),
                Ok(payload)
            );
            let sha256 = KtorSign::new_allowing_short_key(b"key").unwrap();
            if name != "HmacSHA256" {
                assert!(sha256.read(&ctx(), &value).is_err());
            }
        }
        // HMAC-SHA1 of the Ktor test vector, computed with Python `hmac`.
        let sha1 = KtorSign::from_hex_allowing_short_key("003515606058610610561058")
            .unwrap()
            .with_algorithm("HmacSHA1")
            .unwrap();
        assert_eq!(
            sha1.write(&ctx(), payload).unwrap(),
            format!("{payload}/828d60c8fdddfbec1ba3b75fa28590ef32c8879e")
        );
        let sha384 = KtorSign::from_hex_allowing_short_key("003515606058610610561058")
            .unwrap()
            .with_algorithm("HmacSHA384")
            .unwrap();
        assert_eq!(
            sha384.write(&ctx(), payload).unwrap(),
            format!(
                "{payload}/a12b2fcfd1c78d2dea8af0fbd75d104252b0b24167a5f7b4c21a780a4b23d7a38931a4d8437610dc6048602a1ee58bb9"
            )
        );
        assert_eq!(
            KtorSign::new_allowing_short_key(b"").unwrap_err(),
            KtorError::EmptyKey("sign")
        );
        assert_eq!(
            KtorSign::from_hex_allowing_short_key("zz").unwrap_err(),
            KtorError::InvalidHex("sign")
        );
        assert!(matches!(
            KtorSign::new_allowing_short_key(b"k").unwrap().with_algorithm("HmacSHA3-256"),
            Err(KtorError::UnknownAlgorithm(n)) if n == "HmacSHA3-256"
        ));
        // A long key (over one SHA-256 block) is hashed first, as in the JCE.
        let long = KtorSign::new_allowing_short_key([7u8; 100]).unwrap();
        let v = long.write(&ctx(), "p").unwrap();
        assert_eq!(long.read(&ctx(), &v).map(|r| r.value).as_deref(), Ok("p"));
    }

    #[test]
    fn debug_hides_the_key() {
        let debug = format!(
            "{:?}",
            KtorSign::from_hex_allowing_short_key("003515606058610610561058").unwrap()
        );
        assert!(!debug.contains("0035"), "{debug}");
        assert!(!debug.contains("[0, 53"), "{debug}");
    }
}
