//! [`KtorUnkeyedDigest`]: Ktor 1.x's `SessionTransportTransformerDigest`, an unkeyed hash.

use std::fmt;

use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq as _;

use super::{KtorError, split_hex_tag, with_hex_tag};
use crate::transform::mac::Hash;
use crate::transform::{Rejection, TransformContext, TransformError, Transformer, Unwrapped};

/// The salt Ktor 1.x prepended by default.
pub const KTOR_DIGEST_SALT: &str = "ktor";

/// Ktor 1.x's `SessionTransportTransformerDigest`: `value/lowercase-hex(H(salt ‖ value))`, with
/// salt `"ktor"` and SHA-384 by default. **It is unkeyed: anyone can compute it**, so it
/// detects a value that was corrupted on the way, and nothing else. A client that wants another
/// session value writes it, computes the digest itself and sends both; this transformer accepts
/// the forgery as readily as a value the server wrote.
///
/// It exists to read and write what Ktor 1.x services wrote, during a migration away from it.
/// Ktor's own history of it:
///
/// * Ktor 1.0 (2018): `SessionTransportTransformerDigest(salt = "ktor", algorithm = "SHA-256")`,
///   used in Ktor's documentation to "sign the ID that travels to the client";
/// * Ktor 1.1.0 (December 2018): deprecated ("potentially vulnerable with several hash
///   functions"), the default changed to SHA-384;
/// * Ktor 1.2.2 (2019): the deprecation became an error, so code using it no longer compiled;
/// * Ktor 2.0.0 (2022): deleted.
///
/// Values are `payload + "/" + hex(digest)`, where the digest is over the UTF-8 bytes of the
/// salt followed by those of the payload. Reading splits at the **last** `/`, requires exactly
/// the digest's length in lowercase hex (Ktor only wrote lowercase), and compares the digest in
/// constant time; anything else (no `/`, odd or wrong length, uppercase or other characters, a
/// value over [`MAX_KTOR_VALUE_LEN`](super::MAX_KTOR_VALUE_LEN)) is a [`Rejection`]. Ktor's
/// reader was more lenient (uppercase hex; of an odd number of digits, the last one ignored),
/// and that leniency never refuses what Ktor wrote.
///
/// A secret salt does not make it a MAC: `H(secret ‖ value)` with SHA-1, SHA-256 or SHA-512
/// lets anyone who saw one value append to it and compute the new digest (length extension).
/// Move to [`Sign`](crate::Sign) instead, without logging anyone out, with
/// [`Migrate`](crate::transform::Migrate): Ktor 1.x values are still read, and each one is
/// re-sent signed the first time it comes back.
///
/// ```
/// use typed_sessions::transform::{KtorUnkeyedDigest, TransformContext, Transformer};
///
/// let ctx = TransformContext::new("SESSION_LOGIN", std::time::SystemTime::now());
/// // A by-id session's id as Ktor 1.0 wrote it by default (SHA-256), from Ktor's own test
/// // suite (`SessionTest.testSessionByIdDigest`).
/// let ktor_1_0 = KtorUnkeyedDigest::new().with_algorithm("SHA-256")?;
/// let value = "666/c2d4eaad4fe0bc6dbd0584cdf36929d79d52d7a748d1cc02835a71131a0963fb";
/// assert_eq!(ktor_1_0.read(&ctx, value).map(|r| r.value).as_deref(), Ok("666"));
///
/// // Unkeyed: anyone can forge a value that reads, here the id "667".
/// use sha2::Digest as _;
/// let forged = format!("667/{}", hex::encode(sha2::Sha256::digest(b"ktor667")));
/// assert_eq!(ktor_1_0.read(&ctx, &forged).map(|r| r.value).as_deref(), Ok("667"));
/// # Ok::<(), typed_sessions::transform::KtorError>(())
/// ```
#[derive(Clone)]
pub struct KtorUnkeyedDigest {
    salt: String,
    hash: Hash,
    algorithm: &'static str,
}

/// Shows the hash and whether the salt is Ktor's; a salt of your own is not printed.
impl fmt::Debug for KtorUnkeyedDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let salt = if self.salt == KTOR_DIGEST_SALT {
            "ktor (Ktor's default)"
        } else {
            "custom"
        };
        f.debug_struct("KtorUnkeyedDigest")
            .field("algorithm", &self.algorithm)
            .field("salt", &salt)
            .finish()
    }
}

impl Default for KtorUnkeyedDigest {
    fn default() -> Self {
        KtorUnkeyedDigest::new()
    }
}

