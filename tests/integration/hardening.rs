//! Hardening (issue 8): logs never carry secrets, floods do not grow storage, caches are told
//! what varies.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get as route;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, TestUserSession, get, get_with, user_routes};

/// A `tracing` writer that appends to a file.
#[derive(Clone)]
struct ToFile(Arc<Mutex<std::fs::File>>);

impl Write for ToFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ToFile {
    type Writer = ToFile;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const LOG_FILE_VAR: &str = "TYPED_SESSIONS_TEST_LOG_FILE";

/// Runs a login, reads, invalid values, an outage and a logout with every log line at TRACE
/// level captured, then checks that no session value or id appears in the logs.
///
/// `tracing` caches per call site whether anyone listens, globally; a subscriber set for one
/// test thread can miss events while other tests run. So the scenario runs alone, in a child
/// process of this test binary, with a global subscriber writing to a file.
#[test]
fn logs_never_contain_session_values_or_ids() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("trace.log");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hardening::logged_scenario",
            "--ignored",
            "--test-threads=1",
        ])
        .env(LOG_FILE_VAR, &log)
        .status()
        .unwrap();
    assert!(status.success(), "the logged scenario failed");
    let logs = std::fs::read_to_string(&log).unwrap();
    let secrets = std::fs::read_to_string(log.with_file_name("secrets.txt")).unwrap();
    assert!(
        logs.contains("invalid session value"),
        "the run logged nothing useful:\n{logs}"
    );
    assert!(logs.contains("unknown or expired session id"), "{logs}");
    assert!(logs.contains("session storage failed"), "{logs}");
    assert!(logs.contains("session cleared"), "{logs}");
    let mut checked = 0;
    for secret in secrets.lines().filter(|l| !l.is_empty()) {
        assert!(
            !logs.contains(secret),
            "the logs contain {secret:?}:\n{logs}"
        );
        checked += 1;
    }
    assert!(checked >= 6, "too few secrets were recorded: {checked}");
}

/// The scenario of [`logs_never_contain_session_values_or_ids`]; run only as its child.
#[tokio::test]
#[ignore = "run by logs_never_contain_session_values_or_ids in a child process"]
async fn logged_scenario() {
    let log =
        std::path::PathBuf::from(std::env::var_os(LOG_FILE_VAR).expect("run by the parent test"));
    let file = std::fs::File::create(&log).unwrap();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(ToFile(Arc::new(Mutex::new(file))))
        .with_ansi(false)
        .init();

    let storage = ProbeStorage::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
        .cookie::<String>("v", |c| c.unprotected())
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

    let first = get(&router, "/set/first-user", None)
        .await
        .cookie_value("s")
        .unwrap();
    let login = get(&router, "/login", Some(&format!("s={first}"))).await;
    let id = login.cookie_value("s").unwrap();
    let value = login.cookie_value("v").unwrap();
    let cookies = format!("s={id}; v={value}");
    assert_eq!(
        get(&router, "/get", Some(&cookies)).await.body,
        "secret-user-name"
    );
    let unknown = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(
        get(&router, "/get", Some(&format!("s={unknown}")))
            .await
            .body,
        "none"
    );
    get(&router, "/value", Some("v=%22secret-garbage")).await;
    storage.fail(true);
    assert_eq!(get(&router, "/get", Some(&cookies)).await.status, 503);
    storage.fail(false);
    get(&router, "/clear", Some(&cookies)).await;

    let secrets = [
        first.as_str(),
        &first[..16],
        id.as_str(),
        &id[..16],
        "secret-user-name",
        "first-user",
        "secret-by-value",
        "secret-garbage",
        unknown,
        value.as_str(),
    ];
    std::fs::write(log.with_file_name("secrets.txt"), secrets.join("\n")).unwrap();
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
        .header::<String>("x-s", |h| h.unprotected())
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
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .header::<String>("x-api", |h| h.unprotected())
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

/// A record whose times were tampered with (a storage dump edited and restored, a far-future
/// file time) never panics the request path: reading, renewing, updating and ending it.
#[tokio::test]
async fn extreme_stored_times_never_panic() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use typed_sessions::storage::{Namespace, Record, SessionId, SessionStorage};

    let latest = UNIX_EPOCH + Duration::new(i64::MAX as u64, 999_999_999);
    let earliest = UNIX_EPOCH
        .checked_sub(Duration::from_secs(i64::MAX as u64))
        .unwrap();
    let now = SystemTime::now();
    for (created, expires) in [
        (latest, latest),
        (earliest, latest),
        (UNIX_EPOCH, latest),
        (latest - Duration::from_secs(1), latest),
        (earliest, now + Duration::from_secs(3600)),
    ] {
        let storage = ProbeStorage::default();
        let layer = SessionsConfig::new()
            .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| {
                c.lifetime(Duration::from_secs(3600))
                    .idle_timeout(Duration::from_secs(600))
                    .renew_after(0.0)
            })
            .build()
            .unwrap();
        let router = user_routes().layer(layer);
        let id = SessionId::generate();
        let record = Record::new(r#"{"userId":"u","cart":[]}"#, created, expires);
        storage
            .inner
            .create(Namespace::new("s").key(&id), &record, now)
            .await
            .unwrap();
        let cookie = format!("s={}", id.as_str());
        let read = get(&router, "/get", Some(&cookie)).await;
        assert_eq!(read.status, 200, "{created:?} {expires:?}");
        assert!(read.body == "u" || read.body == "none", "{}", read.body);
        assert_eq!(get(&router, "/set/v", Some(&cookie)).await.status, 200);
        assert_eq!(get(&router, "/clear", Some(&cookie)).await.status, 200);
    }
}

/// `Debug` of what the crate hands out never prints session data: records, unwrapped values,
/// what a custom id generator or challenge sees of the request.
#[test]
fn debug_output_never_shows_session_data() {
    use std::time::SystemTime;
    use typed_sessions::RequestInfo;
    use typed_sessions::auth::{Cause, ChallengeContext};
    use typed_sessions::storage::Record;
    use typed_sessions::transform::Unwrapped;

    let now = SystemTime::now();
    let record = Record::new(r#"{"token":"SECRET"}"#, now, now);
    let unwrapped = Unwrapped::new(r#"{"token":"SECRET"}"#.to_owned());
    let request = http::Request::get("/account?token=SECRET")
        .header(http::header::COOKIE, "user_session=SECRET")
        .header("x-api-session", "SECRET")
        .body(())
        .unwrap();
    let info = RequestInfo::of(&request);
    let challenge = ChallengeContext {
        cause: Cause::NoSession,
        request: request.into_parts().0,
    };
    let debug = format!("{record:?} {unwrapped:?} {info:?} {challenge:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(debug.contains("/account"), "{debug}");
}
