//! SQLite, the embedded single-file storage.

mod migration;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use typed_sessions::storage::{
    SessionId, SessionStorage, SqliteStorage, SqliteStorageBuilder, spawn_sweeper,
};

use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
use crate::support::servers;
use crate::support::sql::{concurrent_logins, live_rows_of_ada};

/// A fresh, empty storage: a new file.
pub async fn fresh(_test: &str) -> Option<SqliteStorage> {
    open(SqliteStorage::builder()).await
}

async fn open(builder: SqliteStorageBuilder) -> Option<SqliteStorage> {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    Some(builder.open(path).await.unwrap())
}

storage_semantics!(fresh, sweeps = true);

/// [`fresh`] with the [`PATIENT`](crate::support::PATIENT) call timeout.
pub async fn patient(_test: &str) -> Option<SqliteStorage> {
    open(SqliteStorage::builder().timeout(crate::support::PATIENT)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_holds_hashes_not_ids_is_private_and_in_wal_mode() {
    let dir = servers::sqlite_dir().join(unique()).join("nested");
    let path = dir.join("sessions.db");
    let storage = SqliteStorage::open(&path).await.unwrap();
    let id = SessionId::generate();
    let t = base();
    storage
        .create(session_key(&id), &record("{}", t, HOUR), t)
        .await
        .unwrap();
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (synchronous,): (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    assert_eq!(synchronous, 2, "FULL: every commit on disk by default");
    let relaxed = SqliteStorage::builder()
        .durability(typed_sessions::storage::sql::Durability::Relaxed)
        .open(dir.join("relaxed.db"))
        .await
        .unwrap();
    let (synchronous,): (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(relaxed.pool())
        .await
        .unwrap();
    assert_eq!(synchronous, 1, "NORMAL when relaxed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(perms & 0o777, 0o600, "{perms:o}");
    }
    let (stored,): (String,) = sqlx::query_as("SELECT id FROM typed_sessions")
        .fetch_one(storage.pool())
        .await
        .unwrap();
    assert_eq!(stored, session_key(&id).storage_key());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(dir.join("sessions.db-wal")).unwrap_or_default());
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(&session_key(&id).storage_key()),
        "the hash is in the file"
    );
    assert!(!text.contains(id.as_str()), "the raw id is in the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_reopening_the_file() {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    let id = SessionId::generate();
    let t = base();
    let kept = record("kept", t, HOUR);
    {
        let storage = SqliteStorage::open(&path).await.unwrap();
        storage.create(session_key(&id), &kept, t).await.unwrap();
        storage.pool().close().await;
    }
    let reopened = SqliteStorage::open(&path).await.unwrap();
    assert_eq!(
        reopened.load(session_key(&id), t).await.unwrap(),
        Some(kept)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_sweeps() {
    let storage = Arc::new(fresh("the_sweeper").await.unwrap());
    let now = SystemTime::now();
    for _ in 0..5 {
        storage
            .create(
                session_key(&SessionId::generate()),
                &record("short", now, Duration::from_millis(100)),
                now,
            )
            .await
            .unwrap();
    }
    let _sweeper = spawn_sweeper(&storage, Duration::from_millis(50));
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM typed_sessions")
            .fetch_one(storage.pool())
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        assert!(Instant::now() < until, "the sweeper did not sweep");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_database_keeps_concurrent_writes() {
    typed_sessions::storage::contract::Suite::new(|| async {
        SqliteStorage::connect("sqlite::memory:").await.unwrap()
    })
    .only(&[typed_sessions::storage::contract::Case::ConcurrentMixed])
    .run()
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_round_trip() {
    let storage = fresh("sqlite http_round_trip").await.unwrap();
    super::http::round_trip(Arc::new(storage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_principal_queries_use_the_index() {
    let storage = fresh("the_principal_queries_use_the_index").await.unwrap();
    for query in [
        "SELECT id FROM typed_sessions WHERE namespace = $1 AND principal = $2 AND expires_at > $3",
        "DELETE FROM typed_sessions WHERE namespace = $1 AND principal = $2 AND ($3 IS NULL OR id <> $3)",
    ] {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {query}")))
                .bind("s")
                .bind("ada")
                .bind(None::<String>)
                .fetch_all(storage.pool())
                .await
                .unwrap();
        assert!(
            plan.iter()
                .any(|(.., detail)| detail.contains("INDEX typed_sessions_principal (")),
            "{query}: {plan:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_logins_and_logouts_of_two_instances_keep_index_and_rows_equal() {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    let a = SqliteStorage::open(&path).await.unwrap();
    let b = SqliteStorage::open(&path).await.unwrap();
    let pool = a.pool().clone();
    let raw = |now_ms: i64| {
        let (pool, sql) = (pool.clone(), live_rows_of_ada("typed_sessions"));
        async move {
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .fetch_all(&pool)
                .await
                .unwrap();
            rows.into_iter().map(|(id,)| id).collect::<BTreeSet<_>>()
        }
    };
    concurrent_logins(Arc::new(a), Arc::new(b), 100, raw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_keep_the_principal() {
    let storage = fresh("updates_keep_the_principal").await.unwrap();
    crate::support::sql::updates_keep_the_principal(&storage).await;
}
