//! Storages behind the sessions layer: bounds, expiry and sweeps, regeneration and logout.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use typed_sessions::clock::{Clock, ManualClock};
use typed_sessions::storage::{
    DirectoryStorage, MemoryStorage, Namespace, SessionKey, SessionStorage,
};
use typed_sessions::{SessionError, SessionId, Sessions, SessionsConfig};

use super::tree;
use crate::common::{self, Answer};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cart {
    items: Vec<u32>,
}

const LIFETIME: Duration = Duration::from_secs(600);

fn app(storage: impl SessionStorage, clock: ManualClock) -> Router {
    async fn login(sessions: Sessions) -> Result<&'static str, SessionError> {
        sessions.set(Cart { items: vec![1] })?;
        Ok("in")
    }
    async fn cart(sessions: Sessions) -> Result<String, SessionError> {
        Ok(match sessions.get::<Cart>().await? {
            Some(cart) => format!("{:?}", cart.items),
            None => "none".into(),
        })
    }
    async fn logout(sessions: Sessions) -> Result<&'static str, SessionError> {
        sessions.clear::<Cart>()?;
        Ok("out")
    }
    async fn regenerate(sessions: Sessions) -> Result<&'static str, SessionError> {
        sessions.regenerate::<Cart>().await?;
        Ok("regenerated")
    }
    let sessions = SessionsConfig::new()
        .clock(clock)
        .cookie_with_storage::<Cart, _>("cart", storage, |c| c.lifetime(LIFETIME))
        .build()
        .unwrap();
    Router::new()
        .route("/login", get(login))
        .route("/cart", get(cart))
        .route("/logout", get(logout))
        .route("/regenerate", get(regenerate))
        .layer(sessions)
}

/// `id` in the namespace of the `cart` session.
fn cart_key(id: &SessionId) -> SessionKey<'_> {
    static CART: std::sync::LazyLock<Namespace> =
        std::sync::LazyLock::new(|| Namespace::new("cart"));
    CART.key(id)
}

fn id_of(answer: &Answer) -> SessionId {
    SessionId::parse(&answer.cookie_value("cart").unwrap()).unwrap()
}

#[tokio::test]
async fn a_flood_of_logins_stays_within_the_memory_storage_bound() {
    let storage = Arc::new(MemoryStorage::with_capacity(50));
    let app = app(Arc::clone(&storage), ManualClock::new());
    let mut last = None;
    for _ in 0..500 {
        let answer = common::get(&app, "/login", None).await;
        assert_eq!(answer.status, 200);
        last = answer.cookie_pair("cart");
        assert!(storage.len() <= 50);
    }
    assert!(storage.evictions() >= 450, "{}", storage.evictions());
    // The newest session survives the flood.
    let answer = common::get(&app, "/cart", last.as_deref()).await;
    assert_eq!(answer.body, "[1]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_directory_sessions_read_as_absent_and_the_sweep_removes_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(DirectoryStorage::open(dir.path()).unwrap());
    let clock = ManualClock::new();
    let app = app(Arc::clone(&storage), clock.clone());
    let mut cookies = Vec::new();
    for _ in 0..10 {
        let answer = common::get(&app, "/login", None).await;
        assert!(storage.path_of(cart_key(&id_of(&answer))).unwrap().exists());
        cookies.push(answer.cookie_pair("cart").unwrap());
    }
    let files = |root: &std::path::Path| tree(root).iter().filter(|p| p.contains('/')).count();
    assert_eq!(files(dir.path()), 10);
    for cookie in &cookies {
        assert_eq!(common::get(&app, "/cart", Some(cookie)).await.body, "[1]");
    }
    clock.advance(LIFETIME);
    for cookie in &cookies {
        assert_eq!(common::get(&app, "/cart", Some(cookie)).await.body, "none");
    }
    assert_eq!(files(dir.path()), 10, "expired files stay until a sweep");
    assert_eq!(storage.delete_expired(clock.now()).await.unwrap(), 10);
    assert_eq!(files(dir.path()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regenerate_moves_a_directory_session_and_kills_the_old_id() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(DirectoryStorage::open(dir.path()).unwrap());
    let app = app(Arc::clone(&storage), ManualClock::new());
    let login = common::get(&app, "/login", None).await;
    let old = login.cookie_pair("cart").unwrap();
    let regenerated = common::get(&app, "/regenerate", Some(&old)).await;
    let new = regenerated.cookie_pair("cart").unwrap();
    assert_ne!(old, new);
    assert!(!storage.path_of(cart_key(&id_of(&login))).unwrap().exists());
    assert!(
        storage
            .path_of(cart_key(&id_of(&regenerated)))
            .unwrap()
            .exists()
    );
    assert_eq!(common::get(&app, "/cart", Some(&old)).await.body, "none");
    assert_eq!(common::get(&app, "/cart", Some(&new)).await.body, "[1]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_deletes_the_session_file() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(DirectoryStorage::open(dir.path()).unwrap());
    let app = app(Arc::clone(&storage), ManualClock::new());
    let login = common::get(&app, "/login", None).await;
    let cookie = login.cookie_pair("cart").unwrap();
    let file = storage.path_of(cart_key(&id_of(&login))).unwrap();
    assert!(file.exists());
    assert_eq!(
        common::get(&app, "/logout", Some(&cookie)).await.body,
        "out"
    );
    assert!(!file.exists());
    assert_eq!(common::get(&app, "/cart", Some(&cookie)).await.body, "none");
}
