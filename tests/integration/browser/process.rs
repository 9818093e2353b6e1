//! The demo server as a process: its API over plain HTTP (a session in a header, let
//! through by the CSRF protection), and its startup errors.

use std::process::{Command, Stdio};

use serde_json::json;

use super::CHILD;
use super::harness::{DemoServer, free_port};
use crate::support::servers::{temp_dir, watchdog};

/// The API's session travels in the `x-api-session` header: a token from the credentials, a
/// cart kept in that session, a JSON `401` without it, and the token's end.
#[test]
fn demo_api_keeps_its_session_in_a_header() {
    let dir = temp_dir("demo-api");
    watchdog(&dir);
    let server = DemoServer::start(free_port(), &dir.join("data"), &dir, 1);
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", server.port);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let api = reqwest::Client::new();
        let send = |request: reqwest::RequestBuilder| async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let header = response
                .headers()
                .get("x-api-session")
                .map(|v| v.to_str().unwrap().to_owned());
            let no_store = response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(no_store.as_deref(), Some("no-store"));
            let body = response.text().await.unwrap();
            (status, header, body)
        };
        let json = |request: reqwest::RequestBuilder, body: &'static str| {
            request
                .header("content-type", "application/json")
                .body(body)
        };

        let (status, _, body) = send(api.get(url("/api/cart"))).await;
        assert_eq!(status, 401);
        assert!(body.contains("POST /api/token"), "{body}");
        let wrong = r#"{"username":"alice","password":"nope"}"#;
        let (status, header, _) = send(json(api.post(url("/api/token")), wrong)).await;
        assert_eq!((status, header), (401, None));

        let right = r#"{"username":"alice","password":"wonderland"}"#;
        let (status, header, body) = send(json(api.post(url("/api/token")), right)).await;
        assert_eq!(status, 201, "{body}");
        let token = header.expect("the token leaves in the x-api-session header");
        let with_token = |request: reqwest::RequestBuilder| request.header("x-api-session", &token);
        let (status, _, body) = send(with_token(api.get(url("/api/cart")))).await;
        assert_eq!(status, 200);
        let cart: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            cart,
            json!({ "user": "alice", "items": [], "total_cents": 0 })
        );
        for _ in 0..2 {
            let add = json(with_token(api.post(url("/api/cart"))), r#"{"product":2}"#);
            assert_eq!(send(add).await.0, 200);
        }
        let unknown = json(with_token(api.post(url("/api/cart"))), r#"{"product":99}"#);
        assert_eq!(send(unknown).await.0, 404);
        let (_, _, body) = send(with_token(api.get(url("/api/cart")))).await;
        let cart: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            cart["items"],
            json!([{ "product": 2, "name": "Kotlin mug", "count": 2, "cents": 1200 }])
        );
        assert_eq!(cart["total_cents"], 2400);

        // A new token asked for with the current one: a new id, and the old one ends.
        let again = json(with_token(api.post(url("/api/token"))), right);
        let (status, header, _) = send(again).await;
        assert_eq!(status, 201);
        let new_token = header.expect("a new token");
        assert_ne!(new_token, token);
        let (status, _, _) = send(with_token(api.get(url("/api/cart")))).await;
        assert_eq!(status, 401, "the token the new one replaced is dead");
        let token = new_token;
        let with_token = |request: reqwest::RequestBuilder| request.header("x-api-session", &token);
        assert_eq!(send(with_token(api.get(url("/api/cart")))).await.0, 200);

        // A forged token (a valid-looking id without the demo key's signature) is no session.
        let forged = format!("{}x", &token[..token.len() - 1]);
        let (status, _, _) = send(api.get(url("/api/cart")).header("x-api-session", forged)).await;
        assert_eq!(status, 401);

        let (status, header, _) = send(with_token(api.delete(url("/api/token")))).await;
        assert_eq!(status, 204);
        assert_eq!(header.as_deref(), Some(""), "the header session is cleared");
        let (status, _, _) = send(with_token(api.get(url("/api/cart")))).await;
        assert_eq!(status, 401, "an ended token is dead");
    });
}

/// A storage the demo cannot open ends it at startup with a message and a non-zero exit
/// code, not a panic, and the message does not repeat the password in the URL.
#[test]
fn demo_exits_with_a_clear_error_when_the_storage_cannot_be_opened() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Without the feature the demo says which one to enable; with it, nothing listens there.
    let redis = "redis://:hunter2@127.0.0.1:1/0";
    let redis_error = if cfg!(feature = "redis") {
        "cannot open the session storage: session storage unavailable"
    } else {
        "needs the `redis` feature of typed-sessions (SESSION_STORAGE is redis (redis://***@127.0.0.1:1/0)); \
         run `cargo run --example demo --features redis`"
    };
    for (url, expected) in [
        (
            "mysql://user:hunter2@db/shop",
            "demo: unknown session storage scheme `mysql`",
        ),
        (redis, redis_error),
    ] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "browser::demo_server_process",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("PORT", free_port().to_string())
            .env("DEMO_DATA_DIR", dir.path())
            .env("SESSION_STORAGE", url)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(1), "{url}: {printed}");
        assert!(printed.contains(expected), "{url}: {printed}");
        assert!(!printed.contains("panicked"), "{url}: {printed}");
        assert!(!printed.contains("hunter2"), "{url}: {printed}");
    }
}