impl KtorUnkeyedDigest {
    /// What Ktor 1.1 to 1.6 wrote by default: `SessionTransportTransformerDigest()`, salt
    /// `"ktor"`, SHA-384.
    ///
    /// ```
    /// use typed_sessions::transform::{KtorUnkeyedDigest, TransformContext, Transformer};
    /// let ctx = TransformContext::new("s", std::time::SystemTime::now());
    /// // python3 -c 'import hashlib; print(hashlib.sha384(b"ktor"+b"666").hexdigest())'
    /// assert_eq!(
    ///     KtorUnkeyedDigest::new().write(&ctx, "666").unwrap(),
    ///     "666/ac3aaf25429f220afd9daef49813cd91bf7b47696354c8c3174e365d594216521a80c3e157a03864dce403b33451e146",
    /// );
    /// ```
    pub fn new() -> KtorUnkeyedDigest {
        KtorUnkeyedDigest {
            salt: KTOR_DIGEST_SALT.to_owned(),
            hash: Hash::Sha384,
            algorithm: "SHA-384",
        }
    }

    /// Uses another hash, named as Java's `MessageDigest` names it: `"SHA-256"` (Ktor 1.0's
    /// default), `"SHA-384"`, `"SHA-1"` or `"SHA-512"` (case-insensitive). Any other name is an
    /// error.
    ///
    /// ```
    /// use typed_sessions::transform::{KtorError, KtorUnkeyedDigest};
    /// assert_eq!(KtorUnkeyedDigest::new().with_algorithm("sha-256")?.algorithm(), "SHA-256");
    /// assert!(matches!(
    ///     KtorUnkeyedDigest::new().with_algorithm("MD5"),
    ///     Err(KtorError::UnknownDigestAlgorithm(_))
    /// ));
    /// # Ok::<(), KtorError>(())
    /// ```
    pub fn with_algorithm(mut self, algorithm: &str) -> Result<KtorUnkeyedDigest, KtorError> {
        const NAMES: [(&str, Hash); 4] = [
            ("SHA-384", Hash::Sha384),
            ("SHA-256", Hash::Sha256),
            ("SHA-1", Hash::Sha1),
            ("SHA-512", Hash::Sha512),
        ];
        let (name, hash) = NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(algorithm))
            .copied()
            .ok_or_else(|| KtorError::UnknownDigestAlgorithm(algorithm.to_owned()))?;
        self.hash = hash;
        self.algorithm = name;
        Ok(self)
    }

    /// Uses another salt (Ktor's `salt` parameter; `"ktor"` by default). A salt is not a key:
    /// see the type's documentation.
    pub fn with_salt(mut self, salt: impl Into<String>) -> KtorUnkeyedDigest {
        self.salt = salt.into();
        self
    }

    /// The hash's `MessageDigest` name (`"SHA-384"`, ...).
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// `H(salt ‖ payload)`.
    fn digest(&self, payload: &str) -> Vec<u8> {
        fn run<D: sha2::Digest>(salt: &str, payload: &str) -> Vec<u8> {
            D::new()
                .chain_update(salt.as_bytes())
                .chain_update(payload.as_bytes())
                .finalize()
                .to_vec()
        }
        match self.hash {
            Hash::Sha1 => run::<Sha1>(&self.salt, payload),
            Hash::Sha256 => run::<Sha256>(&self.salt, payload),
            Hash::Sha384 => run::<Sha384>(&self.salt, payload),
            Hash::Sha512 => run::<Sha512>(&self.salt, payload),
        }
    }
}

impl Transformer for KtorUnkeyedDigest {
    /// `value/hex(H(salt ‖ value))`. The format carries no expiry: `ctx` is not used.
    fn write(&self, _ctx: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
        Ok(with_hex_tag(value, &self.digest(value)))
    }

    fn read(&self, _ctx: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
        let (payload, provided) = split_hex_tag(value, self.hash.output_len())?;
        if !bool::from(self.digest(payload).ct_eq(&provided)) {
            return Err(Rejection::BadSignature);
        }
        Ok(Unwrapped::new(payload.to_owned()))
    }

    fn describe(&self) -> String {
        format!("KtorUnkeyedDigest({})", self.algorithm)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::transform::ktor::MAX_KTOR_VALUE_LEN;
    use crate::transform::tests::support::every_char_replaced;

    fn ctx() -> TransformContext<'static> {
        TransformContext::new("s", SystemTime::now())
    }

