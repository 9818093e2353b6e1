//! SQLite, the embedded single-file storage.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use typed_sessions::storage::{SessionId, SessionStorage, SqliteStorage};

use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
use crate::support::servers;

/// A fresh, empty storage: a new file.
pub async fn fresh(_test: &str) -> Option<SqliteStorage> {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    Some(SqliteStorage::open(path).await.unwrap())
}

storage_semantics!(fresh, sweeps = true);

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
    {
        let storage = SqliteStorage::open(&path).await.unwrap();
        storage
            .create(session_key(&id), &record("kept", t, HOUR), t)
            .await
            .unwrap();
        storage.pool().close().await;
    }
    let reopened = SqliteStorage::open(&path).await.unwrap();
    assert_eq!(
        reopened.load(session_key(&id), t).await.unwrap(),
        Some(record("kept", t, HOUR))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expiry_task_sweeps() {
    let storage = fresh("the_expiry_task").await.unwrap();
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
    let _task = storage.spawn_expiry_task(Duration::from_millis(50));
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM typed_sessions")
            .fetch_one(storage.pool())
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        assert!(Instant::now() < until, "the expiry task did not sweep");
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
