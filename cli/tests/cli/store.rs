//! `store stats`, `store purge-expired` and `store clear` against real storages: directories
//! and SQLite files in temporary directories, and the Redis, Redis Cluster and PostgreSQL
//! servers the backend tests use. Also: invalid ids, missing paths, unreachable servers.

use std::time::{Duration, SystemTime};

use typed_sessions::storage::{DirectoryStorage, Record, SessionId, SessionStorage};

use super::{Run, run, servers, session_key};

const HOUR: Duration = Duration::from_secs(3600);

/// Fills `storage` with `live` sessions valid for an hour and `expired` ones that ended a
/// minute ago; returns the live ids.
async fn fill(storage: &dyn SessionStorage, live: usize, expired: usize) -> Vec<SessionId> {
    let now = SystemTime::now();
    let past = now - HOUR;
    let mut ids = Vec::new();
    for _ in 0..live {
        let id = SessionId::generate();
        let record = Record::new(r#"{"user":"ada"}"#, now, now + HOUR);
        storage
            .create(session_key(&id), &record, now)
            .await
            .unwrap();
        ids.push(id);
    }
    for _ in 0..expired {
        let record = Record::new(r#"{"user":"old"}"#, past, now - Duration::from_secs(60));
        storage
            .create(session_key(&SessionId::generate()), &record, past)
            .await
            .unwrap();
    }
    ids
}

/// Checks the counts `store stats` prints, and that the size is a positive number of bytes
/// measuring `measure`.
#[track_caller]
fn expect_stats(url: &str, live: u64, expired: u64, measure: &str) -> Run {
    let r = run(&["store", "stats", url]).expect(0);
    assert_eq!(r.field("live"), Some(live.to_string().as_str()), "{r:#?}");
    assert_eq!(
        r.field("expired"),
        Some(expired.to_string().as_str()),
        "{r:#?}"
    );
    assert!(r.has_line("unreadable: 0"), "{r:#?}");
    let size = r.field("size").unwrap();
    let bytes: u64 = size.split(' ').next().unwrap().parse().unwrap();
    assert!(bytes > 0, "{r:#?}");
    assert!(size.contains(measure), "{r:#?}");
    r
}

/// `clear` of a live id under another session's name (nothing), under its own, again, of an id
/// never stored, and of an invalid id; no output holds a whole id.
fn expect_clear(url: &str, storage_id: &SessionId) {
    let id = storage_id.as_str();
    let elsewhere = run(&["store", "clear", url, "--session", "other", id]).expect(0);
    assert!(
        elsewhere
            .field("removed")
            .unwrap()
            .starts_with("no (no session `other`"),
        "{elsewhere:#?}"
    );
    let first = run(&["store", "clear", url, "--session", "s", id]).expect(0);
    assert!(first.has_line("removed: yes"), "{first:#?}");
    let again = run(&["store", "clear", url, "--session", "s", id]).expect(0);
    assert!(
        again
            .field("removed")
            .unwrap()
            .starts_with("no (no session"),
        "{again:#?}"
    );
    for r in [&elsewhere, &first, &again] {
        assert!(
            !r.all().contains(storage_id.as_str()),
            "a whole id was printed: {r:#?}"
        );
    }
    let piped = super::run_with(
        &["store", "clear", url, "--session", "s", "-"],
        &[],
        Some(&format!("{}\n", storage_id.as_str())),
    )
    .expect(0);
    assert!(
        piped
            .field("removed")
            .unwrap()
            .starts_with("no (no session"),
        "{piped:#?}"
    );
    let custom = run(&["store", "clear", url, "--session", "s", "custom-ID_42"]).expect(0);
    assert!(
        custom.field("removed").unwrap().starts_with("no"),
        "{custom:#?}"
    );
    for bad in ["../../etc/passwd", "", &"a".repeat(129)] {
        let r = run(&["store", "clear", url, "--session", "s", bad])
            .expect_error(2, "not a valid session id");
        assert!(!r.stderr.contains("cookie value"), "{r:#?}");
    }
    let cookie = format!("{}/{}", storage_id.as_str(), "0123456789abcdef".repeat(4));
    run(&["store", "clear", url, "--session", "s", &cookie])
        .expect_error(2, "looks like a protected cookie value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_stats_purge_and_clear() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sessions");
    let storage = DirectoryStorage::builder(&root)
        .durable(false)
        .open()
        .unwrap();
    let live = fill(&storage, 5, 300).await;
    let url = root.to_str().unwrap();
    expect_stats(url, 5, 300, "on disk");

    // A damaged file counts as unreadable, and the purge removes it with the expired ones.
    let damaged = storage.path_of(session_key(&live[0])).unwrap();
    std::fs::write(&damaged, b"not a session file").unwrap();
    let stats = run(&["store", "stats", &format!("dir://{url}")]).expect(0);
    assert!(
        stats.has_line("unreadable: 1") && stats.has_line("live: 4"),
        "{stats:#?}"
    );

    let purge = run(&["store", "purge-expired", url]).expect(0);
    assert!(purge.has_line("removed: 301"), "{purge:#?}");
    assert!(
        purge.stderr.is_empty(),
        "no progress bar when stdout is a pipe: {purge:#?}"
    );
    expect_stats(url, 4, 0, "on disk");
    run(&["store", "purge-expired", url])
        .expect(0)
        .has_line("removed: 0");
    expect_clear(url, &live[1]);
    expect_stats(url, 3, 0, "on disk");

    // Ktor's layout: purge in parts, one top-level directory at a time.
    let ktor_root = dir.path().join("ktor");
    let ktor = DirectoryStorage::ktor_compatible(&ktor_root).unwrap();
    let now = SystemTime::now();
    for n in 0..20 {
        let id = SessionId::parse_custom(&format!("k{n:02}abcdef")).unwrap();
        ktor.create(session_key(&id), &Record::new("{}", now, now), now)
            .await
            .unwrap();
    }
    let ktor_url = format!("{}?layout=ktor", ktor_root.display());
    let ktor_stats = run(&["store", "stats", &ktor_url]).expect(0);
    assert!(ktor_stats.has_line("live: 20"), "{ktor_stats:#?}");
    run(&["store", "purge-expired", &ktor_url])
        .expect(0)
        .has_line("removed: 0");
}

#[test]
fn a_missing_directory_or_database_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let url = missing.to_str().unwrap();
    for args in [
        vec!["store", "stats", url],
        vec!["store", "purge-expired", url],
        vec!["store", "clear", url, "--session", "s", "custom-id"],
    ] {
        run(&args).expect_error(2, "no session directory at");
    }
    let db = dir.path().join("nope.db");
    run(&["store", "stats", &format!("sqlite://{}", db.display())])
        .expect_error(2, "no session SQLite database file at");
    assert!(
        !missing.exists() && !db.exists(),
        "the tool created a storage"
    );
    run(&["store", "stats", "mysql://h/db"]).expect_error(2, "unknown session storage scheme");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_stats_purge_and_clear() {
    let path =
        servers::sqlite_dir().join(format!("cli-{}.db", &SessionId::generate().as_str()[..12]));
    let storage = typed_sessions::storage::SqliteStorage::open(&path)
        .await
        .unwrap();
    let live = fill(&storage, 4, 2500).await;
    let url = format!("sqlite://{}", path.display());
    expect_stats(&url, 4, 2500, "database file");
    let purge = run(&["store", "purge-expired", &url, "--batch", "400"]).expect(0);
    assert!(purge.has_line("removed: 2500"), "{purge:#?}");
    assert!(
        purge.stderr.is_empty(),
        "no progress bar through a pipe: {purge:#?}"
    );
    expect_stats(&url, 4, 0, "database file");
    expect_clear(&url, &live[0]);
    expect_stats(&url, 3, 0, "database file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stats_purge_and_clear() {
    let Some(server) = servers::postgres("cli postgres") else {
        return;
    };
    let table = format!("cli_{}", &SessionId::generate().as_str()[..12]);
    let storage = typed_sessions::storage::PostgresStorage::builder()
        .table(typed_sessions::storage::sql::TableName::new(&table).unwrap())
        .connect(&server.url())
        .await
        .unwrap();
    let live = fill(&storage, 6, 1500).await;
    let url = format!("{}?table={table}", server.url());
    expect_stats(&url, 6, 1500, "pg_total_relation_size");
    let purge = run(&["store", "purge-expired", &url]).expect(0);
    assert!(purge.has_line("removed: 1500"), "{purge:#?}");
    expect_stats(&url, 6, 0, "pg_total_relation_size");
    expect_clear(&url, &live[0]);
    expect_stats(&url, 5, 0, "pg_total_relation_size");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stats_purge_and_clear() {
    let Some(server) = servers::redis("cli redis") else {
        return;
    };
    let prefix = format!("cli:{}:", &SessionId::generate().as_str()[..12]);
    let storage = typed_sessions::storage::RedisStorage::builder()
        .prefix(prefix.clone())
        .connect(&server.url())
        .await
        .unwrap();
    // Redis drops the expired ones itself (their PXAT has passed).
    let live = fill(&storage, 7, 3).await;
    let url = format!("{}?prefix={prefix}", server.url());
    expect_stats(&url, 7, 0, "MEMORY USAGE");
    let purge = run(&["store", "purge-expired", &url]).expect(0);
    assert!(purge.has_line("removed: 0"), "{purge:#?}");
    assert!(
        purge
            .stdout
            .contains("Redis deletes expired sessions by itself"),
        "{purge:#?}"
    );
    expect_clear(&url, &live[0]);
    expect_stats(&url, 6, 0, "MEMORY USAGE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_stats_visit_every_node() {
    let Some(cluster) = servers::redis_cluster("cli redis cluster") else {
        return;
    };
    let prefix = format!("cli:{}:", &SessionId::generate().as_str()[..12]);
    let storage = typed_sessions::storage::RedisStorage::builder()
        .prefix(prefix.clone())
        .connect(&cluster.url())
        .await
        .unwrap();
    let live = fill(&storage, 40, 0).await;
    let url = format!("{}?prefix={prefix}", cluster.url());
    expect_stats(&url, 40, 0, "MEMORY USAGE");
    expect_clear(&url, &live[0]);
    expect_stats(&url, 39, 0, "MEMORY USAGE");
}

#[test]
fn unreachable_servers_fail_fast_with_one_line() {
    let port = servers::free_port(false);
    for url in [
        format!("redis://127.0.0.1:{port}"),
        format!("redis+cluster://127.0.0.1:{port}"),
        format!("postgres://postgres:hunter2@127.0.0.1:{port}/postgres"),
    ] {
        for args in [
            vec!["store", "stats", url.as_str()],
            vec![
                "store",
                "clear",
                url.as_str(),
                "--session",
                "s",
                "custom-id",
            ],
        ] {
            let r = run(&args).expect_error(3, "session storage unavailable");
            assert!(r.took < Duration::from_secs(8), "took {:?}: {r:#?}", r.took);
            assert!(
                !r.all().contains("hunter2"),
                "the password was printed: {r:#?}"
            );
        }
    }
}

#[test]
fn memory_storages_are_new_and_empty() {
    let r = run(&["store", "stats", "memory://"]).expect(0);
    assert!(
        r.has_line("live: 0") && r.has_line("storage: memory"),
        "{r:#?}"
    );
    assert!(r.stderr.contains("new, empty storage"), "{r:#?}");
}

/// On a terminal (a pseudo-terminal from `script`, util-linux), a purge of a storage holding
/// more than 2000 sessions shows a progress bar; through a pipe it does not (above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_purge_on_a_terminal_shows_a_progress_bar() {
    let script = servers::find_binary("script").expect(
        "`script` (bsdutils) makes the terminal of this test: install it (scripts/test does)",
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sessions");
    let storage = DirectoryStorage::builder(&root)
        .durable(false)
        .open()
        .unwrap();
    fill(&storage, 10, 2100).await;
    let command = format!(
        "{} store purge-expired {}",
        env!("CARGO_BIN_EXE_typed-sessions"),
        root.display()
    );
    let output = std::process::Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains("purging"),
        "no progress bar on a terminal: {screen}"
    );
    assert!(screen.contains("expired sessions"), "{screen}");
    assert!(screen.contains("removed: 2100"), "{screen}");
    expect_stats(root.to_str().unwrap(), 10, 0, "on disk");
}
