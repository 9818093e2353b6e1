//! The codecs: the `Cookie` header scan, cookie value encodings, session ids, the serializers.

use http::{HeaderMap, HeaderValue, header::COOKIE};

use super::FuzzSession;
use crate::SessionId;
use crate::serializer::{Json, KtorLegacy, SessionSerializer};
use crate::transport::CookieEncoding;
use crate::transport::incoming::{Source, collect};

/// The `Cookie` header scan: any bytes, any number of headers, never a panic; every value it
/// returns lies inside one of the headers.
pub fn cookie_header(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for chunk in data.split(|&b| b == b'\n').take(8) {
        if let Ok(value) = HeaderValue::from_bytes(chunk) {
            headers.append(COOKIE, value);
        }
    }
    let sources = [
        Source::Cookie(b"s"[..].into()),
        Source::Cookie(b"user_session"[..].into()),
        Source::Header(http::HeaderName::from_static("x-s")),
    ];
    collect(&headers, &sources, |index, incoming| {
        assert!(index < sources.len());
        if let Some(text) = incoming.text(usize::MAX) {
            let needle = text.as_bytes();
            let inside = headers.get_all(COOKIE).iter().any(|h| {
                needle.is_empty() || h.as_bytes().windows(needle.len()).any(|w| w == needle)
            });
            assert!(inside, "a value that is not in any Cookie header");
            assert!(!text.contains(';'), "a value that spans two cookies");
        }
    });
}

/// Cookie value decoding in every encoding: never a panic; a decoded value re-encodes to
/// something that decodes to the same value.
pub fn cookie_value(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for encoding in [
        CookieEncoding::Uri,
        CookieEncoding::Base64,
        CookieEncoding::DoubleQuotes,
        CookieEncoding::Raw,
    ] {
        if let Some(decoded) = encoding.decode(text)
            && encoding.can_encode(&decoded)
        {
            let again = encoding.encode(&decoded);
            assert_eq!(
                encoding.decode(&again).as_deref(),
                Some(&*decoded),
                "{encoding:?}"
            );
        }
        // Encoding arbitrary text is lossless.
        if encoding.can_encode(text) {
            let encoded = encoding.encode(text);
            assert_eq!(
                encoding.decode(&encoded).as_deref(),
                Some(text),
                "{encoding:?}"
            );
        }
    }
}

/// Session id validation: never a panic; what it accepts is safe for every storage.
pub fn session_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for id in [SessionId::parse(text), SessionId::parse_custom(text)]
        .into_iter()
        .flatten()
    {
        let s = id.as_str();
        assert!(!s.is_empty() && s.len() <= 128);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_eq!(
            crate::id::Namespace::new("s").key(&id).storage_key().len(),
            64
        );
    }
}

/// The JSON deserializer: never a panic; what it accepts serializes and reads back equal.
pub fn json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed: Result<FuzzSession, _> = Json.deserialize(text);
    if let Ok(value) = parsed {
        let again = Json.serialize(&value).unwrap_or_default();
        let back: Result<FuzzSession, _> = Json.deserialize(&again);
        assert_eq!(back.ok(), Some(value));
    }
}

/// Ktor's legacy `#`-format reader: never a panic; what it accepts re-encodes into something
/// it reads back, equal unless the value holds one of the sequences Ktor's format cannot
/// escape (`&#` in a list item or a map key, `=#` in a map key).
pub fn ktor_legacy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed: Result<FuzzSession, _> = KtorLegacy.deserialize(text);
    let Ok(value) = parsed else {
        return;
    };
    let Ok(again) = KtorLegacy.serialize(&value) else {
        return;
    };
    let back: Result<FuzzSession, _> = KtorLegacy.deserialize(&again);
    let ambiguous =
        value.items.iter().any(|i| i.contains("&#")) || value.tags.keys().any(|k| k.contains("=#"));
    if !ambiguous {
        assert_eq!(back.ok(), Some(value));
    }
}
