//! How a session value is written into a cookie value, and read back.
//!
//! The default, [`CookieEncoding::Uri`], is exactly Ktor's `URI_ENCODING` (its
//! `encodeURLParameter(spaceToPlus = true)`): UTF-8 bytes, `[A-Za-z0-9-._~]` kept, a space
//! becomes `+`, every other byte becomes `%XX` with uppercase hex. Decoding turns `+` into a space
//! and accepts `%XX` in either case. Unlike Ktor, a malformed escape or invalid UTF-8 reads as
//! "no session" instead of failing the request.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

use crate::codec::percent::{self, Space};

/// How a cookie value is encoded on the wire.
///
/// ```
/// use typed_sessions::CookieEncoding;
/// let v = r#"{"id":"123abc","count":0}"#;
/// assert_eq!(CookieEncoding::Uri.encode(v), "%7B%22id%22%3A%22123abc%22%2C%22count%22%3A0%7D");
/// assert_eq!(CookieEncoding::Uri.decode("a+b%2fc").as_deref(), Some("a b/c"));
/// assert_eq!(CookieEncoding::Uri.decode("%zz"), None);
/// assert_eq!(CookieEncoding::Base64.encode("id"), "aWQ=");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CookieEncoding {
    /// Ktor's `URI_ENCODING` (the default).
    #[default]
    Uri,
    /// Ktor's `BASE64_ENCODING`: standard alphabet with `=` padding.
    Base64,
    /// Ktor's `DQUOTES`: the value as is, wrapped in double quotes if it holds whitespace or
    /// `,`. A value holding `"`, `;`, a backslash or a control character cannot be written
    /// (Ktor would quote a `;`, but browsers end the cookie value there all the same).
    DoubleQuotes,
    /// Ktor's `RAW`: the value as is. Only for values you know are cookie-safe.
    Raw,
}

impl CookieEncoding {
    /// Ktor's name for the encoding, as in its `$x-enc` cookie attribute.
    pub fn ktor_name(self) -> &'static str {
        match self {
            CookieEncoding::Uri => "URI_ENCODING",
            CookieEncoding::Base64 => "BASE64_ENCODING",
            CookieEncoding::DoubleQuotes => "DQUOTES",
            CookieEncoding::Raw => "RAW",
        }
    }

    /// Encodes `value` for a cookie.
    pub fn encode(self, value: &str) -> Cow<'_, str> {
        match self {
            CookieEncoding::Uri => uri_encode(value),
            CookieEncoding::Base64 => Cow::Owned(STANDARD.encode(value)),
            CookieEncoding::DoubleQuotes => {
                if value
                    .bytes()
                    .any(|b| b <= b' ' || b == b';' || b == b',' || b == 0x7f)
                {
                    Cow::Owned(format!("\"{value}\""))
                } else {
                    Cow::Borrowed(value)
                }
            }
            CookieEncoding::Raw => Cow::Borrowed(value),
        }
    }

    /// Whether `value` can be written with this encoding into a `Set-Cookie` line without
    /// breaking it (only [`Raw`](CookieEncoding::Raw) and
    /// [`DoubleQuotes`](CookieEncoding::DoubleQuotes) can fail).
    pub fn can_encode(self, value: &str) -> bool {
        match self {
            CookieEncoding::Uri | CookieEncoding::Base64 => true,
            // Quotes protect spaces and commas, but browsers still end a value at `;`.
            CookieEncoding::DoubleQuotes => value
                .bytes()
                .all(|b| is_visible_or_space(b) && !matches!(b, b'"' | b';' | b'\\')),
            CookieEncoding::Raw => value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'"' && b != b'\\'),
        }
    }

    /// Decodes a cookie value; `None` if it is not valid in this encoding.
    pub fn decode(self, value: &str) -> Option<Cow<'_, str>> {
        match self {
            CookieEncoding::Uri => uri_decode(value),
            CookieEncoding::Base64 => {
                let bytes = LENIENT_PADDING.decode(value).ok()?;
                String::from_utf8(bytes).ok().map(Cow::Owned)
            }
            CookieEncoding::DoubleQuotes | CookieEncoding::Raw => Some(Cow::Borrowed(
                value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value),
            )),
        }
    }
}

const LENIENT_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn is_visible_or_space(b: u8) -> bool {
    b == b' ' || b == b'\t' || b.is_ascii_graphic()
}

/// Bit `b` is set for each unreserved ASCII byte `b`: `A-Z a-z 0-9 - . _ ~`.
const UNRESERVED: u128 = {
    let mut mask = 0u128;
    let mut b = 0u8;
    while b < 128 {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            mask |= 1 << b;
        }
        b += 1;
    }
    mask
};

fn is_unreserved(b: u8) -> bool {
    b < 128 && (UNRESERVED >> b) & 1 == 1
}

