//! Hostile session ids (T-12, V-K7) sent to a server whose sessions live in directory storages,
//! in both layouts and with a custom id generator: every one reads as "no session", nothing
//! answers 5xx, and no file or directory appears anywhere.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderValue, Request};
use serde::{Deserialize, Serialize};
use typed_sessions::storage::DirectoryStorage;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use super::tree;
use crate::common;

#[derive(Clone, Serialize, Deserialize)]
struct Hashed {
    n: u32,
}
#[derive(Clone, Serialize, Deserialize)]
struct KtorLayout {
    n: u32,
}
#[derive(Clone, Serialize, Deserialize)]
struct CustomIds {
    n: u32,
}

async fn probe(sessions: Sessions) -> Result<String, SessionError> {
    let hashed = sessions.get::<Hashed>().await?.is_some();
    let ktor = sessions.get::<KtorLayout>().await?.is_some();
    let custom = sessions.get::<CustomIds>().await?.is_some();
    Ok(format!("{hashed} {ktor} {custom}"))
}

/// The server: a hashed-layout storage behind a cookie, a Ktor-layout storage behind a header
/// (raw ids become paths there), and a Ktor-layout storage with custom ids behind a cookie.
/// The storages sit three levels down, so `../..` from them still lands inside `base`.
fn server(base: &std::path::Path) -> Router {
    let deep = base.join("a/b/c");
    let sessions = SessionsConfig::new()
        .cookie_with_storage::<Hashed, _>(
            "hashed",
            DirectoryStorage::open(deep.join("hashed")).unwrap(),
            |c| c,
        )
        .header_with_storage::<KtorLayout, _>(
            "ktor-session",
            DirectoryStorage::ktor_compatible(deep.join("ktor")).unwrap(),
            |h| h,
        )
        .cookie_with_storage::<CustomIds, _>(
            "custom",
            DirectoryStorage::ktor_compatible(deep.join("custom")).unwrap(),
            |c| c.identity(|_| "user-1".into()),
        )
        .build()
        .unwrap();
    Router::new().route("/probe", get(probe)).layer(sessions)
}

/// The hostile values, as raw bytes.
fn hostile() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = [
        "..",
        ".",
        "../../etc/passwd",
        "../../../../../../../../tmp/x",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "..\\..\\windows",
        "C:\\Windows\\win.ini",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..%2F..%2F",
        "%00",
        "a%00b",
        "ab/cd/ef.dat",
        "ab.dat",
        "-",
        "~",
        "$HOME",
        "x;y",
        "\"quoted\"",
        "",
        " ",
        "ünïcödé",
        "日本語",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    values.push(vec![b'a'; 10 * 1024]);
    values.push(vec![b'.'; 300]);
    values.push("A".repeat(64).into_bytes());
    values.push("0123456789abcdef".repeat(4).into_bytes()); // well formed, unknown
    values.push(vec![0xff, 0xfe, b'/', b'.', b'.']);
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_read_as_absent_and_touch_no_file() {
    let base = tempfile::tempdir().unwrap();
    let app = server(base.path());
    let before = tree(base.path());
    for value in hostile() {
        // As cookies (both cookie sessions at once) and as the header session's value.
        let mut cookie = b"hashed=".to_vec();
        cookie.extend_from_slice(&value);
        cookie.extend_from_slice(b"; custom=");
        cookie.extend_from_slice(&value);
        let mut request = Request::get("/probe").header(
            http::header::COOKIE,
            HeaderValue::from_bytes(&cookie).unwrap(),
        );
        if let Ok(header) = HeaderValue::from_bytes(&value) {
            request = request.header("ktor-session", header);
        }
        let answer = common::send(&app, request.body(Body::empty()).unwrap()).await;
        let shown = String::from_utf8_lossy(&value[..value.len().min(40)]).into_owned();
        assert_eq!(answer.status, 200, "{shown:?}");
        assert_eq!(answer.body, "false false false", "{shown:?}");
    }
    assert_eq!(
        tree(base.path()),
        before,
        "a hostile id created or removed a file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_over_real_http() {
    let base = tempfile::tempdir().unwrap();
    let addr = common::serve(server(base.path())).await;
    let before = tree(base.path());
    let client = reqwest::Client::new();
    for value in hostile() {
        let Ok(header) = reqwest::header::HeaderValue::from_bytes(&value) else {
            continue;
        };
        let mut cookie = b"hashed=".to_vec();
        cookie.extend_from_slice(&value);
        let answer = client
            .get(format!("http://{addr}/probe"))
            .header(
                reqwest::header::COOKIE,
                reqwest::header::HeaderValue::from_bytes(&cookie).unwrap(),
            )
            .header("ktor-session", header)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.text().await.unwrap(), "false false false");
    }
    assert_eq!(tree(base.path()), before);
}
