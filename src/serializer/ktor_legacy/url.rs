//! The three URL codecs of `ktor-http` (`Codecs.kt`) that the legacy format nests.
//!
//! | Ktor function | here | keeps as is | space | everything else |
//! |---|---|---|---|---|
//! | `encodeURLParameter(spaceToPlus = true)` | [`encode_url_parameter`] | `A-Z a-z 0-9 - . _ ~` | `+` | `%XX` |
//! | `encodeURLQueryComponent()` | [`encode_url_query_component`] | the above and `: / ? # [ ] @ ! $ & ' ( ) * , ; = +` | `%20` | `%XX` |
//! | `decodeURLQueryComponent(plusIsSpace)` | [`decode_url_query_component`] | | `+` → space only if `plus_is_space` | `%XX` (either case) decoded |
//!
//! All work on UTF-8 bytes and write uppercase hex. `encodeURLParameter(spaceToPlus = true)` is
//! exactly the cookie `URI_ENCODING` of the transport, so it is reused from there.
//!
//! Ktor's decoder throws on a truncated or non-hex escape, and so does this one; it turns bytes
//! that are not UTF-8 into U+FFFD, where this one fails instead.

use std::borrow::Cow;

use super::error::{Error, Result};
use crate::codec::percent::{self, Space};

pub(super) use crate::transport::encoding::uri_encode as encode_url_parameter;

/// Whether `encodeURLQueryComponent(encodeFull = false)` writes byte `b` as is: Ktor's
/// `URL_ALPHABET` plus its `URL_PROTOCOL_PART`.
fn is_query_component_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b':' | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b','
                | b';'
                | b'='
                | b'-'
                | b'.'
                | b'_'
                | b'~'
                | b'+'
        )
}

/// Ktor's `encodeURLQueryComponent()` with its defaults (`encodeFull = false`,
/// `spaceToPlus = false`). Weak: it leaves `#`, `&`, `=` and `+` unescaped.
pub(super) fn encode_url_query_component(value: &str) -> Cow<'_, str> {
    percent::encode(value, is_query_component_safe, Space::Escaped)
}

/// Ktor's `decodeURLQueryComponent(plusIsSpace)`: `%XX` escapes (hex in either case) are decoded,
/// `+` becomes a space only when `plus_is_space`. A truncated or non-hex escape, or a result
/// that is not UTF-8, is an error.
pub(super) fn decode_url_query_component(value: &str, plus_is_space: bool) -> Result<Cow<'_, str>> {
    percent::decode(value, plus_is_space).ok_or_else(|| {
        Error::new(
            "a malformed `%` escape (truncated, not hex, or decoding to bytes that are not UTF-8)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_encoding_is_ktors() {
        assert_eq!(encode_url_parameter("#sa b+c/é~"), "%23sa+b%2Bc%2F%C3%A9~");
        assert_eq!(encode_url_parameter("aZ09-._~"), "aZ09-._~");
    }

    #[test]
    fn query_component_encoding_is_ktors_weak_one() {
        // Everything in URL_PROTOCOL_PART stays, including `#`, `&`, `=` and `+`.
        let kept = ":/?#[]@!$&'()*,;=-._~+aZ09";
        assert_eq!(encode_url_query_component(kept), kept);
        assert!(matches!(encode_url_query_component(kept), Cow::Borrowed(_)));
        // Space is `%20` (not `+`), `%` and the rest of ASCII and all non-ASCII are escaped.
        assert_eq!(
            encode_url_query_component("a b%\"<>\\^`{|}é"),
            "a%20b%25%22%3C%3E%5C%5E%60%7B%7C%7D%C3%A9"
        );
        // The list vector of §3.3: `#s1&#s2` is unchanged by a second pass.
        assert_eq!(encode_url_query_component("#s1&#s2"), "#s1&#s2");
    }

    #[test]
    fn decoding_follows_the_plus_flag() {
        assert_eq!(
            decode_url_query_component("a+b%20c", true).unwrap(),
            "a b c"
        );
        assert_eq!(
            decode_url_query_component("a+b%20c", false).unwrap(),
            "a+b c"
        );
        assert_eq!(
            decode_url_query_component("%c3%A9%23", false).unwrap(),
            "é#"
        );
        assert!(matches!(
            decode_url_query_component("plain#&=", true).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn decoding_rejects_malformed_escapes() {
        for bad in [
            "%", "%4", "a%4", "%g1", "%1g", "%%41", "%FF", "%C3", "%C3%28",
        ] {
            assert!(
                decode_url_query_component(bad, true).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!(decode_url_query_component("%41", true).unwrap(), "A");
    }

    #[test]
    fn the_codecs_round_trip() {
        for s in ["", "a b", "100%", "a&b=c#d+e", "é😀", "%2523"] {
            let e = encode_url_query_component(s);
            assert_eq!(decode_url_query_component(&e, false).unwrap(), s);
            let e = encode_url_parameter(s);
            assert_eq!(decode_url_query_component(&e, true).unwrap(), s);
        }
    }
}
