//! The ported Ktor example `session-header-server`, over real HTTP, with its storage in a
//! temporary directory.

#[allow(dead_code)]
#[path = "../../../examples/session_header_server.rs"]
mod session_header_server;

use typed_sessions::storage::{DirectoryStorage, Namespace};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_header_server_logs_in_shows_the_cart_and_logs_out() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path().join("build/.sessions")).unwrap();
    let sign = crate::crypto::ktor_example_sign();
    let addr = common::serve(session_header_server::app(storage.clone(), sign)).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let empty = client.get(url("/cart")).send().await.unwrap();
    assert_eq!(empty.text().await.unwrap(), "Your basket is empty.");

    let login = client.get(url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let header = login
        .headers()
        .get("cart_session")
        .expect("the session id travels in the cart_session header")
        .clone();
    assert_eq!(login.text().await.unwrap(), "Successful login");
    // `<id>/<hex HMAC-SHA256 of the id>`, Ktor's signed form, with the example's key.
    let (raw_id, mac) = header.to_str().unwrap().rsplit_once('/').unwrap();
    let id = typed_sessions::SessionId::parse(raw_id).unwrap();
    assert_eq!(mac.len(), 64);
    assert!(
        mac.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    // A forged id (valid format, wrong MAC) finds nothing and creates nothing.
    let forged = client
        .get(url("/cart"))
        .header("cart_session", format!("{raw_id}/{}", "0".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.text().await.unwrap(), "Your basket is empty.");
    let file = storage
        .path_of(Namespace::new("cart_session").key(&id))
        .unwrap();
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(
        stored.ends_with(r#"{"userID":"123","productIDs":[1,3,7]}"#),
        "{stored}"
    );

    let cart = client
        .get(url("/cart"))
        .header("cart_session", header.clone())
        .send()
        .await
        .unwrap();
    assert!(
        cart.headers().get("cart_session").is_none(),
        "not resent when unchanged"
    );
    assert_eq!(cart.text().await.unwrap(), "Product IDs: [1, 3, 7]");

    let logout = client
        .get(url("/logout"))
        .header("cart_session", header.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.text().await.unwrap(), "Successful logout");
    assert!(!file.exists(), "logout removes the session file");

    let after = client
        .get(url("/cart"))
        .header("cart_session", header)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200);
    assert_eq!(after.text().await.unwrap(), "Your basket is empty.");
}
