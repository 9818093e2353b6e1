//! A client that creates one session per request (and never sends a cookie back) neither
//! evicts the users of a memory storage nor fills a persistent one without bound.

use std::sync::Arc;

use typed_sessions::SessionsConfig;
use typed_sessions::storage::{
    DirectoryStorage, MemoryStorage, QuotaStorage, SessionStorage, contract,
};

use crate::common::{TestUserSession, get, user_routes};
use crate::support::servers;

fn app(storage: Arc<dyn SessionStorage>) -> axum::Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage, |c| c.secure(false))
        .build()
        .unwrap();
    user_routes().layer(layer)
}

#[tokio::test]
async fn a_flood_of_new_sessions_does_not_evict_the_users_of_a_memory_storage() {
    let storage = Arc::new(MemoryStorage::with_capacity(500));
    let app = app(storage.clone());
    let mut users = Vec::new();
    for n in 0..200 {
        let login = get(&app, &format!("/set/user{n}"), None).await;
        let cookie = login.cookie_pair("s").unwrap();
        assert_eq!(
            get(&app, "/get", Some(&cookie)).await.body,
            format!("user{n}")
        );
        users.push((n, cookie));
    }
    for n in 0..5000 {
        assert_eq!(get(&app, &format!("/set/bot{n}"), None).await.status, 200);
    }
    assert!(storage.evictions() >= 4500, "{}", storage.evictions());
    for (n, cookie) in &users {
        assert_eq!(
            get(&app, "/get", Some(cookie)).await.body,
            format!("user{n}"),
            "a user in session was evicted by the flood"
        );
    }
}

#[tokio::test]
async fn a_quota_refuses_new_sessions_beyond_it_and_keeps_the_existing_ones() {
    let root = servers::temp_dir("quota");
    let storage: Arc<dyn SessionStorage> = Arc::new(QuotaStorage::new(
        DirectoryStorage::builder(&root)
            .durable(false)
            .open()
            .unwrap(),
        50,
    ));
    let app = app(storage.clone());
    let first = get(&app, "/set/ada", None).await;
    let ada = first.cookie_pair("s").unwrap();
    let mut refused = 0;
    for n in 0..100 {
        let answer = get(&app, &format!("/set/bot{n}"), None).await;
        match answer.status.as_u16() {
            200 => {}
            503 => {
                refused += 1;
                assert_eq!(
                    answer.cookie_pair("s"),
                    None,
                    "no session for a refused one"
                );
            }
            other => panic!("status {other}"),
        }
    }
    assert_eq!(refused, 51, "49 more fit beside ada's");
    let files = super::tree(&root)
        .iter()
        .filter(|p| root.join(p).is_file())
        .count();
    assert!(files <= 50, "{files} files");
    // The existing session works, changes, and a logout makes room.
    assert_eq!(get(&app, "/get", Some(&ada)).await.body, "ada");
    assert_eq!(get(&app, "/set/ada2", Some(&ada)).await.status, 200);
    assert_eq!(get(&app, "/clear", Some(&ada)).await.status, 200);
    assert_eq!(get(&app, "/set/late", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_under_a_quota_keeps_the_contract() {
    contract::run(|| async { QuotaStorage::new(MemoryStorage::new(), 1_000_000) }).await;
}
