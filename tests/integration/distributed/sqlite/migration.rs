//! SQLite: a file of the previous release (schema version 1) is migrated in place, once,
//! however many instances open it at the same time; a failed migration changes nothing; an
//! instance waits for another's migration.

use std::time::{Duration, Instant};

use sqlx::Connection as _;
use typed_sessions::storage::{SessionId, SessionStorage, SqliteStorage, StorageErrorKind};

use super::fresh;
use crate::common::session_key;
use crate::distributed::semantics::{HOUR, base, record};
use crate::distributed::unique;
use crate::support::servers;
use crate::support::sql::{check_migrated, v1_rows, v1_schema};

/// Runs `statements` on the database file at `path`, with a plain pool of its own.
async fn execute(path: &std::path::Path, statements: &[String]) {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

/// The columns of `table`: name, declared type, not-null, default.
async fn shape(storage: &SqliteStorage, table: &str) -> Vec<(String, String, i64, Option<String>)> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info('{table}') ORDER BY cid"
    )))
    .fetch_all(storage.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_file_is_migrated_once_by_instances_opening_it_together() {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    let now = base();
    let rows = v1_rows(now);
    let mut statements = v1_schema("typed_sessions", true);
    for row in &rows {
        // The previous release bound the data as text.
        statements.push(format!(
            "INSERT INTO typed_sessions (id, data, created_at, expires_at) VALUES ('{}', '{}', {}, {})",
            row.key(),
            row.data.replace('\'', "''"),
            row.created_ms,
            row.expires_ms
        ));
    }
    execute(&path, &statements).await;
    let (kind,): (String,) = sqlx::query_as("SELECT typeof(data) FROM typed_sessions LIMIT 1")
        .fetch_one(
            &sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new().filename(&path),
            )
            .await
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(kind, "text", "the previous release stored text");
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move { SqliteStorage::open(path).await.unwrap() })
        })
        .collect();
    let mut storages = Vec::new();
    for open in opens {
        storages.push(open.await.unwrap());
    }
    let storage = &storages[0];
    let (version,): (i64,) = sqlx::query_as(
        "SELECT version FROM typed_sessions_schema WHERE table_name = 'typed_sessions'",
    )
    .fetch_one(storage.pool())
    .await
    .unwrap();
    assert_eq!(version, 2);
    let kinds: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT typeof(data) FROM typed_sessions")
        .fetch_all(storage.pool())
        .await
        .unwrap();
    assert_eq!(
        kinds,
        [("blob".to_owned(),)],
        "the data was converted to bytes"
    );
    let fresh = fresh("migration shape").await.unwrap();
    assert_eq!(
        shape(storage, "typed_sessions").await,
        shape(&fresh, "typed_sessions").await,
        "the migrated table has the shape of a new one"
    );
    let indexes: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'typed_sessions' AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(storage.pool())
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            ("typed_sessions_expires_at".to_owned(),),
            ("typed_sessions_principal".to_owned(),)
        ]
    );
    check_migrated(&storages[3], &rows, now).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_opening_a_new_file_together_all_start() {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move { SqliteStorage::open(path).await })
        })
        .collect();
    let mut storages = Vec::new();
    for open in opens {
        storages.push(open.await.unwrap().expect("every instance starts"));
    }
    let t = base();
    let id = SessionId::generate();
    let kept = record("{}", t, HOUR);
    storages[0]
        .create(session_key(&id), &kept, t)
        .await
        .unwrap();
    assert_eq!(
        storages[3].load(session_key(&id), t).await.unwrap(),
        Some(kept)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_migration_leaves_the_version_1_table_as_it_was() {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    let now = base();
    let rows = v1_rows(now);
    let row = &rows[0];
    let mut statements = v1_schema("typed_sessions", true);
    statements.push(format!(
        "INSERT INTO typed_sessions (id, data, created_at, expires_at) VALUES ('{}', '{}', {}, {})",
        row.key(),
        row.data,
        row.created_ms,
        row.expires_ms
    ));
    // A table in the way of the migration's rebuild makes it fail halfway.
    statements.push("CREATE TABLE typed_sessions__v2 (x TEXT)".to_owned());
    execute(&path, &statements).await;
    let error = SqliteStorage::open(&path).await.unwrap_err();
    assert_eq!(error.kind(), StorageErrorKind::Backend, "{error}");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let (version,): (i64,) = sqlx::query_as("SELECT version FROM typed_sessions_schema")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (kind, data): (String, String) =
        sqlx::query_as("SELECT typeof(data), data FROM typed_sessions")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (version, kind.as_str(), data.as_str()),
        (1, "text", row.data.as_str())
    );
    pool.close().await;
    // Out of the way, the migration goes through.
    execute(&path, &["DROP TABLE typed_sessions__v2".to_owned()]).await;
    let storage = SqliteStorage::open(&path).await.unwrap();
    check_migrated(&storage, &rows[..1], now).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_waits_for_another_instances_migration_longer_than_the_busy_timeout() {
    let path = servers::sqlite_dir().join(format!("{}.db", unique()));
    SqliteStorage::open(&path)
        .await
        .unwrap()
        .pool()
        .close()
        .await;
    // Another instance holds the write lock (as a long migration does) for 3 s.
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let mut holder = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        sqlx::query("COMMIT").execute(&mut holder).await.unwrap();
    });
    let started = Instant::now();
    let opened = SqliteStorage::builder()
        .timeout(Duration::from_millis(300))
        .open(&path)
        .await;
    let waited = started.elapsed();
    release.await.unwrap();
    opened.expect("the storage opens once the other instance is done");
    assert!(waited >= Duration::from_millis(2500), "{waited:?}");
}
