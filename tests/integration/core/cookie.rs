//! Cookie attributes, exact `Set-Cookie` strings, encodings, and the deletion cookie.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use typed_sessions::clock::ManualClock;
use typed_sessions::{CookieEncoding, SameSite, SessionsConfig};

use crate::common::{TestUserSession, get, user_routes};

const JSON_ID1: &str = "%7B%22userId%22%3A%22id1%22%2C%22cart%22%3A%5B%5D%7D";

/// 2023-11-14T22:13:20Z.
fn fixed_clock() -> ManualClock {
    let clock = ManualClock::new();
    clock.set(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    clock
}

fn app(
    configure: impl FnOnce(
        typed_sessions::SessionBuilder<TestUserSession>,
    ) -> typed_sessions::SessionBuilder<TestUserSession>,
) -> axum::Router {
    let layer = SessionsConfig::new()
        .clock(fixed_clock())
        // The tests read the cookie's plain JSON.
        .cookie::<TestUserSession>("user_session", |c| configure(c.unprotected()))
        .build()
        .unwrap();
    user_routes().layer(layer)
}

#[tokio::test]
async fn secure_defaults_exact_string() {
    let answer = get(&app(|c| c), "/set/id1", None).await;
    assert_eq!(
        answer.set_cookie("user_session").unwrap(),
        format!(
            "user_session={JSON_ID1}; Max-Age=604800; Expires=Tue, 21 Nov 2023 22:13:20 GMT; \
             Path=/; Secure; HttpOnly; SameSite=Lax"
        )
    );
}

#[tokio::test]
async fn ktor_defaults_exact_string() {
    let answer = get(&app(|c| c.ktor_defaults()), "/set/id1", None).await;
    assert_eq!(
        answer.set_cookie("user_session").unwrap(),
        format!(
            "user_session={JSON_ID1}; Max-Age=604800; Expires=Tue, 21 Nov 2023 22:13:20 GMT; \
             Path=/; HttpOnly; $x-enc=URI_ENCODING"
        )
    );
}

#[tokio::test]
async fn every_attribute() {
    let router = app(|c| {
        c.path("/shop")
            .domain("foo.bar")
            .max_age(Duration::from_secs(3600))
            .same_site(SameSite::Strict)
            .attribute("Partitioned", None)
            .attribute("Priority", Some("High"))
    });
    let answer = get(&router, "/set/id1", None).await;
    assert_eq!(
        answer.set_cookie("user_session").unwrap(),
        format!(
            "user_session={JSON_ID1}; Max-Age=3600; Expires=Tue, 14 Nov 2023 23:13:20 GMT; \
             Domain=foo.bar; Path=/shop; Secure; HttpOnly; SameSite=Strict; Partitioned; Priority=High"
        )
    );
    // The deletion cookie carries every configured attribute.
    let cleared = get(&router, "/clear", Some(&format!("user_session={JSON_ID1}"))).await;
    assert_eq!(
        cleared.set_cookie("user_session").unwrap(),
        "user_session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=foo.bar; \
         Path=/shop; Secure; HttpOnly; SameSite=Strict; Partitioned; Priority=High"
    );
}

#[tokio::test]
async fn flags_can_be_turned_off() {
    let router = app(|c| c.secure(false).http_only(false).same_site(None).no_path());
    let answer = get(&router, "/set/id1", None).await;
    let cookie = answer.set_cookie("user_session").unwrap();
    assert!(
        cookie.ends_with("GMT"),
        "no attribute after Expires: {cookie}"
    );
}

#[tokio::test]
async fn browser_session_cookie_has_neither_max_age_nor_expires() {
    // Ktor's testHttpSessionCookie.
    let answer = get(&app(|c| c.max_age(None)), "/set/id1", None).await;
    let cookie = answer.set_cookie("user_session").unwrap();
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    assert!(!cookie.contains("Expires"), "{cookie}");
}

#[tokio::test]
async fn zero_max_age_deletes_at_once() {
    let answer = get(&app(|c| c.max_age(Duration::ZERO)), "/set/id1", None).await;
    let cookie = answer.set_cookie("user_session").unwrap();
    assert!(cookie.contains("; Max-Age=0; Path=/"), "{cookie}");
    assert!(!cookie.contains("Expires"), "{cookie}");
}

#[tokio::test]
async fn long_and_overflowing_max_age_clamp_to_i32_max() {
    // Ktor's testSessionLongDuration and testSessionOverflowDuration.
    for max_age in [
        Duration::from_secs(36500 * 86400),
        Duration::from_secs(u64::MAX),
    ] {
        let answer = get(&app(|c| c.max_age(max_age)), "/set/id1", None).await;
        let cookie = answer.set_cookie("user_session").unwrap();
        assert!(
            cookie.contains("; Max-Age=2147483647; Expires="),
            "{cookie}"
        );
    }
}

#[tokio::test]
async fn expires_follows_the_real_clock() {
    // Ktor's testSessionByIdCookie: Expires within [before + max age, after + max age].
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().max_age(Duration::from_secs(5)))
        .build()
        .unwrap();
    let before = SystemTime::now();
    let answer = get(&user_routes().layer(layer), "/set/id1", None).await;
    let after = SystemTime::now();
    let cookie = answer.set_cookie("s").unwrap();
    assert!(cookie.contains("; Max-Age=5; "), "{cookie}");
    let expires = cookie
        .split("Expires=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let expires = httpdate::parse_http_date(expires).unwrap();
    let floor = |t: SystemTime| {
        UNIX_EPOCH + Duration::from_secs(t.duration_since(UNIX_EPOCH).unwrap().as_secs())
    };
    assert!(
        expires >= floor(before) + Duration::from_secs(5),
        "{cookie}"
    );
    assert!(expires <= floor(after) + Duration::from_secs(5), "{cookie}");
}

#[tokio::test]
async fn encodings_write_and_read_back() {
    for (encoding, value) in [
        (CookieEncoding::Uri, JSON_ID1.to_owned()),
        (
            CookieEncoding::Base64,
            "eyJ1c2VySWQiOiJpZDEiLCJjYXJ0IjpbXX0=".to_owned(),
        ),
    ] {
        let router = app(|c| c.encoding(encoding));
        let answer = get(&router, "/set/id1", None).await;
        assert_eq!(
            answer.cookie_value("user_session").unwrap(),
            value,
            "{encoding:?}"
        );
        let back = get(
            &router,
            "/get",
            Some(&answer.cookie_pair("user_session").unwrap()),
        )
        .await;
        assert_eq!(back.body, "id1", "{encoding:?}");
    }
}

#[tokio::test]
async fn raw_and_quoted_encodings_refuse_values_that_would_break_the_cookie() {
    // JSON has `"` and `,`: neither raw nor double-quoted encoding can carry it, and `set`
    // says so instead of sending a broken cookie.
    for encoding in [CookieEncoding::Raw, CookieEncoding::DoubleQuotes] {
        let answer = get(&app(|c| c.encoding(encoding)), "/set/id1", None).await;
        assert_eq!(answer.status, 500, "{encoding:?}");
        assert!(answer.set_cookies().is_empty(), "{encoding:?}");
    }
}

#[tokio::test]
async fn uri_decoding_accepts_lowercase_escapes_and_the_raw_set_cookie_value() {
    let router = app(|c| c);
    let lower = JSON_ID1.to_lowercase().replace("userid", "userId");
    let answer = get(&router, "/get", Some(&format!("user_session={lower}"))).await;
    assert_eq!(answer.body, "id1");
    // Ktor accepts unencoded JSON in a Cookie header (its auth tests send `S={"id":1}`).
    let raw = get(
        &router,
        "/get",
        Some(r#"user_session={"userId":"raw","cart":[]}"#),
    )
    .await;
    assert_eq!(raw.body, "raw");
}
