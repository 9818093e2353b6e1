//! Hardening (issue 8): logs never carry secrets, floods do not grow storage, caches are told
//! what varies.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get as route;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, TestUserSession, get, get_with, user_routes};

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_never_contain_session_values_or_ids() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let storage = ProbeStorage::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
        .cookie::<String>("v", |c| c)
        .build()
        .unwrap();
    let router = user_routes()
        .route(
            "/login",
            route(|s: Sessions| async move {
                s.set(TestUserSession::new("secret-user-name"))?;
                s.set(String::from("secret-by-value"))?;
                s.regenerate::<TestUserSession>().await?;
                Ok::<_, SessionError>("in")
            }),
        )
        .route(
            "/value",
            route(|s: Sessions| async move {
                Ok::<_, SessionError>(format!("{:?}", s.get::<String>().await?))
            }),
        )
        .layer(layer);

    let login = get(&router, "/login", None).await;
    let id = login.cookie_value("s").unwrap();
    let value = login.cookie_value("v").unwrap();
    let cookies = format!("s={id}; v={value}");
    assert_eq!(
        get(&router, "/get", Some(&cookies)).await.body,
        "secret-user-name"
    );
    // Invalid values, an unknown id and an outage all log something.
    get(
        &router,
        "/get",
        Some("s=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    )
    .await;
    get(&router, "/value", Some("v=%22secret-garbage")).await;
    storage.fail(true);
    get(&router, "/get", Some(&cookies)).await;
    storage.fail(false);
    get(&router, "/clear", Some(&cookies)).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("invalid session value"),
        "the run logged nothing useful:\n{logs}"
    );
    assert!(logs.contains("session storage failed"), "{logs}");
    for secret in [
        id.as_str(),
        &id[..16],
        "secret-user-name",
        "secret-by-value",
        "secret-garbage",
        "0123456789abcdef0123456789abcdef",
        value.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "the logs contain {secret:?}:\n{logs}"
        );
    }
}

#[tokio::test]
async fn a_flood_without_cookies_or_with_random_ids_stores_nothing() {
    let storage = ProbeStorage::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    for i in 0..500 {
        get(&router, "/get", None).await;
        let random = typed_sessions::SessionId::generate();
        let answer = get(&router, "/get", Some(&format!("s={}", random.as_str()))).await;
        assert_eq!(answer.body, "none");
        get(&router, "/untouched", Some(&format!("s=garbage{i}"))).await;
    }
    assert!(
        storage.inner.is_empty(),
        "anonymous or forged requests created sessions"
    );
    assert_eq!(storage.creates.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn oversized_headers_are_refused_cheaply() {
    let storage = ProbeStorage::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
        .header::<String>("x-s", |h| h)
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let huge_cookie = format!("s={}", "a".repeat(200_000));
    let answer = get(&router, "/get", Some(&huge_cookie)).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.as_str()),
        (200, "none")
    );
    assert_eq!(
        storage.calls(),
        0,
        "an oversized value never reaches the storage"
    );
    let huge_header = "b".repeat(100_000);
    let answer = get_with(&router, "/get", &[("x-s", &huge_header)]).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn vary_is_merged_with_the_application_s_own() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c)
        .header::<String>("x-api", |h| h)
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/both",
            route(|s: Sessions| async move {
                s.get::<TestUserSession>().await?;
                s.get::<String>().await?;
                Ok::<_, SessionError>(([(http::header::VARY, "Accept-Encoding")], "ok"))
            }),
        )
        .route(
            "/star",
            route(|s: Sessions| async move {
                s.get::<TestUserSession>().await?;
                Ok::<_, SessionError>(([(http::header::VARY, "*")], "ok"))
            }),
        )
        .route(
            "/already",
            route(|s: Sessions| async move {
                s.get::<TestUserSession>().await?;
                Ok::<_, SessionError>(([(http::header::VARY, "cookie")], "ok"))
            }),
        )
        .layer(layer);
    let both = get(&router, "/both", None).await;
    let vary: Vec<_> = both
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(vary, ["Accept-Encoding", "cookie", "x-api"]);
    let star = get(&router, "/star", None).await;
    assert_eq!(star.headers.get_all("vary").iter().count(), 1);
    let already = get(&router, "/already", None).await;
    assert_eq!(already.headers.get_all("vary").iter().count(), 1);
}
