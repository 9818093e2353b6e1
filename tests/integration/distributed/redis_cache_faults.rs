//! Redis client-side caching across processes and failures: another process (another storage
//! with its own connections and cache, the command-line tool, another HTTP server) logs a user
//! out or gives the session a new id, and this process stops serving the session within a
//! measured bound; a Redis restart and a dropped connection empty the cache before anything
//! is served from it.

use std::time::{Duration, Instant};

use typed_sessions::storage::{Record, RedisStorage, SessionId, SessionStorage};

use super::redis_cache::cached;
use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
use crate::support::servers::{self, Redis, RedisCluster};

/// The most a session may still be served after another process's logout returned. Loopback
/// latency is microseconds; the bound leaves room for a loaded test machine.
pub const STALENESS_BOUND: Duration = Duration::from_millis(250);

/// Loads `id` from `reader` until it reads as gone; how long that took from `since`. Fails
/// past [`STALENESS_BOUND`], and if the session comes back afterwards.
pub async fn until_gone(reader: &RedisStorage, id: &SessionId, since: Instant) -> Duration {
    let t = base();
    let took = loop {
        if reader.load(session_key(id), t).await.unwrap().is_none() {
            break since.elapsed();
        }
        assert!(
            since.elapsed() < STALENESS_BOUND,
            "still served {:?} after another process ended it",
            since.elapsed()
        );
        tokio::task::yield_now().await;
    };
    for _ in 0..10 {
        assert_eq!(
            reader.load(session_key(id), t).await.unwrap(),
            None,
            "served again after it read as gone"
        );
    }
    took
}

