//! By-id tracking: ids, storage access, unknown ids, accessors, outages.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::routing::get as route;
use typed_sessions::storage::{SessionId, SessionStorage};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, TestUserSession, get, session_key, user_routes};

fn app(storage: &ProbeStorage) -> Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
        .build()
        .unwrap();
    user_routes().layer(layer)
}

#[tokio::test]
async fn ids_are_64_hex_and_the_storage_holds_json() {
    // Ktor's testSessionById / testSessionByIdServer.
    let storage = ProbeStorage::default();
    let router = app(&storage);
    let set = get(&router, "/set/id1", None).await;
    let id = set.cookie_value("s").unwrap();
    let parsed = SessionId::parse(&id).expect("a 64-char lowercase hex id");
    let record = storage
        .inner
        .load(session_key(&parsed), std::time::SystemTime::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.data, br#"{"userId":"id1","cart":[]}"#);
    assert_eq!(
        get(&router, "/get", Some(&format!("s={id}"))).await.body,
        "id1"
    );
    assert_eq!(get(&router, "/id", Some(&format!("s={id}"))).await.body, id);
    // `bad<id>` is no session.
    assert_eq!(
        get(&router, "/get", Some(&format!("s=bad{id}"))).await.body,
        "none"
    );
}

#[tokio::test]
async fn untouched_sessions_do_not_reach_the_storage() {
    let storage = ProbeStorage::default();
    let router = app(&storage);
    let id = get(&router, "/set/id1", None)
        .await
        .cookie_value("s")
        .unwrap();
    let before = storage.calls();
    let answer = get(&router, "/untouched", Some(&format!("s={id}"))).await;
    assert!(answer.set_cookies().is_empty());
    assert_eq!(storage.calls(), before);
}

#[tokio::test]
async fn an_unknown_id_is_never_adopted() {
    // Ktor's testSessionByInvalidId.
    let storage = ProbeStorage::default();
    let router = app(&storage);
    let unknown = SessionId::generate();
    let set = get(
        &router,
        "/set/id1",
        Some(&format!("s={}", unknown.as_str())),
    )
    .await;
    let new_id = set.cookie_value("s").unwrap();
    assert_ne!(new_id, unknown.as_str());
    assert!(SessionId::parse(&new_id).is_some());
    // The same id is kept on the next set.
    let again = get(&router, "/set/id2", Some(&format!("s={new_id}"))).await;
    assert_eq!(again.cookie_value("s").unwrap(), new_id);
    // An unknown id with a get: no session, and the client's cookie is cleared.
    let read = get(&router, "/get", Some("s=invalid2")).await;
    assert_eq!(read.body, "none");
    let removal = read.set_cookie("s").unwrap();
    assert!(
        removal.starts_with("s=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        "{removal}"
    );
    // A malformed id never reaches the storage.
    let loads = storage.loads.load(Ordering::SeqCst);
    get(&router, "/get", Some("s=..%2F..%2Fetc%2Fpasswd")).await;
    assert_eq!(storage.loads.load(Ordering::SeqCst), loads);
}

#[tokio::test]
async fn accessors() {
    // Ktor's testSessionByIdAccessors: no id without a session; id of a by-value session fails.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct ByValue;
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", ProbeStorage::default(), |c| c)
        .cookie::<ByValue>("v", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/",
            route(|s: Sessions| async move {
                let none = s.id::<TestUserSession>().await?;
                let not_by_id = s.id::<ByValue>().await.unwrap_err();
                assert!(
                    matches!(not_by_id, SessionError::NotById { .. }),
                    "{not_by_id:?}"
                );
                s.set(TestUserSession::new("new"))?;
                // Decided before the response leaves (Ktor: null until then).
                let early = s.id::<TestUserSession>().await?.unwrap();
                Ok::<_, SessionError>(format!("{:?} {}", none, early.as_str()))
            }),
        )
        .layer(layer);
    let answer = get(&router, "/", None).await;
    let (none, early) = answer.body.split_once(' ').unwrap();
    assert_eq!(none, "None");
    assert_eq!(
        answer.cookie_value("s").unwrap(),
        early,
        "the id announced early is the one stored"
    );
}

#[tokio::test]
async fn set_without_get_updates_the_existing_session() {
    let storage = ProbeStorage::default();
    let router = app(&storage);
    let id = get(&router, "/set/id1", None)
        .await
        .cookie_value("s")
        .unwrap();
    let set = get(&router, "/set/id2", Some(&format!("s={id}"))).await;
    assert_eq!(set.cookie_value("s").unwrap(), id, "same session, same id");
    assert_eq!(storage.creates.load(Ordering::SeqCst), 1);
    assert_eq!(storage.updates.load(Ordering::SeqCst), 1);
    assert_eq!(
        get(&router, "/get", Some(&format!("s={id}"))).await.body,
        "id2"
    );
}

#[tokio::test]
async fn clear_deletes_the_record() {
    let storage = ProbeStorage::default();
    let router = app(&storage);
    let id = get(&router, "/set/id1", None)
        .await
        .cookie_value("s")
        .unwrap();
    let cleared = get(&router, "/clear", Some(&format!("s={id}"))).await;
    assert!(cleared.set_cookie("s").unwrap().contains("Max-Age=0"));
    assert_eq!(storage.deletes.load(Ordering::SeqCst), 1);
    assert!(storage.inner.is_empty());
    assert_eq!(
        get(&router, "/get", Some(&format!("s={id}"))).await.body,
        "none"
    );
}

#[tokio::test]
async fn send_only_if_modified_with_storage_does_not_rewrite() {
    let storage = ProbeStorage::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| {
            c.send_only_if_modified(true)
        })
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let id = get(&router, "/set/id1", None)
        .await
        .cookie_value("s")
        .unwrap();
    let same = get(&router, "/set/id1", Some(&format!("s={id}"))).await;
    assert!(same.set_cookies().is_empty());
    assert_eq!(storage.updates.load(Ordering::SeqCst), 0);
    let changed = get(&router, "/set/id2", Some(&format!("s={id}"))).await;
    assert!(changed.set_cookie("s").is_some());
    assert_eq!(storage.updates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_storage_outage_is_503_keeps_the_cookie_and_mints_nothing() {
    let storage = ProbeStorage::default();
    let router = app(&storage);
    let id = get(&router, "/set/id1", None)
        .await
        .cookie_value("s")
        .unwrap();
    storage.fail(true);
    let creates = storage.creates.load(Ordering::SeqCst);
    for path in ["/get", "/set/id2", "/clear"] {
        let answer = get(&router, path, Some(&format!("s={id}"))).await;
        assert_eq!(answer.status, 503, "{path}");
        assert_eq!(
            answer.body,
            if path == "/get" {
                "Service Unavailable"
            } else {
                ""
            },
            "{path}"
        );
        assert!(
            answer.set_cookies().is_empty(),
            "{path}: the client's cookie is kept"
        );
    }
    assert_eq!(
        storage.creates.load(Ordering::SeqCst),
        creates,
        "no session minted during the outage"
    );
    // Without an incoming session, a set during the outage fails too (nothing is half-written).
    assert_eq!(get(&router, "/set/id3", None).await.status, 503);
    storage.fail(false);
    assert_eq!(
        get(&router, "/get", Some(&format!("s={id}"))).await.body,
        "id1",
        "back without a restart"
    );
}

#[tokio::test]
async fn clear_by_id_ends_other_sessions_only() {
    // Ktor's testClearSessionById / testClearSessionByIdForMultipleDevices.
    let storage = ProbeStorage::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
        .build()
        .unwrap();
    let router = user_routes()
        .route(
            "/kill/{id}",
            route(
                |s: Sessions, axum::extract::Path(id): axum::extract::Path<String>| async move {
                    s.clear_by_id::<TestUserSession>(&id).await?;
                    Ok::<_, SessionError>("killed")
                },
            ),
        )
        .layer(layer);
    let a = get(&router, "/set/a", None)
        .await
        .cookie_value("s")
        .unwrap();
    let b = get(&router, "/set/b", None)
        .await
        .cookie_value("s")
        .unwrap();
    let c = get(&router, "/set/c", None)
        .await
        .cookie_value("s")
        .unwrap();
    let kill = get(&router, &format!("/kill/{b}"), Some(&format!("s={a}"))).await;
    assert_eq!(kill.body, "killed");
    assert!(
        kill.set_cookies().is_empty(),
        "the caller's own cookie is untouched"
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={a}"))).await.body,
        "a"
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={b}"))).await.body,
        "none"
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={c}"))).await.body,
        "c"
    );
    // A malformed id is an error, not a storage call.
    let bad = get(&router, "/kill/..", Some(&format!("s={a}"))).await;
    assert_eq!(bad.status, 500);
}

#[tokio::test]
async fn custom_identity() {
    // Ktor's testCustomSessionIdProvider: `custom-${n++}-${UA.take(5)}`.
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(1000));
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", ProbeStorage::default(), move |c| {
            c.identity(move |request| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let ua = request
                    .headers
                    .get("user-agent")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                format!("custom-{n}-{}", ua.chars().take(5).collect::<String>())
            })
        })
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let first = crate::common::get_with(&router, "/set/x", &[("user-agent", "TestBrowser")]).await;
    assert_eq!(first.cookie_value("s").unwrap(), "custom-1000-TestB");
    let second = crate::common::get_with(&router, "/set/y", &[("user-agent", "Mobile")]).await;
    assert_eq!(second.cookie_value("s").unwrap(), "custom-1001-Mobil");
    assert_eq!(
        get(&router, "/get", Some("s=custom-1000-TestB")).await.body,
        "x"
    );

    // A generator that makes an unsafe id is refused, not trusted.
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", ProbeStorage::default(), |c| {
            c.identity(|_| "../etc/passwd".into())
        })
        .build()
        .unwrap();
    let answer = get(&user_routes().layer(layer), "/set/x", None).await;
    assert_eq!(answer.status, 500);
    assert!(answer.set_cookies().is_empty());
}

