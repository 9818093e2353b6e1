//! Redis with client-side caching: the storage contract with the cache on (single node,
//! Cluster, Cluster under a hash tag), what it sends to Redis, its bound on unconfirmed
//! entries, and that this process's own concurrent writes never leave a stale entry.
//! (Staleness across processes, restarts and dropped connections: `redis_cache_faults`.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use typed_sessions::storage::redis::ClientSideCache;
use typed_sessions::storage::{Record, RedisStorage, SessionId, SessionStorage};

use super::redis_format::calls;
use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
use crate::support::servers::{self, Redis};

/// A fresh storage with the cache on, on the shared server: its own key prefix.
pub async fn fresh(test: &str) -> Option<RedisStorage> {
    let server = servers::redis(test)?;
    Some(cached(&server.url(), &format!("test:{}:", unique())).await)
}

/// A storage with the cache on at `url` under `prefix`.
pub async fn cached(url: &str, prefix: &str) -> RedisStorage {
    let storage = RedisStorage::builder()
        .prefix(prefix)
        .client_side_cache(ClientSideCache::new())
        .connect(url)
        .await
        .unwrap();
    let stats = storage.client_side_cache_stats().expect("the cache is on");
    assert!(stats.serving, "tracking runs once connected: {stats:?}");
    storage
}

storage_semantics!(fresh, sweeps = false);

/// The contract on a Cluster, sessions spread over the nodes.
mod cluster {
    use super::*;

    pub async fn fresh(test: &str) -> Option<RedisStorage> {
        let cluster = servers::redis_cluster(test)?;
        let storage = cached(&cluster.url(), &format!("test:{}:", unique())).await;
        assert!(storage.is_cluster());
        Some(storage)
    }

    storage_semantics!(fresh, sweeps = false);
}

/// The contract on a Cluster with every key in one slot.
mod hash_tag {
    use super::*;

    pub async fn fresh(test: &str) -> Option<RedisStorage> {
        let cluster = servers::redis_cluster(test)?;
        Some(cached(&cluster.url(), &format!("{{test-{}}}:", unique())).await)
    }

    storage_semantics!(fresh, sweeps = false);
}

