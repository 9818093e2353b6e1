//! The public face of client-side caching: its options and its figures.

use std::time::Duration;

/// How many sessions a [`ClientSideCache`] keeps by default.
pub const DEFAULT_CLIENT_CACHE_CAPACITY: usize = 10_000;

/// Client-side caching for a [`RedisStorage`](super::super::RedisStorage): loads of sessions
/// this process has read or written recently are answered from local memory, and Redis tells
/// the process when any of them changes. Off unless
/// [`RedisStorageBuilder::client_side_cache`](super::super::RedisStorageBuilder::client_side_cache)
/// turns it on.
///
/// ```no_run
/// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
/// use std::time::Duration;
/// use typed_sessions::storage::RedisStorage;
/// use typed_sessions::storage::redis::ClientSideCache;
///
/// let storage = RedisStorage::builder()
///     .client_side_cache(
///         ClientSideCache::new()
///             .capacity(50_000)
///             .max_unconfirmed(Duration::from_secs(30)),
///     )
///     .connect("redis://127.0.0.1:6379")
///     .await?;
/// # Ok(()) }
/// ```
///
/// # How it stays correct
///
/// * **Redis reports every change.** Each connection of the storage (one to a single server,
///   one per node of a Cluster) runs `CLIENT TRACKING ON BCAST PREFIX <prefix> NOLOOP` over
///   RESP3 before it carries anything the cache keeps: from then on, Redis sends the connection
///   an invalidation message for every key under the storage's prefix that any *other* client
///   changes (another process, another storage, the command-line tool). The cache forgets
///   the session the key belongs to.
/// * **Writes are unchanged.** Every create, update, conditional update, delete and id change
///   goes to Redis with the same server-side conditions as without the cache (create only if
///   absent, update only if live, deletion wins, the revision compare of `update_if`). After
///   a plain update the cache keeps what was written, because Redis now holds exactly that.
///   A create is not cached (the session's first load is: most sessions a flood of cookie-less
///   requests creates are never loaded again), nor are writes made by scripts (a login with a
///   principal, an id change, a conditional update, a delete): the next load of that session
///   reads Redis.
/// * **Nothing stale is filled.** A record read from or written to Redis enters the cache only
///   if no invalidation of its key arrived and no other write of this process to it was in
///   flight while the command ran: two writes of one process to one session may reach Redis
///   in either order, and Redis reports neither of them to the writer (`NOLOOP`).
/// * **No invalidation is missed silently.** On a lost connection (the server restarted or
///   was killed, the connection was dropped, a call timed out), the cache is emptied and
///   stops serving before the storage uses another connection, and starts again only once
///   tracking runs on the new one. On a single server the storage opens that connection
///   itself, so this happens before any later read is answered. In a Cluster the client
///   library reconnects nodes on its own and reports lost connections from its background task:
///   the cache empties when that report arrives, and a check every second (`CLIENT
///   TRACKINGINFO` on every primary) finds connections the library opened without a report
///   (a new primary after a failover), empties the cache and switches tracking on there.
///   Either way a loss counts from when the client sees it (the end of the stream, read by
///   the connection's task, or a failed call): a read answered from the cache in between is
///   what it would have been just before the server went away.
/// * **A silent network failure is found within seconds.** A connection that stops answering
///   without closing delivers no invalidations either: a `PING` every second (bounded by the
///   storage's timeout) finds it, and the cache empties.
/// * **Expiry is judged as always**: a cached record is served only while it is live at the
///   caller's `now` and at the real time.
///
/// # How stale a session can be
///
/// A change made elsewhere reaches this process with its invalidation: Redis sends it when it
/// has run the writer's command (at the end of that pass of its event loop, so no later than
/// the writer's reply), then it crosses the network and the client library. Until it arrives,
/// this process may still serve the old record: the window is the one-way latency from Redis to
/// this process plus a scheduling delay, not a period of the cache. The integration tests
/// measure it (another storage, another HTTP instance in this process or in another process,
/// the command-line tool ending a session this process has cached, on a single node and on a
/// Cluster) and assert an upper bound; BENCHMARKS.md records the figures. Failures widen the window: a silent network failure
/// lasts until the next `PING` times out (the storage's timeout plus up to a second), an
/// unreported new Cluster connection until the next check (up to a second).
///
/// For a hard upper bound whatever fails, set [`max_unconfirmed`](Self::max_unconfirmed): an
/// entry is then served only for that long after the read or write that filled it, and the
/// next load reads Redis again.
///
/// # Costs
///
/// Memory: at most [`capacity`](Self::capacity) records (default
/// [`DEFAULT_CLIENT_CACHE_CAPACITY`]), evicted as in the memory storage: expired entries
/// first, then sessions created and never used again, then the least recently used. Network:
/// every process with the cache on receives an invalidation for every change of a session
/// under the prefix by any other process (broadcast mode), a few dozen bytes each, batched by
/// Redis; a process's own plain writes come back to nobody. Redis keeps no per-key state for
/// it. Needs Redis 6.2 or later (RESP3, `CLIENT TRACKINGINFO`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "options do nothing until given to `RedisStorageBuilder::client_side_cache`"]
pub struct ClientSideCache {
    pub(super) capacity: usize,
    pub(super) max_unconfirmed: Option<Duration>,
}