    /// Ktor 1.x's own value: `SessionTest.testSessionByIdDigest` asserts that the by-id session
    /// with id `666` sends this cookie, at tag 1.0.0 with `SessionTransportTransformerDigest()`
    /// (SHA-256 was the default) and from 1.1.0 with `algorithm = "SHA-256"`. Checked
    /// independently:
    /// `python3 -c 'import hashlib; print(hashlib.sha256(b"ktor"+b"666").hexdigest())'`
    const KTOR_1_SHA256: &str =
        "666/c2d4eaad4fe0bc6dbd0584cdf36929d79d52d7a748d1cc02835a71131a0963fb";

    /// `python3 -c 'import hashlib; print(hashlib.sha384(b"ktor"+b"666").hexdigest())'`
    const SHA384_666: &str = "666/ac3aaf25429f220afd9daef49813cd91bf7b47696354c8c3174e365d594216521a80c3e157a03864dce403b33451e146";

    /// A JSON payload with a `/` in it, SHA-384 (Ktor 1.1+'s default):
    /// `python3 -c 'import hashlib; print(hashlib.sha384(b"ktor"+b"{\"userId\":\"id/2\",\"cart\":[]}").hexdigest())'`
    const JSON_SHA384: &str = "{\"userId\":\"id/2\",\"cart\":[]}/36e6284a726a5a08585212b431b6297ae0ae058ce602af19a81b626b7e06b34e8d0700a6d8bba787b24524103ffec858";

    #[test]
    fn ktor_1_x_vector_round_trips() {
        let sha256 = KtorUnkeyedDigest::new().with_algorithm("SHA-256").unwrap();
        assert_eq!(sha256.write(&ctx(), "666").unwrap(), KTOR_1_SHA256);
        assert_eq!(
            sha256
                .read(&ctx(), KTOR_1_SHA256)
                .map(|r| r.value)
                .as_deref(),
            Ok("666")
        );
        let sha384 = KtorUnkeyedDigest::new();
        assert_eq!(sha384.write(&ctx(), "666").unwrap(), SHA384_666);
        assert_eq!(
            sha384.read(&ctx(), SHA384_666).map(|r| r.value).as_deref(),
            Ok("666")
        );
        // One algorithm never reads the other's values.
        assert_eq!(
            sha384.read(&ctx(), KTOR_1_SHA256),
            Err(Rejection::Malformed)
        );
        assert_eq!(sha256.read(&ctx(), SHA384_666), Err(Rejection::Malformed));
    }

    #[test]
    fn python_vectors() {
        let json = "{\"userId\":\"id/2\",\"cart\":[]}";
        let t = KtorUnkeyedDigest::new();
        assert_eq!(t.write(&ctx(), json).unwrap(), JSON_SHA384);
        assert_eq!(
            t.read(&ctx(), JSON_SHA384).map(|r| r.value).as_deref(),
            Ok(json)
        );
        for (name, salt, payload, digest) in [
            // python3 -c 'import hashlib; print(hashlib.sha256(b"ktor"+b"").hexdigest())'
            (
                "SHA-256",
                "ktor",
                "",
                "4b9554cb29dfdec406b149d0b5647a82ae676d08f3f0038627727dac52e0c2e5",
            ),
            // python3 -c 'import hashlib; print(hashlib.sha1(b"ktor"+b"666").hexdigest())'
            (
                "SHA-1",
                "ktor",
                "666",
                "aec4c611c9374e193a400dc26a8717b9494a9819",
            ),
            // python3 -c 'import hashlib; print(hashlib.sha512(b"ktor"+b"666").hexdigest())'
            (
                "SHA-512",
                "ktor",
                "666",
                "6a3d90319a9c4b6d2a6195af6f7ee06b872ef368f8befb2056c18b2607cb7a1b1e56b5ebbccf90c0ed5dd98e1b2d9b00a57c5c45536e863e39afd3f029dcf32f",
            ),
            // python3 -c 'import hashlib; print(hashlib.sha256(b"salt"+"é/ü".encode()).hexdigest())'
            (
                "SHA-256",
                "salt",
                "é/ü",
                "bc4dd8340461b19882242f897110be71fe560dc9bae36f5e30dabcaa0e960d65",
            ),
        ] {
            let t = KtorUnkeyedDigest::new()
                .with_algorithm(name)
                .unwrap()
                .with_salt(salt);
            let expected = format!("{payload}/{digest}");
            assert_eq!(t.write(&ctx(), payload).unwrap(), expected, "{name}");
            assert_eq!(
                t.read(&ctx(), &expected).map(|r| r.value).as_deref(),
                Ok(payload),
                "{name}"
            );
        }
    }

