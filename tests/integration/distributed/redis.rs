//! Redis, single node.

use std::sync::Arc;
use std::time::{Duration, Instant};

use typed_sessions::SessionsConfig;
use typed_sessions::storage::{Created, RedisStorage, SessionId, SessionStorage, StorageErrorKind};

use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::{TestUserSession, get, session_key, user_routes};
use crate::support::servers::{self, Redis};

/// A fresh, empty storage on the shared server: its own key prefix.
pub async fn fresh(test: &str) -> Option<RedisStorage> {
    open(test, None).await
}

/// [`fresh`] with the [`PATIENT`](crate::support::PATIENT) call timeout.
pub async fn patient(test: &str) -> Option<RedisStorage> {
    open(test, Some(crate::support::PATIENT)).await
}

async fn open(test: &str, timeout: Option<Duration>) -> Option<RedisStorage> {
    let server = servers::redis(test)?;
    let mut builder = RedisStorage::builder().prefix(format!("test:{}:", unique()));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    Some(builder.connect(&server.url()).await.unwrap())
}

/// The shared server (to inspect its keys) and a fresh storage on it.
async fn server_and_fresh(test: &str) -> Option<(&'static Redis, RedisStorage)> {
    let server = servers::redis(test)?;
    Some((server, fresh(test).await?))
}