impl Default for ClientSideCache {
    fn default() -> Self {
        ClientSideCache {
            capacity: DEFAULT_CLIENT_CACHE_CAPACITY,
            max_unconfirmed: None,
        }
    }
}

impl ClientSideCache {
    /// [`DEFAULT_CLIENT_CACHE_CAPACITY`] sessions, served as long as no invalidation arrives.
    ///
    /// ```
    /// # #[cfg(feature = "redis")] {
    /// use typed_sessions::storage::redis::{ClientSideCache, DEFAULT_CLIENT_CACHE_CAPACITY};
    /// assert_eq!(ClientSideCache::new(), ClientSideCache::default());
    /// # }
    /// ```
    pub fn new() -> Self {
        ClientSideCache::default()
    }

    /// Keeps at most `capacity` sessions (at least 1); beyond it, sessions are evicted as in
    /// the memory storage.
    ///
    /// ```
    /// # #[cfg(feature = "redis")] {
    /// use typed_sessions::storage::redis::ClientSideCache;
    /// let small = ClientSideCache::new().capacity(1_000);
    /// assert_ne!(small, ClientSideCache::new());
    /// # }
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Serves a cached session for at most `bound` after Redis last confirmed it (the read or
    /// write that cached it); the next load after that reads Redis. This caps the staleness
    /// whatever happens to invalidations, at the price of one read per session and `bound`.
    /// Default: no bound beyond the invalidations.
    ///
    /// ```
    /// # #[cfg(feature = "redis")] {
    /// use std::time::Duration;
    /// use typed_sessions::storage::redis::ClientSideCache;
    /// // A logout elsewhere takes effect here within 10 s even if an invalidation is lost.
    /// let bounded = ClientSideCache::new().max_unconfirmed(Duration::from_secs(10));
    /// assert_ne!(bounded, ClientSideCache::new());
    /// # }
    /// ```
    pub fn max_unconfirmed(mut self, bound: Duration) -> Self {
        self.max_unconfirmed = Some(bound);
        self
    }
}

/// What a storage's client-side cache holds and has done, from
/// [`RedisStorage::client_side_cache_stats`](super::super::RedisStorage::client_side_cache_stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientSideCacheStats {
    /// Sessions cached now (of the current generation; visits every shard).
    pub entries: usize,
    /// The most it keeps.
    pub capacity: usize,
    /// Whether it answers loads now: tracking runs on every connection.
    pub serving: bool,
    /// Invalidations received for this storage's sessions (and flushes).
    pub invalidations: u64,
    /// Times it was emptied: each connection set up, lost or found without tracking, and each
    /// flush of the database.
    pub resets: u64,
    /// Sessions evicted to make room.
    pub evictions: u64,
}
