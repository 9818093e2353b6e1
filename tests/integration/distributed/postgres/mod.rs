//! PostgreSQL.

mod batching;
mod connections;
mod durability;
mod lost_replies;
mod migration;
mod principals;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use typed_sessions::storage::sql::TableName;
use typed_sessions::storage::{
    PostgresStorage, SessionId, SessionStorage, StorageErrorKind, spawn_sweeper,
};

use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
use crate::support::servers::{self, Postgres};

pub fn table() -> TableName {
    TableName::new(&format!("t_{}", unique())).unwrap()
}

/// A fresh, empty storage on the shared server: its own table.
pub async fn fresh(test: &str) -> Option<PostgresStorage> {
    open(test, None).await
}

async fn open(test: &str, timeout: Option<std::time::Duration>) -> Option<PostgresStorage> {
    let server = servers::postgres(test)?;
    let mut builder = PostgresStorage::builder().table(table());
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    Some(builder.connect(&server.url()).await.unwrap())
}

storage_semantics!(fresh, sweeps = true);

/// [`fresh`] with the [`PATIENT`](crate::support::PATIENT) call timeout.
pub async fn patient(test: &str) -> Option<PostgresStorage> {
    open(test, Some(crate::support::PATIENT)).await
}

/// `n` instances that open the table `name` at the same time (each must succeed).
pub async fn start_together(url: &str, name: &TableName, n: usize) -> Vec<PostgresStorage> {
    let starts: Vec<_> = (0..n)
        .map(|_| {
            let (url, name) = (url.to_owned(), name.clone());
            tokio::spawn(async move {
                PostgresStorage::builder()
                    .table(name)
                    .connect(&url)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut storages = Vec::new();
    for start in starts {
        storages.push(start.await.unwrap());
    }
    storages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_hold_the_hash_of_the_id_never_the_id() {
    let Some(storage) = fresh("rows_hold_the_hash").await else {
        return;
    };
    let id = SessionId::generate();
    let t = base();
    storage
        .create(session_key(&id), &record("{\"a\":1}", t, HOUR), t)
        .await
        .unwrap();
    let sql = format!(
        "SELECT id, data, namespace, id || ' ' || created_at || ' ' || expires_at || ' ' || revision FROM {}",
        storage.table()
    );
    let rows: Vec<(String, Vec<u8>, Option<String>, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(storage.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    let (key, data, namespace, row) = &rows[0];
    assert_eq!(key, &session_key(&id).storage_key());
    assert_eq!(data, b"{\"a\":1}");
    assert_eq!(namespace.as_deref(), Some("s"));
    assert!(!row.contains(id.as_str()), "the raw id is stored: {row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_is_created_once_versioned_and_checked() {
    let Some(server) = servers::postgres("the_schema") else {
        return;
    };
    let name = table();
    // Several instances starting at once all succeed.
    let storages = start_together(&server.url(), &name, 4).await;
    let pool = storages[0].pool().clone();
    let version: (i64,) =
        sqlx::query_as("SELECT version FROM typed_sessions_schema WHERE table_name = $1")
            .bind(name.as_str())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(version.0, 2);
    let indexes: Vec<(String,)> =
        sqlx::query_as("SELECT indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname")
            .bind(name.as_str())
            .fetch_all(&pool)
            .await
            .unwrap();
    let indexes: Vec<&str> = indexes.iter().map(|(d,)| d.as_str()).collect();
    assert_eq!(indexes.len(), 3, "{indexes:?}");
    assert!(indexes[0].ends_with("(expires_at)"), "{indexes:?}");
    assert!(
        indexes[2].ends_with("(namespace, principal) WHERE (principal IS NOT NULL)"),
        "the principal index: {indexes:?}"
    );

    // A table marked by a newer release is refused, not misread.
    sqlx::query("UPDATE typed_sessions_schema SET version = 99 WHERE table_name = $1")
        .bind(name.as_str())
        .execute(&pool)
        .await
        .unwrap();
    let err = PostgresStorage::builder()
        .table(name.clone())
        .connect(&server.url())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StorageErrorKind::Backend);
    assert!(err.to_string().contains("schema version 99"), "{err}");

    // A table of someone else's with the same name is refused too.
    let foreign = table();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {foreign} (key TEXT PRIMARY KEY, value TEXT)"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let err = PostgresStorage::builder()
        .table(foreign)
        .connect(&server.url())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StorageErrorKind::Backend, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_expired_works_in_batches_and_keeps_live_rows() {
    let Some(storage) = fresh("delete_expired_batches").await else {
        return;
    };
    let t = base();
    let sql = format!(
        "INSERT INTO {} (id, data, created_at, expires_at, revision, last_seen, lifetime_ends_at) SELECT 'k' || g, '\\x7b7d', 0, $1, g, 0, $1 FROM generate_series(1, 2500) g",
        storage.table()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(1_000i64)
        .execute(storage.pool())
        .await
        .unwrap();
    let live = SessionId::generate();
    storage
        .create(session_key(&live), &record("live", t, HOUR), t)
        .await
        .unwrap();
    assert_eq!(storage.delete_expired(t).await.unwrap(), 2500);
    assert!(storage.load(session_key(&live), t).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_sweeps_until_aborted() {
    let Some(storage) = fresh("the_expiry_task").await else {
        return;
    };
    let now = SystemTime::now();
    let count = |storage: PostgresStorage| async move {
        let sql = format!("SELECT count(*) FROM {}", storage.table());
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(storage.pool())
            .await
            .unwrap();
        n
    };
    for _ in 0..5 {
        let id = SessionId::generate();
        storage
            .create(
                session_key(&id),
                &record("short", now, Duration::from_millis(200)),
                now,
            )
            .await
            .unwrap();
    }
    let keep = SessionId::generate();
    storage
        .create(session_key(&keep), &record("long", now, HOUR), now)
        .await
        .unwrap();
    let shared = Arc::new(storage.clone());
    let task = spawn_sweeper(&shared, Duration::from_millis(50));
    let until = Instant::now() + Duration::from_secs(10);
    while count(storage.clone()).await > 1 {
        assert!(Instant::now() < until, "the sweeper did not sweep");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!task.is_finished());
    task.abort();
    assert!(task.await.is_err_and(|e| e.is_cancelled()));
    // Stopped: an expired row now stays.
    let late = SessionId::generate();
    storage
        .create(
            session_key(&late),
            &record("late", now, Duration::from_millis(1)),
            now,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(storage.clone()).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_round_trip() {
    let Some(storage) = fresh("postgres http_round_trip").await else {
        return;
    };
    super::http::round_trip(Arc::new(storage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_prompt_unavailable_error() {
    if servers::skipped("postgres", "an_unreachable_server") {
        return;
    }
    let port = servers::free_port(false);
    let started = Instant::now();
    let err = PostgresStorage::builder()
        .timeout(Duration::from_millis(500))
        .connect(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StorageErrorKind::Unavailable, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_503_and_the_same_cookie_works_after_a_restart() {
    if servers::skipped("postgres", "postgres outage") {
        return;
    }
    let server = Postgres::start();
    let timeout = Duration::from_secs(1);
    let storage = PostgresStorage::builder()
        .timeout(timeout)
        .max_connections(4)
        .connect(&server.url())
        .await
        .unwrap();
    super::http::outage_and_recovery(
        Arc::new(storage),
        timeout,
        || server.stop(),
        || server.restart(),
    )
    .await;
}
