//! Sessions over HTTP through a real storage: a round trip, and an outage with recovery.

use std::sync::Arc;
#[cfg(any(feature = "redis", feature = "postgres"))]
use std::time::{Duration, Instant};

use axum::Router;
use typed_sessions::SessionsConfig;
use typed_sessions::storage::{SessionId, SessionStorage};

#[cfg(any(feature = "redis", feature = "postgres"))]
use crate::common::get;
use crate::common::{TestUserSession, cookie_client, serve, session_key, user_routes};

fn app(storage: Arc<dyn SessionStorage>) -> Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage, |c| c.secure(false))
        .build()
        .unwrap();
    user_routes().layer(layer)
}

/// Login, read, change, logout through a real loopback HTTP server and a browser-like client.
pub async fn round_trip(storage: Arc<dyn SessionStorage>) {
    let addr = serve(app(storage.clone())).await;
    let client = cookie_client();
    let call = |path: &'static str| {
        let client = client.clone();
        async move {
            let response = client
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.text().await.unwrap()
        }
    };
    assert_eq!(call("/get").await, "none");
    assert_eq!(call("/set/alice").await, "set");
    assert_eq!(call("/get").await, "alice");
    let id = SessionId::parse(&call("/id").await).expect("a generated id");
    let stored = storage
        .load(session_key(&id), std::time::SystemTime::now())
        .await
        .unwrap()
        .expect("the session is in the storage");
    assert_eq!(stored.data, br#"{"userId":"alice","cart":[]}"#);
    assert_eq!(call("/set/bob").await, "set");
    assert_eq!(call("/get").await, "bob");
    assert_eq!(call("/id").await, id.as_str(), "same id after a change");
    assert_eq!(call("/clear").await, "cleared");
    assert_eq!(call("/get").await, "none");
    assert_eq!(
        storage
            .load(session_key(&id), std::time::SystemTime::now())
            .await
            .unwrap(),
        None,
        "logout deleted the record"
    );
}

/// Stops the backend mid-run: requests get 503 promptly and keep their cookie, nothing is
/// minted; after the restart the same cookie works again, with its data. (Used by the Redis and
/// PostgreSQL tests; SQLite has no server to stop.)
#[cfg(any(feature = "redis", feature = "postgres"))]
pub async fn outage_and_recovery(
    storage: Arc<dyn SessionStorage>,
    timeout: Duration,
    stop: impl FnOnce(),
    restart: impl FnOnce(),
) {
    let router = app(storage);
    let login = get(&router, "/set/alice", None).await;
    assert_eq!(login.status, 200);
    let cookie = login.cookie_pair("s").expect("a session cookie");
    assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "alice");

    tokio::task::block_in_place(stop);
    for path in ["/get", "/set/bob", "/clear", "/id", "/get"] {
        let started = Instant::now();
        let answer = get(&router, path, Some(&cookie)).await;
        let took = started.elapsed();
        assert_eq!(answer.status, 503, "{path} during the outage");
        assert!(
            answer.set_cookies().is_empty(),
            "{path}: the client's cookie is kept, nothing minted: {:?}",
            answer.set_cookies()
        );
        assert!(
            took <= timeout + Duration::from_millis(1500),
            "{path} took {took:?} with a {timeout:?} timeout"
        );
    }
    let anonymous = get(&router, "/set/mallory", None).await;
    assert_eq!(anonymous.status, 503, "no session minted during the outage");
    assert!(anonymous.set_cookies().is_empty());

    tokio::task::block_in_place(restart);
    let first = get(&router, "/get", Some(&cookie)).await;
    assert_eq!(
        (first.status.as_u16(), first.body.as_str()),
        (200, "alice"),
        "the first request after the restart works, with the session's data"
    );
    assert!(first.set_cookies().is_empty(), "the cookie is still good");
    let change = get(&router, "/set/bob", Some(&cookie)).await;
    assert_eq!(change.status, 200);
    assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "bob");
}