/// The same test as [`is_unreserved`], written as range checks without branches so that a
/// whole block of bytes is checked with vector instructions.
fn is_unreserved_branchless(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10)
        | ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
}

/// The index of the first byte that URI encoding changes. Values this library writes
/// (base64url, hex ids) have none, so the common case is a fast block-wise scan.
fn first_reserved(bytes: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let (blocks, _) = bytes.as_chunks::<BLOCK>();
    let clean = blocks
        .iter()
        .take_while(|block| {
            block
                .iter()
                .fold(true, |ok, &b| ok & is_unreserved_branchless(b))
        })
        .count();
    let start = clean * BLOCK;
    let rest = bytes.get(start..)?;
    rest.iter()
        .position(|&b| !is_unreserved(b))
        .map(|i| start + i)
}

/// Ktor's `encodeURLParameter(spaceToPlus = true)`.
pub(crate) fn uri_encode(value: &str) -> Cow<'_, str> {
    match first_reserved(value.as_bytes()) {
        None => Cow::Borrowed(value),
        Some(first) => Cow::Owned(percent::encode_from(
            value,
            first,
            is_unreserved,
            Space::Plus,
        )),
    }
}

/// Ktor's `decodeURLQueryComponent(plusIsSpace = true)`, failing on malformed input.
pub(crate) fn uri_decode(value: &str) -> Option<Cow<'_, str>> {
    percent::decode(value, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_scan_finds_the_first_reserved_byte() {
        for b in 0..=255u8 {
            assert_eq!(
                is_unreserved_branchless(b),
                is_unreserved(b),
                "byte {b:#04x}"
            );
        }
        let clean = "aZ09-._~".repeat(20);
        assert_eq!(first_reserved(clean.as_bytes()), None);
        for at in [0, 1, 31, 32, 33, 63, 64, 100, clean.len() - 1] {
            let mut bytes = clean.clone().into_bytes();
            bytes[at] = b'%';
            assert_eq!(first_reserved(&bytes), Some(at), "at {at}");
        }
        assert_eq!(first_reserved(b""), None);
    }

    #[test]
    fn the_unreserved_mask_is_rfc_3986s_set() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            assert_eq!(is_unreserved(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn uri_encoding_matches_ktor_vectors() {
        assert_eq!(
            uri_encode(r#"{"userId":"id1","cart":[]}"#),
            "%7B%22userId%22%3A%22id1%22%2C%22cart%22%3A%5B%5D%7D"
        );
        assert_eq!(
            uri_encode(
                r#"{"userId":"id 2","cart":[]}/0adc94dc04d0122b8139e88250ab61bcc01980ed3898eb4e557e2a749e17ab16"#
            ),
            "%7B%22userId%22%3A%22id+2%22%2C%22cart%22%3A%5B%5D%7D%2F0adc94dc04d0122b8139e88250ab61bcc01980ed3898eb4e557e2a749e17ab16"
        );
        assert_eq!(uri_encode("ab-._~09"), "ab-._~09");
        assert_eq!(uri_encode("é"), "%C3%A9");
    }

    #[test]
    fn uri_decoding_is_lenient_on_case_and_strict_on_garbage() {
        assert_eq!(uri_decode("%c3%A9+x").as_deref(), Some("é x"));
        assert_eq!(uri_decode("%"), None);
        assert_eq!(uri_decode("%4"), None);
        assert_eq!(uri_decode("%g0"), None);
        assert_eq!(uri_decode("%FF"), None, "invalid UTF-8");
        // Ktor < 2.2 left `/:` unescaped; those still decode.
        assert_eq!(uri_decode("a/b:c").as_deref(), Some("a/b:c"));
    }

    #[test]
    fn every_encoding_round_trips() {
        for enc in [
            CookieEncoding::Uri,
            CookieEncoding::Base64,
            CookieEncoding::DoubleQuotes,
        ] {
            for v in ["", "plain", "with space", "ü;,=\"", "{\"a\":[1,2]}"] {
                if !enc.can_encode(v) {
                    continue;
                }
                let e = enc.encode(v);
                assert_eq!(enc.decode(&e).as_deref(), Some(v), "{enc:?} {v:?}");
            }
        }
        assert!(!CookieEncoding::Raw.can_encode("a;b"));
        assert!(!CookieEncoding::DoubleQuotes.can_encode("a\"b"));
        assert!(!CookieEncoding::DoubleQuotes.can_encode("a;b"));
        assert!(CookieEncoding::DoubleQuotes.can_encode("a b,c"));
        assert_eq!(CookieEncoding::Base64.decode("aWQ").as_deref(), Some("id"));
        assert_eq!(CookieEncoding::Base64.decode("!!"), None);
    }
}
