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
    let bytes = value.as_bytes();
    let Some(first) = bytes.iter().position(|&b| !is_query_component_safe(b)) else {
        return Cow::Borrowed(value);
    };
    let (head, tail) = bytes.split_at(first);
    let mut out = String::with_capacity(value.len() + tail.len() * 2);
    // `head` is all ASCII, so this is the same text.
    out.extend(head.iter().map(|&b| char::from(b)));
    for &b in tail {
        if is_query_component_safe(b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push_str("%20");
        } else {
            out.push('%');
            out.push(hex_digit_upper(b >> 4));
            out.push(hex_digit_upper(b & 0x0f));
        }
    }
    Cow::Owned(out)
}

/// The uppercase hex digit of `nibble` (which is below 16).
fn hex_digit_upper(nibble: u8) -> char {
    match nibble {
        0..=9 => char::from(b'0' + nibble),
        _ => char::from(b'A' + (nibble & 0x0f) - 10),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Ktor's `decodeURLQueryComponent(plusIsSpace)`: `%XX` escapes (hex in either case) are decoded,
/// `+` becomes a space only when `plus_is_space`. A truncated or non-hex escape, or a result
/// that is not UTF-8, is an error.
pub(super) fn decode_url_query_component(value: &str, plus_is_space: bool) -> Result<Cow<'_, str>> {
    let bytes = value.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(Cow::Borrowed(value));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let [hi, lo, tail @ ..] = rest else {
                    return Err(Error::new("truncated `%` escape"));
                };
                let (Some(hi), Some(lo)) = (hex_value(*hi), hex_value(*lo)) else {
                    return Err(Error::new("invalid `%` escape"));
                };
                out.push(hi << 4 | lo);
                rest = tail;
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| Error::new("a `%` escape decodes to bytes that are not UTF-8"))
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