/// A by-id session of `TestUserSession` in Ktor's legacy format, named `s`.
fn legacy_layer(storage: &ProbeStorage) -> typed_sessions::SessionsLayer {
    SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| {
            c.serializer(typed_sessions::serializer::KtorLegacy)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn by_id_with_the_backward_compatible_serializer() {
    // Ktor's testSessionByIdServerWithBackwardCompatibleSerialization.
    let storage = ProbeStorage::default();
    let router = user_routes().layer(legacy_layer(&storage));
    let id = get(&router, "/set/id2", None)
        .await
        .cookie_value("s")
        .unwrap();
    let record = storage
        .inner
        .load(
            session_key(&SessionId::parse(&id).unwrap()),
            std::time::SystemTime::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.data, b"userId=%23sid2&cart=%23cl");
    assert_eq!(
        get(&router, "/get", Some(&format!("s={id}"))).await.body,
        "id2"
    );
}

#[tokio::test]
async fn the_backward_compatible_serializer_refuses_an_ambiguous_list_at_set() {
    // `cart = ["a&#sb"]` would be written as `#cl#sa&#sb`, which reads back as two items: the
    // handler's `set` fails, and nothing is stored or sent.
    let storage = ProbeStorage::default();
    let router = Router::new()
        .route(
            "/set",
            route(|s: Sessions| async move {
                let value = TestUserSession {
                    user_id: "u".into(),
                    cart: vec!["a&#sb".into()],
                };
                match s.set(value) {
                    Err(SessionError::Serialize { .. }) => "refused",
                    Err(_) => "another error",
                    Ok(()) => "set",
                }
            }),
        )
        .layer(legacy_layer(&storage));
    let response = get(&router, "/set", None).await;
    assert_eq!(response.body, "refused");
    assert!(response.set_cookies().is_empty());
    assert_eq!(storage.calls(), 0);
}

#[tokio::test]
async fn an_unchanged_set_resends_the_cookie_without_a_storage_write() {
    let storage = ProbeStorage::default();
    let router = app(&storage);
    let id = get(&router, "/set/id1", None)
        .await
        .cookie_value("s")
        .unwrap();
    let again = get(&router, "/set/id1", Some(&format!("s={id}"))).await;
    assert_eq!(
        again.cookie_value("s").unwrap(),
        id,
        "Ktor resends on every set"
    );
    assert_eq!(
        storage.updates.load(Ordering::SeqCst),
        0,
        "the stored data did not change"
    );
}
