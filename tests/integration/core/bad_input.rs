//! Bad input from clients: never a panic, never a 5xx; the session reads as absent and the
//! response clears it.

use axum::body::Body;
use http::Request;
use typed_sessions::storage::MemoryStorage;
use typed_sessions::{CookieEncoding, SessionsConfig};

use crate::common::{TestUserSession, get, send, user_routes};

fn by_value(encoding: CookieEncoding) -> axum::Router {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().encoding(encoding))
        .build()
        .unwrap();
    user_routes().layer(layer)
}

fn by_id() -> axum::Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", MemoryStorage::new(), |c| c)
        .build()
        .unwrap();
    user_routes().layer(layer)
}

async fn assert_absent_and_cleared(router: &axum::Router, cookie: &str) {
    let answer = get(router, "/get", Some(cookie)).await;
    assert_eq!(answer.status, 200, "{cookie:?}");
    assert_eq!(answer.body, "none", "{cookie:?}");
    let removal = answer
        .set_cookie("s")
        .unwrap_or_else(|| panic!("no removal for {cookie:?}"));
    assert!(removal.starts_with("s=; Max-Age=0;"), "{removal}");
}

#[tokio::test]
async fn malformed_values_read_as_absent_and_are_cleared() {
    let uri = by_value(CookieEncoding::Uri);
    for cookie in [
        "s=%zz",
        "s=%",
        "s=%7",
        "s=%FF%FE",
        "s=not-json",
        "s=%7B%22userId%22%3A1%7D",
        "s=%7B%22userId%22%3A%22a%22%2C%22cart%22%3A%5B%5D%2C%22extra%22%3A%7B",
        "s=",
        "s=\"\"",
    ] {
        assert_absent_and_cleared(&uri, cookie).await;
    }
    let base64 = by_value(CookieEncoding::Base64);
    for cookie in ["s=!!!", "s=%%%", "s=YQ", "s=/w=="] {
        assert_absent_and_cleared(&base64, cookie).await;
    }
    let id = by_id();
    for cookie in [
        "s=unknown",
        "s=..",
        "s=..%2F..%2Fetc%2Fpasswd",
        "s=a%2Fb",
        "s=a%5Cb",
        "s=a%00b",
        "s=%C3%BC",
    ] {
        assert_absent_and_cleared(&id, cookie).await;
    }
    let long_id = format!("s={}", "a".repeat(10_000));
    let answer = get(&id, "/get", Some(&long_id)).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "none")
    );
}

#[tokio::test]
async fn non_utf8_bytes_in_cookie_or_header_read_as_absent() {
    let router = by_value(CookieEncoding::Uri);
    let request = Request::get("/get")
        .header(
            "cookie",
            http::HeaderValue::from_bytes(b"s=\xff\xfe\x80").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let answer = send(&router, request).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "none")
    );
    assert!(answer.set_cookie("s").unwrap().contains("Max-Age=0"));

    let layer = SessionsConfig::new()
        .header::<TestUserSession>("x-s", |h| h.unprotected())
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let request = Request::get("/get")
        .header("x-s", http::HeaderValue::from_bytes(b"{\xff\xfe}").unwrap())
        .body(Body::empty())
        .unwrap();
    let answer = send(&router, request).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "none")
    );
}

#[tokio::test]
async fn a_huge_cookie_header_is_not_parsed() {
    let router = by_value(CookieEncoding::Uri);
    let huge = format!(
        "s=%7B%22userId%22%3A%22id1%22%2C%22cart%22%3A%5B%5D%7D; pad={}",
        "x".repeat(100_000)
    );
    let answer = get(&router, "/get", Some(&huge)).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "none")
    );
    // An oversized session value (browsers cap cookies at 4 KiB) is invalid and cleared.
    assert_absent_and_cleared(&router, &format!("s={}", "a".repeat(5000))).await;
}

#[tokio::test]
async fn a_repeated_cookie_name_uses_the_first_occurrence() {
    let router = by_value(CookieEncoding::Uri);
    let one = "%7B%22userId%22%3A%22one%22%2C%22cart%22%3A%5B%5D%7D";
    let two = "%7B%22userId%22%3A%22two%22%2C%22cart%22%3A%5B%5D%7D";
    assert_eq!(
        get(&router, "/get", Some(&format!("s={one}; s={two}")))
            .await
            .body,
        "one"
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={two}; s={one}")))
            .await
            .body,
        "two"
    );
    // A broken first occurrence is not skipped in favour of a later valid one.
    assert_eq!(
        get(&router, "/get", Some(&format!("s=%zz; s={one}")))
            .await
            .body,
        "none"
    );
}

#[tokio::test]
async fn session_ids_in_the_url_are_ignored() {
    // OWASP: ids sent by other means than the configured transport are not accepted.
    let router = by_id();
    let id = get(&router, "/set/id1", None)
        .await
        .cookie_value("s")
        .unwrap();
    let answer = get(&router, &format!("/get?s={id}"), None).await;
    assert_eq!(answer.body, "none");
}
