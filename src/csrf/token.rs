//! The token: derived from the browser's secret and the bound session's id, masked afresh for
//! every response, and read back (see the [module documentation](super) for the design).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::rejection::CsrfRejection;
use super::secret::CsrfSecret;
use crate::id::SessionId;
use crate::transform::KeyRing;
use crate::transform::mac::{Hash, Keyed};

/// The HKDF `info` of the token key: one purpose, one key, never shared with `Sign` or
/// `Encrypt`.
const TOKEN_INFO: &[u8] = b"typed-sessions/v1/csrf/token/hmac-sha256";

/// The length of the unmasked token (an HMAC-SHA-256 output).
const BINDING_LEN: usize = 32;

/// The first byte of a masked token: the format.
const VERSION: u8 = 0x01;

/// A masked token in bytes: the version, the one-time pad, the masked binding.
const MASKED_LEN: usize = 1 + 2 * BINDING_LEN;

/// The length of a token as forms and headers carry it: 65 bytes as base64url without
/// padding, 87 characters (`A-Z a-z 0-9 - _`, safe in HTML attributes and headers as is).
pub const TOKEN_LEN: usize = 87;

/// The unmasked token, what every masked token of one browser and session unmasks to. Never
/// sent; wiped when dropped.
pub(crate) struct Binding(Zeroizing<[u8; BINDING_LEN]>);

/// The token keys: one HMAC-SHA-256 key per key of the ring, derived with HKDF under
/// [`TOKEN_INFO`], the current key first.
pub(crate) struct TokenKeys {
    keys: Box<[Keyed]>,
}

impl TokenKeys {
    pub(crate) fn new(ring: &KeyRing) -> TokenKeys {
        let keys = ring
            .keys()
            .map(|key| {
                let mut derived = Zeroizing::new([0u8; 32]);
                key.derive(TOKEN_INFO, derived.as_mut_slice());
                Keyed::new(Hash::Sha256, derived.as_slice())
            })
            .collect();
        TokenKeys { keys }
    }

    /// `HMAC(k, secret | u32be(len(id)) | id)`, with an empty id when there is no session.
    fn binding(key: &Keyed, secret: &CsrfSecret, session: Option<&SessionId>) -> Binding {
        let id = session.map_or(&b""[..], |id| id.as_str().as_bytes());
        let len = u32::try_from(id.len()).unwrap_or(u32::MAX).to_be_bytes();
        let mac = Zeroizing::new(key.compute(&[secret.as_bytes(), &len, id]));
        let mut binding = Zeroizing::new([0u8; BINDING_LEN]);
        for (out, byte) in binding.iter_mut().zip(mac.iter()) {
            *out = *byte;
        }
        Binding(binding)
    }

    /// A token for `secret` and `session` under the current key, masked with a fresh pad.
    pub(crate) fn issue(&self, secret: &CsrfSecret, session: Option<&SessionId>) -> String {
        match self.keys.first() {
            Some(current) => mask(&Self::binding(current, secret, session)),
            // A ring always has a current key; an empty token never verifies.
            None => String::new(),
        }
    }

    /// Whether `token` is a token of `secret` and `session` under any key of the ring,
    /// compared in constant time.
    pub(crate) fn verify(
        &self,
        token: &str,
        secret: &CsrfSecret,
        session: Option<&SessionId>,
    ) -> Result<(), CsrfRejection> {
        let presented = unmask(token).ok_or(CsrfRejection::MalformedToken)?;
        let mut matched = subtle::Choice::from(0);
        for key in self.keys.iter() {
            let expected = Self::binding(key, secret, session);
            matched |= expected.0.as_slice().ct_eq(presented.0.as_slice());
        }
        if bool::from(matched) {
            Ok(())
        } else {
            Err(CsrfRejection::WrongToken)
        }
    }
}

/// `base64url(version | pad | pad XOR binding)` with a fresh random pad.
pub(crate) fn mask(binding: &Binding) -> String {
    let mut raw = Zeroizing::new([0u8; MASKED_LEN]);
    let (version, rest) = raw.split_at_mut(1);
    version.fill(VERSION);
    let (pad, masked) = rest.split_at_mut(BINDING_LEN);
    crate::random::fill(pad);
    for ((out, p), b) in masked.iter_mut().zip(pad.iter()).zip(binding.0.iter()) {
        *out = p ^ b;
    }
    URL_SAFE_NO_PAD.encode(raw.as_slice())
}

/// The binding a masked token carries, or `None` if it is not a token of this format: the
/// length first (nothing longer is decoded), then strict base64url, then the version.
pub(crate) fn unmask(token: &str) -> Option<Binding> {
    if token.len() != TOKEN_LEN {
        return None;
    }
    let raw = Zeroizing::new(URL_SAFE_NO_PAD.decode(token).ok()?);
    let (&version, rest) = raw.split_first()?;
    if version != VERSION || rest.len() != 2 * BINDING_LEN {
        return None;
    }
    let (pad, masked) = rest.split_at(BINDING_LEN);
    let mut binding = Zeroizing::new([0u8; BINDING_LEN]);
    for ((out, p), m) in binding.iter_mut().zip(pad).zip(masked) {
        *out = p ^ m;
    }
    Some(Binding(binding))
}