storage_semantics!(fresh, sweeps = false);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_hold_the_hash_of_the_id_never_the_id() {
    let Some((server, storage)) = server_and_fresh("keys_hold_the_hash").await else {
        return;
    };
    let id = SessionId::generate();
    let t = base();
    storage
        .create(session_key(&id), &record("{}", t, HOUR), t)
        .await
        .unwrap();
    let keys = server
        .command(&format!("KEYS {}*", storage.prefix()))
        .unwrap();
    let expected = format!("{}{}", storage.prefix(), session_key(&id).storage_key());
    assert!(keys.contains(&expected), "{keys}");
    assert!(!keys.contains(id.as_str()), "the raw id is a key: {keys}");
    let value = server.command(&format!("GET {expected}")).unwrap();
    assert!(!value.contains(id.as_str()));
    assert_eq!(
        RedisStorage::key_for(storage.prefix(), session_key(&id)),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_itself_expires_records_at_their_expiry() {
    let Some((server, storage)) = server_and_fresh("redis_itself_expires").await else {
        return;
    };
    let id = SessionId::generate();
    let key = RedisStorage::key_for(storage.prefix(), session_key(&id));
    let now = base(); // the real time, in whole milliseconds (the stored precision)
    let short = record("short", now, Duration::from_millis(600));
    storage.create(session_key(&id), &short, now).await.unwrap();
    let ttl = server.command(&format!("PTTL {key}")).unwrap();
    let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap();
    assert!((1..=600).contains(&ttl), "PTTL {ttl}");
    // Renewal moves the server-side expiry.
    let renewed = record("renewed", now, Duration::from_secs(3600));
    assert!(
        storage
            .update(session_key(&id), &renewed, now)
            .await
            .unwrap()
    );
    let ttl: i64 = server
        .command(&format!("PTTL {key}"))
        .unwrap()
        .trim()
        .trim_start_matches(':')
        .parse()
        .unwrap();
    assert!(ttl > 3_000_000, "PTTL after renewal {ttl}");
    let other = SessionId::generate();
    storage
        .create(session_key(&other), &short, now)
        .await
        .unwrap();
    let other_key = RedisStorage::key_for(storage.prefix(), session_key(&other));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        server
            .command(&format!("EXISTS {other_key}"))
            .unwrap()
            .trim(),
        ":0",
        "Redis removed the expired key"
    );
    // Loaded with the old clock, it is still gone: Redis enforced the expiry.
    assert_eq!(storage.load(session_key(&other), now).await.unwrap(), None);
    assert_eq!(
        storage.load(session_key(&id), now).await.unwrap(),
        Some(renewed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_in_another_format_reads_as_absent_and_is_removed() {
    let Some((server, storage)) = server_and_fresh("a_value_in_another_format").await else {
        return;
    };
    let id = SessionId::generate();
    let key = RedisStorage::key_for(storage.prefix(), session_key(&id));
    assert!(
        server
            .command(&format!("SET {key} not-a-record"))
            .unwrap()
            .starts_with("+OK")
    );
    let t = base();
    assert_eq!(storage.load(session_key(&id), t).await.unwrap(), None);
    assert_eq!(
        server.command(&format!("EXISTS {key}")).unwrap().trim(),
        ":0"
    );
    // A foreign value never counts as live for an update, which does not leave its own
    // value behind either ...
    server.command(&format!("SET {key} junk")).unwrap();
    assert!(
        !storage
            .update(session_key(&id), &record("x", t, HOUR), t)
            .await
            .unwrap()
    );
    assert_eq!(
        server.command(&format!("EXISTS {key}")).unwrap().trim(),
        ":0"
    );
    // ... and never blocks a create (the script that replaces what is not a live record).
    server.command(&format!("SET {key} junk")).unwrap();
    assert_eq!(
        storage
            .create(session_key(&id), &record("x", t, HOUR), t)
            .await
            .unwrap(),
        Created::Inserted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_are_reloaded_after_a_script_flush() {
    let Some((server, storage)) = server_and_fresh("scripts_are_reloaded").await else {
        return;
    };
    let t = base();
    // An id change is a script on a single node.
    let ids = [(); 3].map(|()| SessionId::generate());
    let [first, second, third] = &ids;
    storage
        .create(session_key(first), &record("v1", t, HOUR), t)
        .await
        .unwrap();
    assert!(
        storage
            .change_id(
                session_key(first),
                session_key(second),
                &record("v2", t, HOUR),
                t
            )
            .await
            .unwrap()
    );
    assert!(server.command("SCRIPT FLUSH").unwrap().starts_with("+OK"));
    let v3 = record("v3", t, HOUR);
    assert!(
        storage
            .change_id(session_key(second), session_key(third), &v3, t)
            .await
            .unwrap()
    );
    assert_eq!(storage.load(session_key(third), t).await.unwrap(), Some(v3));
    assert_eq!(storage.load(session_key(second), t).await.unwrap(), None);
}

/// An update over a record that the application's clock says has ended (Redis's clock runs
/// behind, so the key is still there) reports the session gone and leaves no key behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_never_revives_a_record_ended_by_the_application_clock() {
    let Some((server, storage)) = server_and_fresh("an_update_never_revives").await else {
        return;
    };
    let t = base();
    let id = SessionId::generate();
    let key = RedisStorage::key_for(storage.prefix(), session_key(&id));
    storage
        .create(session_key(&id), &record("v1", t, HOUR), t)
        .await
        .unwrap();
    let later = t + HOUR * 2;
    let revived = record("revived", later, HOUR);
    assert!(
        !storage
            .update(session_key(&id), &revived, later)
            .await
            .unwrap()
    );
    assert_eq!(
        server.command(&format!("EXISTS {key}")).unwrap().trim(),
        ":0"
    );
    assert_eq!(storage.load(session_key(&id), t).await.unwrap(), None);
    // A live record is replaced in place, and its key's expiry follows the new record.
    let other = SessionId::generate();
    storage
        .create(session_key(&other), &record("v1", t, HOUR), t)
        .await
        .unwrap();
    assert!(
        storage
            .update(session_key(&other), &revived, t)
            .await
            .unwrap()
    );
    assert_eq!(
        storage.load(session_key(&other), t).await.unwrap(),
        Some(revived)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_round_trip() {
    let Some(storage) = fresh("http_round_trip").await else {
        return;
    };
    super::http::round_trip(Arc::new(storage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_prompt_unavailable_error() {
    if servers::skipped("redis", "an_unreachable_server") {
        return;
    }
    let port = servers::free_port(false);
    let started = Instant::now();
    let err = RedisStorage::builder()
        .timeout(Duration::from_millis(500))
        .connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StorageErrorKind::Unavailable, "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_503_and_the_same_cookie_works_after_a_restart() {
    if servers::skipped("redis", "redis outage") {
        return;
    }
    let server = Redis::start();
    let timeout = Duration::from_secs(1);
    let storage = RedisStorage::builder()
        .timeout(timeout)
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

/// The Redis storage bounds its own calls within the layer's default timeout, so the layer
/// arms no timer of its own for them: a hung server (stopped with `SIGSTOP`, its connections
/// open, no answer) must then be a `503` once the storage's own timeout has passed, not the
/// layer's (here 30 s), and the session is there again once the server runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_is_a_503_after_the_storages_own_timeout() {
    if servers::redis("a_hung_server_is_a_503").is_none() {
        return;
    }
    let server = Redis::start();
    let timeout = Duration::from_secs(1);
    let storage = RedisStorage::builder()
        .prefix(format!("test:{}:", unique()))
        .timeout(timeout)
        .connect(&server.url())
        .await
        .unwrap();
    assert_eq!(storage.call_bound(), Some(2 * timeout));
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage, |c| {
            c.storage_timeout(Duration::from_secs(30))
        })
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let set = get(&router, "/set/ada", None).await;
    assert_eq!(set.status, 200);
    let cookie = set.cookie_pair("s").unwrap();
    server.pause();
    let started = Instant::now();
    // Bounded here too: a Redis call that escaped the storage's own deadline would hang (the
    // layer arms no timer for this storage), and fail the test rather than stall it.
    let answer =
        tokio::time::timeout(Duration::from_secs(10), get(&router, "/get", Some(&cookie))).await;
    let waited = started.elapsed();
    server.resume();
    let answer = answer.expect("the storage's own timeout did not end the call");
    assert_eq!(answer.status, 503);
    assert!(
        waited >= timeout && waited < Duration::from_secs(5),
        "answered after {waited:?}"
    );
    assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "ada");
}