/// Median and maximum of `times`, for the report.
pub fn summary(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

/// Process A (`writer`, its own connections) logs out or regenerates sessions that process B
/// (`reader`, with the cache) has cached; B stops serving each within the bound.
async fn another_process_ends_cached_sessions(
    writer: RedisStorage,
    reader: RedisStorage,
    what: &str,
) {
    let t = base();
    let (mut logouts, mut moves) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let id = SessionId::generate();
        let r = record("{\"user\":\"ada\"}", t, HOUR);
        writer.create(session_key(&id), &r, t).await.unwrap();
        cache_in(&reader, &id, &r).await;
        assert!(writer.delete(session_key(&id)).await.unwrap());
        logouts.push(until_gone(&reader, &id, Instant::now()).await);

        let (old, new) = (SessionId::generate(), SessionId::generate());
        writer.create(session_key(&old), &r, t).await.unwrap();
        cache_in(&reader, &old, &r).await;
        let renewed = record("{\"user\":\"ada\",\"renewed\":true}", t, HOUR);
        assert!(
            writer
                .change_id(session_key(&old), session_key(&new), &renewed, t)
                .await
                .unwrap()
        );
        moves.push(until_gone(&reader, &old, Instant::now()).await);
        assert_eq!(
            reader.load(session_key(&new), t).await.unwrap(),
            Some(renewed)
        );
    }
    let (logout_median, logout_max) = summary(&mut logouts);
    let (move_median, move_max) = summary(&mut moves);
    eprintln!(
        "staleness after another process's write returned ({what}, 40 each): logout median \
         {logout_median:?} max {logout_max:?}; new id median {move_median:?} max {move_max:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_logs_out_and_the_cached_session_goes() {
    let Some(server) = servers::redis("staleness") else {
        return;
    };
    let prefix = format!("test:{}:", unique());
    let writer = cached(&server.url(), &prefix).await;
    let reader = cached(&server.url(), &prefix).await;
    another_process_ends_cached_sessions(writer, reader, "single node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_logs_out_and_the_cached_session_goes_in_a_cluster() {
    let Some(cluster) = servers::redis_cluster("staleness, cluster") else {
        return;
    };
    let prefix = format!("test:{}:", unique());
    let writer = cached(&cluster.url(), &prefix).await;
    let reader = cached(&cluster.url(), &prefix).await;
    another_process_ends_cached_sessions(writer, reader, "cluster").await;
}

/// A restart loses the tracking connection: the cache empties before anything else is read,
/// so a change made while this process was not connected is seen at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_empties_the_cache() {
    if servers::skipped("redis", "cache restart") {
        return;
    }
    let server = Redis::start();
    let reader = cached(&server.url(), "app:").await;
    let writer = RedisStorage::builder()
        .prefix("app:")
        .connect(&server.url())
        .await
        .unwrap();
    let t = base();
    let id = SessionId::generate();
    let before = record("before", t, HOUR);
    reader.create(session_key(&id), &before, t).await.unwrap();
    cache_in(&reader, &id, &before).await;
    let resets = reader.client_side_cache_stats().unwrap().resets;
    tokio::task::block_in_place(|| server.restart());
    // Written before the reader sends anything on a new connection: no invalidation can
    // reach it.
    let after = record("after", t, HOUR);
    assert!(writer.update(session_key(&id), &after, t).await.unwrap());
    assert_eq!(
        reader.load(session_key(&id), t).await.unwrap(),
        Some(after.clone()),
        "the cache served a session from before the restart"
    );
    let stats = reader.client_side_cache_stats().unwrap();
    assert!(stats.resets > resets, "{stats:?}");
    // Caching resumes on the new connection, and invalidations flow on it.
    cache_in(&reader, &id, &after).await;
    assert!(writer.delete(session_key(&id)).await.unwrap());
    until_gone(&reader, &id, Instant::now()).await;
}

/// Loads `id` until `reader` has it cached. A fill is refused when an invalidation of its
/// slot arrives while the read is in flight, as the one for the session's own creation by
/// another storage may; a reset pauses filling until tracking runs again.
async fn cache_in(reader: &RedisStorage, id: &SessionId, expected: &Record) {
    let t = base();
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        assert_eq!(
            reader.load(session_key(id), t).await.unwrap().as_ref(),
            Some(expected)
        );
        if reader.is_cached(session_key(id), t) {
            return;
        }
        let stats = reader.client_side_cache_stats().unwrap();
        assert!(
            Instant::now() < until,
            "the reader never cached it: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A connection the server drops (`CLIENT KILL`) empties the cache as a restart does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_empties_the_cache() {
    if servers::skipped("redis", "cache killed connection") {
        return;
    }
    let server = Redis::start();
    let reader = cached(&server.url(), "app:").await;
    let t = base();
    let id = SessionId::generate();
    let before = record("before", t, HOUR);
    reader.create(session_key(&id), &before, t).await.unwrap();
    cache_in(&reader, &id, &before).await;
    let killed = server.command("CLIENT KILL TYPE normal").unwrap();
    assert!(killed.starts_with(':'), "{killed}");
    // The writer connects after the kill; its change reaches no invalidation to the reader.
    let writer = RedisStorage::builder()
        .prefix("app:")
        .connect(&server.url())
        .await
        .unwrap();
    let after = record("after", t, HOUR);
    assert!(writer.update(session_key(&id), &after, t).await.unwrap());
    assert_eq!(
        reader.load(session_key(&id), t).await.unwrap(),
        Some(after.clone()),
        "the cache served a session across a dropped connection"
    );
    cache_in(&reader, &id, &after).await;
}

/// The same in a Cluster: every node drops its clients; the cache empties, the keeper sets
/// tracking up again on the new node connections, and caching resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_cluster_connection_empties_the_cache() {
    if servers::skipped("redis", "cache killed connection, cluster") {
        return;
    }
    let cluster = RedisCluster::start();
    let reader = cached(&cluster.url(), "app:").await;
    let t = base();
    let ids: Vec<SessionId> = (0..12).map(|_| SessionId::generate()).collect();
    let before = record("before", t, HOUR);
    for id in &ids {
        reader.create(session_key(id), &before, t).await.unwrap();
        cache_in(&reader, id, &before).await;
    }
    for node in &cluster.nodes {
        node.command("CLIENT KILL TYPE normal").unwrap();
    }
    let writer = RedisStorage::builder()
        .prefix("app:")
        .connect(&cluster.url())
        .await
        .unwrap();
    let after = record("after", t, HOUR);
    for id in &ids {
        assert!(writer.update(session_key(id), &after, t).await.unwrap());
    }
    // The notices of the lost connections reach the cache from the client's background task:
    // give them a moment (they are not on the request path in a Cluster).
    tokio::time::sleep(Duration::from_millis(100)).await;
    for id in &ids {
        assert_eq!(
            reader.load(session_key(id), t).await.unwrap(),
            Some(after.clone()),
            "the cache served a session across a dropped connection"
        );
    }
    cache_in(&reader, &ids[0], &after).await;
    assert!(writer.delete(session_key(&ids[0])).await.unwrap());
    until_gone(&reader, &ids[0], Instant::now()).await;
}

/// An outage with the cache on is what it is without: `503` (nothing is served from the cache
/// once the client has seen the connection go), the cookie kept, and the session back after
/// the restart.
///
/// The client learns of the lost connection from its connection task, which reads the end of
/// the stream; until it has run, a cached session is still served, as it would be had the
/// server died a moment later. So the outage begins for the requests once the cache has
/// stopped serving, which must happen within three seconds of the server's end (a Cluster's
/// connections are also checked every second, should a notice not come).
async fn outage_with_the_cache(url: &str, stop: impl FnOnce(), restart: impl FnOnce()) {
    let timeout = Duration::from_secs(1);
    let storage = RedisStorage::builder()
        .timeout(timeout)
        .client_side_cache(typed_sessions::storage::redis::ClientSideCache::new())
        .connect(url)
        .await
        .unwrap();
    let observed = storage.clone();
    let stop = move || {
        stop();
        let stopped = Instant::now();
        while observed.client_side_cache_stats().unwrap().serving {
            assert!(
                stopped.elapsed() < Duration::from_secs(3),
                "the cache still serves three seconds after the server ended"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    super::http::outage_and_recovery(std::sync::Arc::new(storage), timeout, stop, restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_503_and_the_same_cookie_works_after_a_restart() {
    if servers::skipped("redis", "cached redis outage") {
        return;
    }
    let server = Redis::start();
    outage_with_the_cache(&server.url(), || server.stop(), || server.restart()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_503_and_the_same_cookie_works_after_a_restart_in_a_cluster() {
    if servers::skipped("redis", "cached redis cluster outage") {
        return;
    }
    let cluster = RedisCluster::start();
    outage_with_the_cache(&cluster.url(), || cluster.stop(), || cluster.restart()).await;
}
