//! Relaxed durability: `synchronous_commit=off` on the storage's own connections only, the
//! same contract, and `durability=relaxed` from a URL.

use std::sync::Arc;

use typed_sessions::storage::sql::Durability;
use typed_sessions::storage::{PostgresStorage, open_url};

use super::table;
use crate::distributed::unique;
use crate::support::servers;

async fn synchronous_commit(storage: &PostgresStorage) -> String {
    let (setting,): (String,) = sqlx::query_as("SHOW synchronous_commit")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    setting
}

async fn relaxed(test: &str) -> Option<PostgresStorage> {
    let server = servers::postgres(test)?;
    Some(
        PostgresStorage::builder()
            .table(table())
            .durability(Durability::Relaxed)
            .connect(&server.url())
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxed_storages_commit_without_waiting_and_only_they_do() {
    let Some(storage) = relaxed("relaxed durability").await else {
        return;
    };
    assert_eq!(synchronous_commit(&storage).await, "off");
    let full = super::fresh("full durability").await.unwrap();
    assert_eq!(
        synchronous_commit(&full).await,
        "on",
        "the default waits for the disk"
    );
    // The server's setting for everybody else is untouched.
    let server = servers::postgres("relaxed durability").unwrap();
    let (setting,): (String,) = sqlx::query_as("SHOW synchronous_commit")
        .fetch_one(&sqlx::PgPool::connect(&server.url()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(setting, "on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relaxed_storage_keeps_the_contract() {
    if relaxed("relaxed contract probe").await.is_none() {
        return;
    }
    typed_sessions::storage::contract::run(|| async { relaxed("relaxed contract").await.unwrap() })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_chooses_the_durability() {
    let Some(server) = servers::postgres("relaxed url") else {
        return;
    };
    let url = format!("{}?table=d_{}&durability=relaxed", server.url(), unique());
    let storage: Arc<dyn typed_sessions::storage::SessionStorage> = open_url(&url).await.unwrap();
    assert_eq!(storage.backend(), "postgres");
    let bad = format!("{}?durability=sometimes", server.url());
    assert!(open_url(&bad).await.is_err());
}