    #[test]
    fn malformed_values_are_rejections() {
        let t = KtorUnkeyedDigest::new();
        let digest = &SHA384_666[4..];
        let flipped = {
            let mut s = SHA384_666.to_owned();
            let last = s.pop().unwrap();
            s.push(if last == '6' { '7' } else { '6' });
            s
        };
        for (bad, why) in [
            ("", Rejection::Malformed),
            ("666", Rejection::Malformed),
            ("/", Rejection::Malformed),
            (digest, Rejection::Malformed),
            (&format!("666{digest}"), Rejection::Malformed),
            (
                &format!("666/{}", digest.to_uppercase()),
                Rejection::Malformed,
            ),
            (&SHA384_666[..SHA384_666.len() - 1], Rejection::Malformed),
            (&SHA384_666[..SHA384_666.len() - 2], Rejection::Malformed),
            (&format!("{SHA384_666}0"), Rejection::Malformed),
            (&format!("{SHA384_666}00"), Rejection::Malformed),
            (&format!("{SHA384_666}x"), Rejection::Malformed),
            (
                &format!("{}x", &SHA384_666[..SHA384_666.len() - 1]),
                Rejection::Malformed,
            ),
            (&format!("{SHA384_666}/"), Rejection::Malformed),
            (&format!("666/ {}", &digest[1..]), Rejection::Malformed),
            (
                &format!("666/{}é", &digest[..digest.len() - 2]),
                Rejection::Malformed,
            ),
            (&format!("666/+{}", &digest[1..]), Rejection::Malformed),
            (&flipped, Rejection::BadSignature),
            (&format!("667/{digest}"), Rejection::BadSignature),
            (&format!("/666/{digest}"), Rejection::BadSignature),
            (&format!(" 666/{digest}"), Rejection::BadSignature),
        ] {
            assert_eq!(t.read(&ctx(), bad), Err(why), "{bad:?}");
        }
        let huge = format!("{}/{digest}", "a".repeat(MAX_KTOR_VALUE_LEN));
        assert_eq!(t.read(&ctx(), &huge), Err(Rejection::TooLong));
        assert_eq!(
            t.read(&ctx(), &"/".repeat(10 * MAX_KTOR_VALUE_LEN)),
            Err(Rejection::TooLong)
        );
        // The longest value accepted is read.
        let payload = "p".repeat(MAX_KTOR_VALUE_LEN - 97);
        let longest = t.write(&ctx(), &payload).unwrap();
        assert_eq!(longest.len(), MAX_KTOR_VALUE_LEN);
        assert_eq!(
            t.read(&ctx(), &longest).map(|r| r.value).as_deref(),
            Ok(payload.as_str())
        );
    }

    #[test]
    fn every_character_changed_is_refused() {
        let t = KtorUnkeyedDigest::new();
        for tampered in every_char_replaced(SHA384_666, 0, b"0fA/x7") {
            assert!(t.read(&ctx(), &tampered).is_err(), "accepted {tampered}");
        }
    }

    #[test]
    fn salt_and_algorithm_names() {
        let default = KtorUnkeyedDigest::default();
        assert_eq!(default.algorithm(), "SHA-384");
        let salted = KtorUnkeyedDigest::new().with_salt("pepper");
        let debug = format!("{salted:?}");
        assert!(
            !debug.contains("pepper") && debug.contains("custom"),
            "{debug}"
        );
        assert!(format!("{default:?}").contains("Ktor's default"));
        let value = salted.write(&ctx(), "666").unwrap();
        assert_eq!(
            salted.read(&ctx(), &value).map(|r| r.value).as_deref(),
            Ok("666")
        );
        assert_eq!(default.read(&ctx(), &value), Err(Rejection::BadSignature));
        for (name, canonical) in [
            ("sha-1", "SHA-1"),
            ("Sha-256", "SHA-256"),
            ("SHA-384", "SHA-384"),
            ("sha-512", "SHA-512"),
        ] {
            let t = KtorUnkeyedDigest::new().with_algorithm(name).unwrap();
            assert_eq!(t.algorithm(), canonical);
            assert_eq!(t.describe(), format!("KtorUnkeyedDigest({canonical})"));
        }
        for bad in ["", "MD5", "SHA256", "SHA-224", "SHA3-256", "HmacSHA256"] {
            assert_eq!(
                KtorUnkeyedDigest::new().with_algorithm(bad).unwrap_err(),
                KtorError::UnknownDigestAlgorithm(bad.to_owned()),
                "{bad}"
            );
        }
    }
}