/// A session used request after request costs one `SET` per change and, after its first
/// load, no read at all; a session nobody changes costs nothing. Counted by the server itself (a server of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_session_costs_one_set_per_change_and_no_read() {
    if servers::skipped("redis", "cached command counts") {
        return;
    }
    let server = Redis::start();
    let storage = cached(&server.url(), "app:").await;
    let t = base();
    let id = SessionId::generate();
    let mut current = record("v0", t, HOUR);
    storage.create(session_key(&id), &current, t).await.unwrap();
    assert!(
        server
            .command("CONFIG RESETSTAT")
            .unwrap()
            .starts_with("+OK")
    );
    // What a create wrote is not cached (a new session is often never seen again): the first
    // load reads it, once.
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(current.clone())
    );
    assert_eq!(calls(&server, "get"), 1);
    for n in 1..=20 {
        // What a request of the session does: load, then store the change.
        assert_eq!(
            storage.load(session_key(&id), t).await.unwrap(),
            Some(current.clone())
        );
        current = record(&format!("v{n}"), t, HOUR);
        assert!(storage.update(session_key(&id), &current, t).await.unwrap());
    }
    for _ in 0..20 {
        assert_eq!(
            storage.load(session_key(&id), t).await.unwrap(),
            Some(current.clone())
        );
    }
    assert_eq!(
        (calls(&server, "get"), calls(&server, "set")),
        (1, 20),
        "loads are served locally; each change is one SET"
    );
    assert_eq!(calls(&server, "evalsha"), 0);
    // A session this process has not seen is read once, then served locally.
    let other = SessionId::generate();
    let stored = record("elsewhere", t, HOUR);
    let writer = RedisStorage::builder()
        .prefix("app:")
        .connect(&server.url())
        .await
        .unwrap();
    let invalidations = storage.client_side_cache_stats().unwrap().invalidations;
    writer
        .create(session_key(&other), &stored, t)
        .await
        .unwrap();
    // Redis reports the other client's write to this one (broadcast mode): wait for it, so the
    // first load below does not race that report (a load that races one is not cached).
    let deadline = Instant::now() + Duration::from_secs(5);
    while storage.client_side_cache_stats().unwrap().invalidations == invalidations {
        assert!(
            Instant::now() < deadline,
            "the other client's write was never reported"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for _ in 0..5 {
        assert_eq!(
            storage.load(session_key(&other), t).await.unwrap(),
            Some(stored.clone())
        );
    }
    assert_eq!(calls(&server, "get"), 2);
    // An unknown id is never cached: each load asks Redis.
    let unknown = SessionId::generate();
    for _ in 0..3 {
        assert_eq!(storage.load(session_key(&unknown), t).await.unwrap(), None);
    }
    assert_eq!(calls(&server, "get"), 5);
    // The heartbeat is the only other traffic: a PING a second.
    assert!(calls(&server, "ping") <= 3);
}

/// With `max_unconfirmed`, an entry is served for that long after the read or write that
/// filled it, then Redis is asked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_is_served_only_for_the_bound_after_its_confirmation() {
    if servers::skipped("redis", "cache bound") {
        return;
    }
    let server = Redis::start();
    let bound = Duration::from_millis(300);
    let storage = RedisStorage::builder()
        .client_side_cache(ClientSideCache::new().max_unconfirmed(bound))
        .connect(&server.url())
        .await
        .unwrap();
    let t = base();
    let id = SessionId::generate();
    let r = record("v", t, HOUR);
    storage.create(session_key(&id), &r, t).await.unwrap();
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(r.clone())
    );
    server.command("CONFIG RESETSTAT").unwrap();
    for _ in 0..10 {
        assert_eq!(
            storage.load(session_key(&id), t).await.unwrap(),
            Some(r.clone())
        );
    }
    assert_eq!(calls(&server, "get"), 0, "within the bound: served locally");
    tokio::time::sleep(bound + Duration::from_millis(100)).await;
    for _ in 0..10 {
        assert_eq!(
            storage.load(session_key(&id), t).await.unwrap(),
            Some(r.clone())
        );
    }
    assert_eq!(calls(&server, "get"), 1, "past the bound: read again, once");
}

/// Many tasks of one process load and change one session at once; whatever order their
/// commands reach Redis in, the cache ends up serving what Redis holds (read by a storage
/// without a cache).
async fn own_writers_leave_no_stale_entry(url: &str) {
    let prefix = format!("test:{}:", unique());
    let storage = Arc::new(cached(url, &prefix).await);
    let reference = RedisStorage::builder()
        .prefix(prefix)
        .connect(url)
        .await
        .unwrap();
    let t = base();
    for round in 0..20 {
        let id = SessionId::generate();
        storage
            .create(session_key(&id), &record("start", t, HOUR), t)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for task in 0..16 {
            let (storage, id) = (Arc::clone(&storage), id.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0..10 {
                    storage.load(session_key(&id), t).await.unwrap();
                    let r = record(&format!("{round}/{task}/{n}"), t, HOUR);
                    assert!(storage.update(session_key(&id), &r, t).await.unwrap());
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let in_redis: Option<Record> = reference.load(session_key(&id), t).await.unwrap();
        assert!(in_redis.is_some());
        assert_eq!(
            storage.load(session_key(&id), t).await.unwrap(),
            in_redis,
            "round {round}: the cache serves another value than Redis holds"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_of_one_process_leave_no_stale_entry() {
    if let Some(server) = servers::redis("own writers") {
        own_writers_leave_no_stale_entry(&server.url()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_of_one_process_leave_no_stale_entry_in_a_cluster() {
    if let Some(cluster) = servers::redis_cluster("own writers, cluster") {
        own_writers_leave_no_stale_entry(&cluster.url()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_round_trip() {
    let Some(storage) = fresh("cached http_round_trip").await else {
        return;
    };
    super::http::round_trip(Arc::new(storage)).await;
}
