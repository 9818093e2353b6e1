//! Percent-encoding (`%XX`, uppercase hex, over UTF-8 bytes), as Ktor's `ktor-http` codecs
//! write and read it: the cookie's URI encoding, the legacy serializer's nested URL codecs,
//! and the options of a storage URL.

use std::borrow::Cow;

use super::hex::{digit_value, upper_digit};

/// How a space is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Space {
    /// `+` (form encoding, Ktor's `spaceToPlus = true`).
    Plus,
    /// `%20`.
    Escaped,
}

/// Encodes `value` from byte `first` on (the caller found the first byte that changes; the
/// bytes before it are kept): a byte `keep` accepts stays, a space becomes `space`, every
/// other byte `%XX`.
pub(crate) fn encode_from(
    value: &str,
    first: usize,
    keep: impl Fn(u8) -> bool,
    space: Space,
) -> String {
    // Kept as it is up to `first` (had `first` not been a character boundary, everything would
    // go through the loop, with the same result).
    let head = value.get(..first).unwrap_or_default();
    let tail = value.as_bytes().get(head.len()..).unwrap_or_default();
    let mut out = String::with_capacity(value.len() + tail.len() * 2);
    out.push_str(head);
    for &b in tail {
        if keep(b) {
            out.push(char::from(b));
        } else if b == b' ' && space == Space::Plus {
            out.push('+');
        } else {
            out.push('%');
            out.push(upper_digit(b >> 4));
            out.push(upper_digit(b & 0x0f));
        }
    }
    out
}

/// [`encode_from`] the first byte `keep` refuses; `value` itself when there is none.
pub(crate) fn encode(value: &str, keep: impl Fn(u8) -> bool, space: Space) -> Cow<'_, str> {
    match value.bytes().position(|b| !keep(b)) {
        None => Cow::Borrowed(value),
        Some(first) => Cow::Owned(encode_from(value, first, keep, space)),
    }
}

/// Decodes `%XX` escapes (hex of either case) and, when `plus_is_space`, `+` as a space.
/// `None` for a truncated or non-hex escape, or a result that is not UTF-8; `value` itself when
/// it holds nothing to decode.
pub(crate) fn decode(value: &str, plus_is_space: bool) -> Option<Cow<'_, str>> {
    let bytes = value.as_bytes();
    let found = if plus_is_space {
        memchr::memchr2(b'%', b'+', bytes)
    } else {
        memchr::memchr(b'%', bytes)
    };
    let first = match found {
        None => return Some(Cow::Borrowed(value)),
        Some(first) => first,
    };
    let (head, mut rest) = bytes.split_at(first);
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(head);
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let [high, low, tail @ ..] = rest else {
                    return None;
                };
                out.push(digit_value(*high)? << 4 | digit_value(*low)?);
                rest = tail;
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreserved(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
    }

    #[test]
    fn encodes_with_either_space() {
        assert_eq!(encode("a b/é~", unreserved, Space::Plus), "a+b%2F%C3%A9~");
        assert_eq!(encode("a b", unreserved, Space::Escaped), "a%20b");
        assert!(matches!(
            encode("aZ09-._~", unreserved, Space::Plus),
            Cow::Borrowed(_)
        ));
        assert_eq!(encode_from("ab c", 2, unreserved, Space::Plus), "ab+c");
        assert_eq!(encode("+%", unreserved, Space::Plus), "%2B%25");
    }

    #[test]
    fn decodes_strictly() {
        assert_eq!(decode("a+b%2fc%2F", true).unwrap(), "a b/c/");
        assert_eq!(decode("a+b%20", false).unwrap(), "a+b ");
        assert_eq!(decode("%C3%a9", false).unwrap(), "é");
        assert!(matches!(
            decode("plain", true),
            Some(Cow::Borrowed("plain"))
        ));
        assert!(matches!(decode("a+b", false), Some(Cow::Borrowed("a+b"))));
        for bad in [
            "%", "%4", "a%4", "%g1", "%1g", "%+1", "%%41", "%FF", "%C3", "%C3%28",
        ] {
            assert_eq!(decode(bad, true), None, "{bad:?}");
        }
    }

    #[test]
    fn round_trips() {
        for s in ["", "a b", "100%", "a&b=c#d+e", "é😀", "%2523", "\u{0}\n"] {
            assert_eq!(
                decode(&encode(s, unreserved, Space::Plus), true).unwrap(),
                s
            );
            assert_eq!(
                decode(&encode(s, unreserved, Space::Escaped), false).unwrap(),
                s
            );
        }
    }
}
