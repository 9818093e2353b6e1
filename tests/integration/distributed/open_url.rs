//! `storage::open_url`: one setting string opens any backend.

#[cfg(feature = "redis")]
use std::time::{Duration, Instant};

#[cfg(feature = "redis")]
use typed_sessions::storage::StorageErrorKind;
use typed_sessions::storage::{OpenError, SessionId, open_url};

use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
#[allow(unused_imports)]
use crate::support::servers;

async fn round_trip(storage: &dyn typed_sessions::storage::SessionStorage) {
    let t = base();
    let id = SessionId::generate();
    let written = record("via url", t, HOUR);
    storage.create(session_key(&id), &written, t).await.unwrap();
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(written)
    );
}

#[tokio::test]
async fn bad_settings_are_typed_errors() {
    assert!(matches!(
        open_url("memcached://h").await,
        Err(OpenError::UnknownScheme { scheme }) if scheme == "memcached"
    ));
    assert!(matches!(
        open_url("redis://h?timeout_ms=x").await,
        Err(OpenError::InvalidUrl { .. })
    ));
    #[cfg(feature = "redis")]
    {
        let err = open_url("redis://u:hunter2@h:notaport")
            .await
            .err()
            .unwrap();
        assert!(matches!(err, OpenError::InvalidUrl { .. }), "{err}");
        assert!(!err.to_string().contains("hunter2"));
        assert!(matches!(
            open_url("redis://h?table=x").await,
            Err(OpenError::InvalidUrl { .. })
        ));
    }
    #[cfg(feature = "postgres")]
    assert!(matches!(
        open_url("postgres://u@h/db?table=Robert');DROP").await,
        Err(OpenError::InvalidUrl { .. })
    ));
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_urls() {
    let Some(server) = servers::redis("open_url redis") else {
        return;
    };
    let prefix = format!("url-{}:", unique());
    let storage = open_url(&format!(
        "{}/0?prefix={prefix}&timeout_ms=1500",
        server.url()
    ))
    .await
    .unwrap();
    round_trip(&*storage).await;
    let keys = server.command(&format!("KEYS {prefix}*")).unwrap();
    assert!(keys.contains(&prefix), "the prefix option applied: {keys}");

    let port = servers::free_port(false);
    let started = Instant::now();
    let err = open_url(&format!("redis://127.0.0.1:{port}?timeout_ms=300"))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, OpenError::Storage(e) if e.kind() == StorageErrorKind::Unavailable),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_urls() {
    let Some(cluster) = servers::redis_cluster("open_url cluster") else {
        return;
    };
    let storage = open_url(&format!("{}?prefix=url-{}:", cluster.url(), unique()))
        .await
        .unwrap();
    round_trip(&*storage).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_urls() {
    let Some(server) = servers::postgres("open_url postgres") else {
        return;
    };
    let table = format!("url_{}", unique());
    let url = server.url().replace("postgres://", "postgresql://");
    let storage = open_url(&format!("{url}?table={table}&sslmode=disable"))
        .await
        .unwrap();
    round_trip(&*storage).await;
    let pool = sqlx::PgPool::connect(&server.url()).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "the table option applied");
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_urls() {
    let path = servers::sqlite_dir().join(format!("url-{}.db", unique()));
    let storage = open_url(&format!("sqlite://{}?table=url_sessions", path.display()))
        .await
        .unwrap();
    round_trip(&*storage).await;
    assert!(path.exists());
    let memory = open_url("sqlite::memory:").await.unwrap();
    round_trip(&*memory).await;
}

#[tokio::test]
async fn directories_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    for (url, ktor) in [
        (dir.path().join("plain").display().to_string(), false),
        (format!("dir://{}", dir.path().join("dir").display()), false),
        (
            format!("file://{}", dir.path().join("file").display()),
            false,
        ),
        (
            format!("dir://{}?layout=ktor", dir.path().join("ktor").display()),
            true,
        ),
    ] {
        let storage = open_url(&url).await.unwrap();
        if ktor {
            // Ktor's layout stores only the data; times come from the file's modification time.
            let (t, id) = (base(), SessionId::generate());
            storage
                .create(session_key(&id), &record("via url", t, HOUR), t)
                .await
                .unwrap();
            assert_eq!(
                storage
                    .load(session_key(&id), t)
                    .await
                    .unwrap()
                    .unwrap()
                    .data,
                b"via url"
            );
        } else {
            round_trip(&*storage).await;
        }
        let files = walk(dir.path());
        assert!(!files.is_empty(), "{url}: nothing written");
        assert_eq!(
            files.iter().any(|f| f.ends_with(".dat")),
            ktor,
            "{url}: {files:?}"
        );
    }
    round_trip(&*open_url("memory://").await.unwrap()).await;
    assert!(matches!(
        open_url("dir://").await,
        Err(OpenError::InvalidUrl { .. })
    ));
    assert!(matches!(
        open_url("dir:///tmp/x?layout=odd").await,
        Err(OpenError::InvalidUrl { .. })
    ));
}

fn walk(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}
