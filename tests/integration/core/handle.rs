//! The per-request handle: lazy `get`, `set`, `clear`, `get_or_set`, write rules, and the errors
//! a handler can meet.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::routing::get as route;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{CountingJson, TestUserSession, get, user_routes};

fn counting_app(counter: &CountingJson) -> Router {
    let counter = counter.clone();
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().serializer(counter))
        .build()
        .unwrap();
    user_routes()
        .route(
            "/get-twice",
            route(|s: Sessions| async move {
                let a = s.get::<TestUserSession>().await?;
                let b = s.get::<TestUserSession>().await?;
                assert_eq!(a, b);
                Ok::<_, SessionError>("twice")
            }),
        )
        .layer(layer)
}

const COOKIE: &str = "s=%7B%22userId%22%3A%22id1%22%2C%22cart%22%3A%5B%5D%7D";

#[tokio::test]
async fn an_untouched_session_costs_no_decode_and_sends_nothing() {
    let counter = CountingJson::default();
    let router = counting_app(&counter);
    let answer = get(&router, "/untouched", Some(COOKIE)).await;
    assert_eq!(answer.body, "untouched");
    assert_eq!(counter.decodes.load(Ordering::SeqCst), 0);
    assert!(answer.set_cookies().is_empty());
    assert!(
        answer.header("vary").is_none(),
        "an untouched response does not vary"
    );
    assert!(answer.header("cache-control").is_none());
}

#[tokio::test]
async fn get_decodes_once_per_request() {
    let counter = CountingJson::default();
    let router = counting_app(&counter);
    let answer = get(&router, "/get-twice", Some(COOKIE)).await;
    assert_eq!(answer.body, "twice");
    assert_eq!(counter.decodes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn reading_never_resends_the_cookie() {
    // Ktor's testSetCookieNotAdded (Ktor 2.3.1+): only set or clear send.
    let router = counting_app(&CountingJson::default());
    let answer = get(&router, "/get", Some(COOKIE)).await;
    assert_eq!(answer.body, "id1");
    assert!(answer.set_cookies().is_empty());
    assert_eq!(
        answer.header("vary"),
        Some("cookie"),
        "a response that read a session varies on Cookie"
    );
    assert!(
        answer.header("cache-control").is_none(),
        "reading alone sends no session, so no no-store"
    );
}

#[tokio::test]
async fn set_sends_with_no_store_and_clear_sends_the_deletion_cookie() {
    let router = counting_app(&CountingJson::default());
    let set = get(&router, "/set/id1", None).await;
    assert_eq!(set.cookie_pair("s").unwrap(), COOKIE);
    assert_eq!(set.header("cache-control"), Some("no-store"));
    assert_eq!(set.header("vary"), Some("cookie"));

    let cleared = get(&router, "/clear", Some(COOKIE)).await;
    let removal = cleared.set_cookie("s").unwrap();
    assert!(
        removal.starts_with("s=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT;"),
        "{removal}"
    );
    // Clearing without a session in the request has nothing to delete on the client.
    let nothing = get(&router, "/clear", None).await;
    assert!(nothing.set_cookies().is_empty());
}

#[tokio::test]
async fn an_application_cache_control_is_kept() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/",
            route(|s: Sessions| async move {
                s.set(TestUserSession::new("x"))?;
                Ok::<_, SessionError>(([(http::header::CACHE_CONTROL, "private, max-age=5")], "ok"))
            }),
        )
        .layer(layer);
    let answer = get(&router, "/", None).await;
    assert_eq!(answer.header("cache-control"), Some("private, max-age=5"));
    assert!(answer.set_cookie("s").is_some());
}

#[tokio::test]
async fn get_or_set_and_set_then_get_in_one_request() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/",
            route(|s: Sessions| async move {
                let first = s.get_or_set(|| TestUserSession::new("made")).await?;
                let again = s.get_or_set(|| TestUserSession::new("other")).await?;
                let got = s.get::<TestUserSession>().await?;
                s.clear::<TestUserSession>()?;
                let after_clear = s.get::<TestUserSession>().await?;
                Ok::<_, SessionError>(format!(
                    "{} {} {:?} {:?}",
                    first.user_id,
                    again.user_id,
                    got.map(|u| u.user_id),
                    after_clear
                ))
            }),
        )
        .layer(layer);
    let answer = get(&router, "/", None).await;
    assert_eq!(answer.body, "made made Some(\"made\") None");
    // set then clear in one request, with nothing incoming: nothing is sent (Ktor's testSessionCreateDelete).
    assert!(answer.set_cookies().is_empty());
}

#[tokio::test]
async fn an_unregistered_type_is_a_clear_error() {
    #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
    struct Unknown;
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/",
            route(|s: Sessions| async move {
                let error = s.get::<Unknown>().await.unwrap_err();
                assert!(matches!(error, SessionError::NotRegistered { .. }));
                assert!(
                    error.to_string().contains("Unknown` is not registered"),
                    "{error}"
                );
                assert!(matches!(
                    s.set(Unknown),
                    Err(SessionError::NotRegistered { .. })
                ));
                assert!(matches!(
                    s.clear::<Unknown>(),
                    Err(SessionError::NotRegistered { .. })
                ));
                "checked"
            }),
        )
        .layer(layer);
    assert_eq!(get(&router, "/", None).await.body, "checked");
}

