//! The header transport: raw values, sent only when set, sent back by the client.

use typed_sessions::SessionsConfig;
use typed_sessions::storage::MemoryStorage;

use crate::common::{TestUserSession, get, get_with, user_routes};

#[tokio::test]
async fn by_value_header_round_trip() {
    let layer = SessionsConfig::new()
        .header::<TestUserSession>("x-session", |h| h.unprotected())
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let set = get(&router, "/set/id1", None).await;
    // The value is raw, not URL-encoded (Ktor §3.11).
    assert_eq!(
        set.header("x-session"),
        Some(r#"{"userId":"id1","cart":[]}"#)
    );
    assert_eq!(set.header("vary"), Some("x-session"));
    assert_eq!(set.header("cache-control"), Some("no-store"));
    assert!(set.set_cookies().is_empty());

    let value = set.header("x-session").unwrap().to_owned();
    let read = get_with(&router, "/get", &[("x-session", &value)]).await;
    assert_eq!(read.body, "id1");
    assert!(read.header("x-session").is_none(), "not echoed on a read");

    // A cookie with the same name is not the header.
    let cookie = get(&router, "/get", Some(&format!("x-session={value}"))).await;
    assert_eq!(cookie.body, "none");
}

#[tokio::test]
async fn clearing_a_header_session_sends_an_empty_value() {
    let layer = SessionsConfig::new()
        .header::<TestUserSession>("x-session", |h| h.unprotected())
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let cleared = get_with(
        &router,
        "/clear",
        &[("x-session", r#"{"userId":"id1","cart":[]}"#)],
    )
    .await;
    assert_eq!(cleared.header("x-session"), Some(""));
    let nothing_in = get(&router, "/clear", None).await;
    assert!(nothing_in.header("x-session").is_none());
    // An empty value reads as no session.
    assert_eq!(
        get_with(&router, "/get", &[("x-session", "")]).await.body,
        "none"
    );
}

#[tokio::test]
async fn by_id_header_round_trip() {
    let layer = SessionsConfig::new()
        .header_with_storage::<TestUserSession, _>("cart_session", MemoryStorage::new(), |h| h)
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let set = get(&router, "/set/id1", None).await;
    let id = set.header("cart_session").unwrap().to_owned();
    assert_eq!(id.len(), 64);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(
        get_with(&router, "/get", &[("cart_session", &id)])
            .await
            .body,
        "id1"
    );
    assert_eq!(
        get_with(&router, "/clear", &[("cart_session", &id)])
            .await
            .body,
        "cleared"
    );
    // After clear the old value finds nothing.
    assert_eq!(
        get_with(&router, "/get", &[("cart_session", &id)])
            .await
            .body,
        "none"
    );
}

#[tokio::test]
async fn header_send_only_if_modified() {
    // Ktor's "sendOnlyIfModified header session does not resend unchanged value".
    let layer = SessionsConfig::new()
        .header::<TestUserSession>("x-session", |h| h.unprotected().send_only_if_modified(true))
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let value = r#"{"userId":"id1","cart":[]}"#;
    assert!(
        get_with(&router, "/set/id1", &[("x-session", value)])
            .await
            .header("x-session")
            .is_none()
    );
    assert!(
        get_with(&router, "/set/id2", &[("x-session", value)])
            .await
            .header("x-session")
            .is_some()
    );
}
