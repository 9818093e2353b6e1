//! The CSRF token reader and the form field scan.

use std::sync::LazyLock;

use crate::SessionId;

/// The token keys and secret of [`csrf_token`] (fixed, so seeds stay valid).
static CSRF: LazyLock<Option<(crate::csrf::token::TokenKeys, crate::csrf::CsrfSecret)>> =
    LazyLock::new(|| {
        let key = crate::transform::Key::from_hex(
            "5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
        )
        .ok()?;
        let keys = crate::csrf::token::TokenKeys::new(&crate::transform::KeyRing::new(key));
        let secret = crate::csrf::CsrfSecret::from_bytes([7; crate::csrf::SECRET_LEN]);
        Some((keys, secret))
    });

/// The CSRF token reader, on the input as a token and on the `csrf_token` field of the input
/// as a URL-encoded form: never a panic; a token
/// that unmasks is masked again into another string that unmasks the same; verification
/// (with and without a session id) never panics and accepts only the fixed secret's token.
pub fn csrf_token(data: &[u8]) {
    use crate::csrf::token::{mask_bytes, unmasked_bytes};
    let Some((keys, secret)) = CSRF.as_ref() else {
        return;
    };
    let field = crate::csrf::form_field(data, "csrf_token");
    let whole = std::str::from_utf8(data).ok();
    let id = SessionId::parse_custom("fuzz-session");
    for candidate in whole.into_iter().chain(field.as_deref()) {
        if let Some(bytes) = unmasked_bytes(candidate) {
            assert_eq!(candidate.len(), crate::csrf::TOKEN_LEN);
            let again = mask_bytes(bytes);
            assert_ne!(again, candidate, "a fresh pad masks differently");
            assert_eq!(unmasked_bytes(&again), Some(bytes));
        }
        let anonymous = keys.verify(candidate, secret, None);
        let bound = keys.verify(candidate, secret, id.as_ref());
        assert!(
            anonymous.is_err() || bound.is_err(),
            "one token verified for two sessions"
        );
        if anonymous.is_ok() {
            let expected = unmasked_bytes(&keys.issue(secret, None));
            assert_eq!(unmasked_bytes(candidate), expected);
        }
    }
}
