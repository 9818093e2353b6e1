//! The token of an HTML form: a bounded read of an `application/x-www-form-urlencoded` body
//! and the field that holds the token. The bytes read are handed on to the handler unchanged.

use std::borrow::Cow;

use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use super::rejection::CsrfRejection;
use crate::transport::encoding::uri_decode;

/// How much of a form body the layer reads by default (2 MiB, axum's default body limit).
pub const DEFAULT_FORM_LIMIT: usize = 2 * 1024 * 1024;

/// Whether the body is a URL-encoded form (`Content-Type` parameters are ignored).
pub(crate) fn is_urlencoded(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads the whole body, at most `limit` bytes: a declared or actual size over the limit is
/// [`CsrfRejection::FormTooLarge`], a body that fails to arrive
/// [`CsrfRejection::UnreadableBody`].
pub(crate) async fn read<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, CsrfRejection>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(CsrfRejection::FormTooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(CsrfRejection::FormTooLarge)
        }
        Err(_) => Err(CsrfRejection::UnreadableBody),
    }
}

/// The value of the first field called `name` in a URL-encoded form, decoded (`+` is a
/// space, `%XX` a byte). Pairs that do not decode are skipped.
pub(crate) fn field<'a>(form: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    form.split(|&b| b == b'&').find_map(|pair| {
        let (key, value) = match memchr::memchr(b'=', pair) {
            Some(eq) => (pair.get(..eq)?, pair.get(eq + 1..)?),
            None => (pair, &b""[..]),
        };
        let key = uri_decode(std::str::from_utf8(key).ok()?)?;
        if key != name {
            return None;
        }
        uri_decode(std::str::from_utf8(value).ok()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http_body_util::Full;

    #[test]
    fn finds_the_first_field_of_the_name() {
        let form = b"username=alice&csrf_token=abc-_1&csrf_token=second";
        assert_eq!(field(form, "csrf_token").as_deref(), Some("abc-_1"));
        assert_eq!(field(form, "username").as_deref(), Some("alice"));
        assert_eq!(field(form, "password"), None);
        assert_eq!(
            field(b"csrf%5Ftoken=a%2Bb+c", "csrf_token").as_deref(),
            Some("a+b c")
        );
        assert_eq!(field(b"csrf_token", "csrf_token").as_deref(), Some(""));
        assert_eq!(
            field(b"csrf_token=%zz&csrf_token=ok", "csrf_token").as_deref(),
            Some("ok"),
            "a pair that does not decode is skipped"
        );
        assert_eq!(field(b"xcsrf_token=1", "csrf_token"), None);
        assert_eq!(
            field(b"\xff=1&csrf_token=2", "csrf_token").as_deref(),
            Some("2")
        );
    }

    #[test]
    fn recognises_url_encoded_forms_only() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            is_urlencoded(&headers)
        };
        assert!(with("application/x-www-form-urlencoded"));
        assert!(with("Application/X-WWW-Form-URLEncoded; charset=UTF-8"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!with("text/plain"));
        assert!(!with("application/json"));
        assert!(!is_urlencoded(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn reads_up_to_the_limit() {
        let headers = HeaderMap::new();
        let body = |n: usize| Full::new(Bytes::from(vec![b'a'; n]));
        assert_eq!(read(&headers, body(10), 10).await.unwrap().len(), 10);
        assert_eq!(
            read(&headers, body(11), 10).await,
            Err(CsrfRejection::FormTooLarge)
        );
        let mut declared = HeaderMap::new();
        declared.insert(CONTENT_LENGTH, HeaderValue::from_static("1000"));
        assert_eq!(
            read(&declared, body(1), 10).await,
            Err(CsrfRejection::FormTooLarge),
            "refused on the declared length, before reading"
        );
    }
}
