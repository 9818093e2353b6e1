//! [`CsrfSecret`]: the per-browser random secret that anonymous visitors' tokens (and, with the
//! bound session's id, everyone's) are derived from, carried in its own small encrypted cookie.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The length of a secret in bytes (256 bits).
pub(crate) const SECRET_LEN: usize = 32;

/// The per-browser secret of the CSRF protection: 32 random bytes, kept in the cookie that
/// [`SessionsConfig::csrf`](crate::SessionsConfig::csrf) registers (a by-value session,
/// encrypted with the layer's key), created the first time a response carries a
/// [`CsrfToken`](super::CsrfToken).
///
/// Applications never build one; it is public because it is the session type of that cookie
/// (so [`Sessions::clear`](crate::Sessions::clear) can drop it, for instance). It holds no
/// authority: a token is an HMAC under the server's key of this secret and the bound session's
/// id, so knowing the secret does not let anyone compute a token. `Debug` never shows it, and
/// it is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfSecret([u8; SECRET_LEN]);

impl CsrfSecret {
    /// A new random secret (from the crate's per-thread generator, seeded by the OS).
    pub(crate) fn generate() -> CsrfSecret {
        let mut bytes = [0u8; SECRET_LEN];
        crate::random::fill(&mut bytes);
        CsrfSecret(bytes)
    }

    /// The secret's bytes, for the token derivation.
    pub(crate) fn as_bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// A secret with these bytes (tests and the fuzz targets).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn from_bytes(bytes: [u8; SECRET_LEN]) -> CsrfSecret {
        CsrfSecret(bytes)
    }
}

impl Drop for CsrfSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for CsrfSecret {}

impl fmt::Debug for CsrfSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfSecret(..)")
    }
}

/// Serialized as 43 base64url characters without padding.
impl Serialize for CsrfSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = zeroize::Zeroizing::new(String::with_capacity(43));
        URL_SAFE_NO_PAD.encode_string(self.0, &mut text);
        serializer.serialize_str(&text)
    }
}

/// Read strictly: exactly 32 bytes in canonical base64url; anything else is no secret.
impl<'de> Deserialize<'de> for CsrfSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = zeroize::Zeroizing::new(String::deserialize(deserializer)?);
        let decoded = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.decode(text.as_bytes()).ok());
        match decoded.as_deref().map(<[u8; SECRET_LEN]>::try_from) {
            Some(Ok(bytes)) => Ok(CsrfSecret(bytes)),
            _ => Err(serde::de::Error::custom("not a CSRF secret")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_round_trip_through_json() {
        let a = CsrfSecret::generate();
        let b = CsrfSecret::generate();
        assert_ne!(a, b);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json.len(), 45, "{json}");
        assert_eq!(serde_json::from_str::<CsrfSecret>(&json).unwrap(), a);
        assert_eq!(format!("{a:?}"), "CsrfSecret(..)");
    }

    #[test]
    fn anything_but_32_canonical_bytes_is_refused() {
        let short = format!("\"{}\"", URL_SAFE_NO_PAD.encode([7u8; 31]));
        let long = format!("\"{}\"", URL_SAFE_NO_PAD.encode([7u8; 33]));
        let padded = format!("\"{}=\"", URL_SAFE_NO_PAD.encode([7u8; 32]));
        for bad in [
            short,
            long,
            padded,
            "\"\"".into(),
            "12".into(),
            "null".into(),
        ] {
            assert!(serde_json::from_str::<CsrfSecret>(&bad).is_err(), "{bad}");
        }
    }
}