/// The unmasked bytes of a token (the fuzz target's round-trip check).
#[cfg(feature = "fuzzing")]
pub(crate) fn unmasked_bytes(token: &str) -> Option<[u8; BINDING_LEN]> {
    unmask(token).map(|b| *b.0)
}

/// Masks `bytes` as a token (the fuzz target's round-trip check).
#[cfg(feature = "fuzzing")]
pub(crate) fn mask_bytes(bytes: [u8; BINDING_LEN]) -> String {
    mask(&Binding(Zeroizing::new(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::Key;

    fn keys() -> (Key, TokenKeys) {
        let key = Key::generate();
        let keys = TokenKeys::new(&KeyRing::new(key.clone()));
        (key, keys)
    }

    fn id(text: &str) -> SessionId {
        SessionId::parse_custom(text).unwrap()
    }

    #[test]
    fn a_token_verifies_for_its_secret_and_session_only() {
        let (_, keys) = keys();
        let secret = CsrfSecret::generate();
        let session = id("session-one");
        let token = keys.issue(&secret, Some(&session));
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(keys.verify(&token, &secret, Some(&session)), Ok(()));
        let wrong = Err(CsrfRejection::WrongToken);
        assert_eq!(
            keys.verify(&token, &secret, Some(&id("session-two"))),
            wrong
        );
        assert_eq!(keys.verify(&token, &secret, None), wrong);
        assert_eq!(
            keys.verify(&token, &CsrfSecret::generate(), Some(&session)),
            wrong
        );
        let anonymous = keys.issue(&secret, None);
        assert_eq!(keys.verify(&anonymous, &secret, None), Ok(()));
        assert_eq!(keys.verify(&anonymous, &secret, Some(&session)), wrong);
    }

    #[test]
    fn every_token_is_masked_differently_and_hides_the_binding() {
        let (_, keys) = keys();
        let secret = CsrfSecret::generate();
        let a = keys.issue(&secret, None);
        let b = keys.issue(&secret, None);
        assert_ne!(a, b);
        assert_eq!(unmask(&a).unwrap().0, unmask(&b).unwrap().0);
        let binding = hex::encode(*unmask(&a).unwrap().0);
        let decoded = hex::encode(URL_SAFE_NO_PAD.decode(&a).unwrap());
        assert!(!decoded.contains(&binding));
    }

    #[test]
    fn a_token_of_a_previous_key_still_verifies_and_a_foreign_key_does_not() {
        let (old, old_keys) = keys();
        let secret = CsrfSecret::generate();
        let token = old_keys.issue(&secret, None);
        let rotated = KeyRing::from_keys(Key::generate(), [old]).unwrap();
        assert_eq!(
            TokenKeys::new(&rotated).verify(&token, &secret, None),
            Ok(())
        );
        let (_, foreign) = keys();
        assert_eq!(
            foreign.verify(&token, &secret, None),
            Err(CsrfRejection::WrongToken)
        );
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_comparison() {
        let (_, keys) = keys();
        let secret = CsrfSecret::generate();
        let good = keys.issue(&secret, None);
        let mut version = URL_SAFE_NO_PAD.decode(&good).unwrap();
        version[0] = 2;
        let malformed = [
            String::new(),
            good[..TOKEN_LEN - 1].to_owned(),
            format!("{good}A"),
            good.replace(['-', '_'], "+"),
            format!("{}=", &good[..TOKEN_LEN - 1]),
            URL_SAFE_NO_PAD.encode(version),
            "é".repeat(TOKEN_LEN / 2),
        ];
        for token in malformed {
            if token == good {
                continue;
            }
            assert_eq!(
                keys.verify(&token, &secret, None),
                Err(CsrfRejection::MalformedToken),
                "{token}"
            );
        }
    }

    #[test]
    fn the_token_key_is_derived_for_its_purpose() {
        let key = Key::generate();
        let mut derived = [0u8; 32];
        key.derive(TOKEN_INFO, &mut derived);
        let secret = CsrfSecret::from_bytes([9; 32]);
        let mac = Keyed::new(Hash::Sha256, &derived);
        let expected = mac.compute(&[&[9; 32], &0u32.to_be_bytes()]);
        let keys = TokenKeys::new(&KeyRing::new(key.clone()));
        let token = keys.issue(&secret, None);
        assert_eq!(unmask(&token).unwrap().0.to_vec(), expected);
        // Not the key `Sign` derives from the same master key.
        let mut signing = [0u8; 32];
        key.derive(b"typed-sessions/v1/sign/hmac-sha256", &mut signing);
        let sign = Keyed::new(Hash::Sha256, &signing);
        assert_ne!(sign.compute(&[&[9; 32], &0u32.to_be_bytes()]), expected);
    }
}