#[tokio::test]
async fn setting_after_the_response_left_is_an_error() {
    // Ktor's settingSessionAfterResponseTest.
    let (tx, rx) = tokio::sync::oneshot::channel::<Sessions>();
    let tx = std::sync::Mutex::new(Some(tx));
    let tx = std::sync::Arc::new(tx);
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/",
            route(move |s: Sessions| {
                let tx = tx.clone();
                async move {
                    s.get::<TestUserSession>().await.unwrap();
                    let _ = tx.lock().unwrap().take().unwrap().send(s);
                    "sent"
                }
            }),
        )
        .layer(layer);
    let answer = get(&router, "/", None).await;
    assert_eq!(answer.body, "sent");
    let late = rx.await.unwrap();
    let error = late.set(TestUserSession::new("late")).unwrap_err();
    assert!(matches!(error, SessionError::TooLate { .. }), "{error:?}");
    assert!(error.to_string().contains("already been sent"));
    assert!(matches!(
        late.clear::<TestUserSession>(),
        Err(SessionError::TooLate { .. })
    ));
}

#[tokio::test]
async fn send_only_if_modified_skips_equal_values_only() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().send_only_if_modified(true))
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    // Same value as the incoming one: not resent, even without a `get` first.
    let same = get(&router, "/set/id1", Some(COOKIE)).await;
    assert!(same.set_cookies().is_empty());
    // A different value is sent.
    let changed = get(&router, "/set/id2", Some(COOKIE)).await;
    assert!(changed.set_cookie("s").is_some());
    // Without an incoming session it is sent.
    assert!(
        get(&router, "/set/id1", None)
            .await
            .set_cookie("s")
            .is_some()
    );

    // Default off: an equal value is resent (Ktor's "sendOnlyIfModified default false").
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    assert!(
        get(&router, "/set/id1", Some(COOKIE))
            .await
            .set_cookie("s")
            .is_some()
    );
}

#[tokio::test]
async fn send_only_if_modified_sees_in_place_mutation() {
    // Ktor: "detects in-place mutation of same instance". Ours compares serialized forms.
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().send_only_if_modified(true))
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/mutate",
            route(|s: Sessions| async move {
                let mut session = s.get::<TestUserSession>().await?.unwrap();
                session.cart.push("item".into());
                s.set(session)?;
                Ok::<_, SessionError>("mutated")
            }),
        )
        .route(
            "/resave",
            route(|s: Sessions| async move {
                let session = s.get::<TestUserSession>().await?.unwrap();
                s.set(session)?;
                Ok::<_, SessionError>("resaved")
            }),
        )
        .layer(layer);
    assert!(
        get(&router, "/mutate", Some(COOKIE))
            .await
            .set_cookie("s")
            .is_some()
    );
    assert!(
        get(&router, "/resave", Some(COOKIE))
            .await
            .set_cookies()
            .is_empty()
    );
}

#[tokio::test]
async fn a_custom_serializer_is_used() {
    // Ktor's testCustomSerializer: `userId;cart1,cart2`.
    struct Custom;
    impl typed_sessions::serializer::SessionSerializer<TestUserSession> for Custom {
        fn serialize(
            &self,
            v: &TestUserSession,
        ) -> Result<String, typed_sessions::serializer::SerializerError> {
            Ok(format!("{};{}", v.user_id, v.cart.join(",")))
        }
        fn deserialize(
            &self,
            text: &str,
        ) -> Result<TestUserSession, typed_sessions::serializer::SerializerError> {
            let (user, cart) = text
                .split_once(';')
                .ok_or_else(|| typed_sessions::serializer::SerializerError::new("no ;"))?;
            Ok(TestUserSession {
                user_id: user.into(),
                cart: cart
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(Into::into)
                    .collect(),
            })
        }
    }
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().serializer(Custom))
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let answer = get(&router, "/set/abc", None).await;
    assert_eq!(answer.cookie_value("s").unwrap(), "abc%3B");
    assert_eq!(
        get(&router, "/get", Some("s=xyz%3Ba%2Cb")).await.body,
        "xyz"
    );
}

#[tokio::test]
async fn the_error_response_is_generic_and_not_cached() {
    use axum::response::IntoResponse;
    use http_body_util::BodyExt;
    let outage = SessionError::Storage(typed_sessions::storage::StorageError::unavailable(
        "10.0.0.7:6379 refused",
    ));
    let response = outage.into_response();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        &body[..],
        b"Service Unavailable",
        "no detail leaks to the client"
    );
    let too_large = SessionError::TooLarge {
        name: "s".into(),
        size: 5000,
        limit: 4096,
    };
    assert_eq!(too_large.into_response().status(), 500);
}

#[tokio::test]
async fn a_too_large_value_is_refused_at_set() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().max_age(Duration::from_secs(60)))
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/",
            route(|s: Sessions| async move {
                let big = TestUserSession {
                    user_id: "x".repeat(5000),
                    cart: vec![],
                };
                match s.set(big) {
                    Err(SessionError::TooLarge { size, limit, .. }) => {
                        format!("too large {size} > {limit}")
                    }
                    other => format!("unexpected {other:?}"),
                }
            }),
        )
        .layer(layer);
    let answer = get(&router, "/", None).await;
    assert!(answer.body.starts_with("too large "), "{}", answer.body);
    assert!(answer.body.ends_with(" > 4096"));
    assert!(answer.set_cookies().is_empty());
}
