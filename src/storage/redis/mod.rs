//! Redis storage, for a single server or a Redis Cluster (feature `redis`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use typed_sessions::SessionsConfig;
//! use typed_sessions::storage::RedisStorage;
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct Cart { items: Vec<u64> }
//!
//! let storage = RedisStorage::connect("redis://127.0.0.1:6379/0").await?;
//! // or: RedisStorage::cluster(["redis://10.0.0.1:7001", "redis://10.0.0.2:7002"]).await?
//! // or: RedisStorage::builder().prefix("shop:").timeout(Duration::from_secs(1))
//! //         .connect("redis+cluster://10.0.0.1:7001,10.0.0.2:7002").await?
//! let sessions = SessionsConfig::new()
//!     .cookie_with_storage::<Cart, _>("cart", storage, |c| c)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! It keeps the whole storage contract: records of any bytes with their revision and
//! metadata, conditional updates ([`update_if`](super::SessionStorage::update_if)), and the principal
//! index ([`sessions_of`](super::SessionStorage::sessions_of),
//! [`delete_of`](super::SessionStorage::delete_of), [`delete_all_of`](super::SessionStorage::delete_all_of)),
//! on a single node and on a Cluster.
//!
//! # Keys
//!
//! | what | single node, or a prefix with a hash tag | Cluster, prefix without a hash tag |
//! |---|---|---|
//! | a session | `prefix` + *k* | `prefix{t}` + *k* |
//! | a principal's index | `prefix` + `principal:` + *p* | `prefix{p4}principal:` + *p* |
//!
//! *k* is the session's [storage key](SessionKey::storage_key): the SHA-256 of its namespace
//! (the name the session is registered under) and its id, in hex. *p* is the SHA-256 of a
//! domain, the namespace and the principal, in hex, and *p4* its first four characters. The
//! default prefix is `typed-sessions:`. No raw id and no principal name is ever part of a key,
//! so `KEYS`, `MONITOR` or the slow log reveal neither. The principal hash is not keyed: the
//! session values hold the principal (an account page reads it back), so a secret would hide
//! nothing from whoever can read the database, and every instance of the application would
//! have to share it.
//!
//! *t*, the hash tag of a session in a Cluster, is the first four characters of its id when
//! they are lowercase hex (every default id; a dump therefore shows 16 of an id's 256 bits),
//! otherwise the first four characters of *k*. Sessions spread over the Cluster by their tag.
//! [`principal_id_prefix`](super::SessionStorage::principal_id_prefix) gives *p4*, and the sessions
//! layer starts every new id of that principal's sessions with it: the principal's sessions
//! and its index then share one hash slot, and one script writes a record and its index entry
//! together. A write of a principal's session under an id without the prefix is refused (a
//! [`StorageError`] with [`MisplacedSession`] as its source). On a single node, or under a
//! prefix with a hash tag (`{sessions}:`, every key in one slot), ids are free and the key
//! layout is the one of earlier versions. A Cluster prefix that holds a `{` without a whole
//! tag is refused ([`BraceInPrefix`]): Redis would pick the tag from wherever the next `}` is.
//!
//! # Values
//!
//! A session's value is one binary string: a fixed header (format `2`; `created_at`,
//! `expires_at`, revision, end of the absolute lifetime and last seen, as big-endian
//! milliseconds and integers; flags), for a session with a principal its index reference (*p*),
//! then the optional metadata (type version, principal, device, address) and the session's
//! bytes, binary or text. A load is one `GET` and a parse. Everything the scripts need is at a
//! fixed offset in the first 106 bytes, which they read with `GETRANGE`, never copying the
//! session into Lua. Values of the earlier format (a 17-byte header) still load, as records
//! with revision 0 and no metadata beyond their times, and are rewritten in the new format by
//! their next write.
//!
//! # Expiry
//!
//! Every write sets the key's expiry to the record's `expires_at` (`PXAT`), so Redis itself
//! deletes a session when its idle or absolute lifetime ends: no sweep is needed, and
//! [`delete_expired`](super::SessionStorage::delete_expired) does nothing and returns 0.
//! Liveness is judged by the application's clock (the `now` every call receives, compared
//! with the `expires_at` in the header): a load, an update, an id change or a create over an
//! old record treats a record expired at `now` as absent, even if Redis's clock is behind and
//! still holds the key.
//!
//! # The principal index
//!
//! Each principal of a namespace has a sorted set: its members are the storage keys of the
//! principal's sessions (hex, the same bytes as their [handles](super::SessionHandle)), their
//! scores the end of each session's absolute lifetime (`Metadata::lifetime_ends_at`, never
//! earlier than its expiry; renewals never pass it). The set follows the records in the same
//! script: a create of a session with a principal adds it, an id change moves it (also from
//! one principal to another, a login), a delete removes it. Plain updates and conditional
//! updates never touch it. Every addition drops the members whose score has passed and sets
//! the set's own expiry to its highest score, so the set disappears with its last session and
//! nothing accumulates: a member outlives its session (ended by an idle timeout) at most until
//! the end of that session's absolute lifetime. A listing reads the records in one script,
//! shows the live ones that belong to the principal, and drops members whose record is gone.
//!
//! A record carries its principal's text and the reference of its index (the hash in the
//! index key's name), so a request of a logged-in user touches neither the index nor SHA-256.
//! The storage keeps up to 1024 principals it has read (with their references); a record
//! naming one of them again shares that principal's text and reference rather than building
//! both anew, so after a user's first request, reading their session allocates no more than
//! reading an anonymous one.
//!
//! # Round trips and atomicity
//!
//! | operation | round trips | Redis commands | atomic because |
//! |---|---|---|---|
//! | `load` | 1 | `GET` | one command |
//! | `create` | 1 | `SET key value NX PXAT t`; with a principal, a script (`SET`, `ZADD`, trim, `PEXPIREAT`) | one command or one script |
//! | | +1 if the key exists | a script that replaces an ended record (and its index entry) | one script |
//! | `update` | 1 | `SET key value XX PXAT t GET` | one command (see below) |
//! | | +1 if the replaced record had ended | the delete script | |
//! | `update_if` | 1 | a script: compare the revision, `SET` | one script |
//! | `delete` | 1 | a script: `DEL`, and `ZREM` from the principal's index | one script |
//! | `change_id` | 1 | a script: old live, new free, `SET` new, `DEL` old, move the index entry | one script |
//! | `change_id` between two Cluster slots | 2 | create the new key (as `create`), then a script that ends the old one | two atomic steps (see below) |
//! | `sessions_of`, `delete_of`, `delete_all_of` | 1 | a script over the index and the principal's records | one script |
//!
//! An update is the hot path of every request that changes a session, so it is one plain
//! command rather than a script (a Lua call costs Redis noticeably more CPU than the `SET` it
//! wraps; BENCHMARKS.md has the figures). `XX` keeps "deletion wins": a session that a logout
//! deleted, or that Redis expired, is never written back. `GET` hands back the value it
//! replaced, and the client judges it with the application's clock; if that record had
//! already expired at `now` (Redis's clock runs behind the application's), the update deletes
//! the key and reports the session gone. Between the two commands the ended session holds
//! the new value for the length of one round trip, and a request that loads it in that window
//! sees it; the delete ends it for every request after. Conditional updates are not the hot
//! path: they are one script that compares the revision where the record lives.
//!
//! In a Cluster, the old and the new key of `change_id` are in different hash slots unless
//! both ids carry the same tag (a session of one principal given a new id), and no script or
//! transaction spans two slots. The move is then two atomic steps: create the new key
//! (insert-if-absent, with its index entry), then end the old one only if it is still live,
//! leaving under it, for a few seconds, a tombstone that names the move. If the second step
//! finds the old record gone (a concurrent logout), the new key is deleted again and the move
//! reports `false`, so deletion still wins and exactly one of several racing moves succeeds.
//! If the process dies between the steps, the new key is an orphan nobody knows the id of; it
//! expires at its `PXAT` (with a principal, the account page lists it until then). A prefix
//! with a [hash tag](https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags)
//! (`{sessions}:`) puts every session in one slot and makes every move one script, at the
//! price of keeping all sessions on one node.
//!
//! # Outages and retries
//!
//! Every call is bounded by the storage's timeout (default 2 s; all of a call's commands share
//! it, and a rare repair at the end of a call gets one more, see
//! [`RedisStorageBuilder::timeout`]): an unreachable, stopped or hung server becomes a
//! [`StorageError`] of kind
//! [`Unavailable`](crate::storage::StorageErrorKind::Unavailable) within that time, which
//! the sessions layer answers with `503` while keeping the client's cookie. The connection
//! re-establishes itself when the server is back; a call that finds the connection lost is
//! sent once more on the new connection (within the same timeout), so the first request
//! after the server's return already succeeds. Nothing panics, nothing needs a restart.
//!
//! A lost connection may also have lost only the reply, after the server ran the command (and
//! the Cluster client resends such commands by itself too). Every write therefore recognises
//! its own earlier effect: a create that finds a live record with its own revision counts as
//! inserted; an id change that finds the new key holding its own revision and the old one
//! gone, or the old key holding its own tombstone, counts as moved; a conditional update that
//! finds its own revision counts as written; an update that gets back its own value counts as
//! written. A delete sent twice still deletes, but may report that it found nothing.
//!
//! # Client-side caching
//!
//! [`RedisStorageBuilder::client_side_cache`] (off by default) keeps the records this process
//! has read or written in a bounded local table (the memory storage's, with its eviction
//! order), and Redis reports every change of them made by anyone else: each connection runs
//! `CLIENT TRACKING ON BCAST PREFIX <prefix> NOLOOP` over RESP3. A load of a cached session
//! then costs no round trip; a request that changes its session costs one (the update, with
//! the same server-side conditions as without the cache). A lost or doubtful connection
//! empties the cache before it serves again. See [`ClientSideCache`] for the guarantees, how
//! stale a session can be (the time an invalidation takes to arrive; an optional hard bound),
//! and the costs; BENCHMARKS.md for the figures.
//!
//! | operation, with the cache | round trips | Redis commands |
//! |---|---|---|
//! | `load` of a session this process read or wrote, unchanged since | 0 | |
//! | `load` of any other session | 1 | `GET` (then cached) |
//! | `update` | as without the cache | as without; the written record is cached |
//! | `create` | as without the cache | as without; cached by the session's first load |
//! | `update_if`, `delete`, `change_id`, principal ends | as without the cache | as without; the session's entry is dropped |
//!
//! redis-rs 1.x has a client-side cache of its own (feature `cache-aio`), which this storage
//! does not use: it tracks keys in Redis's default mode (a record written by this process is
//! no longer tracked until it is read again, so a session changed on every request would be
//! read on every request), keeps raw replies in an LRU of its own, and adds a `PTTL` to every
//! cached read. What this storage uses from redis-rs is RESP3 and its push messages: the
//! invalidations, and its notice that a connection closed.
//!
//! # Why redis-rs
//!
//! The client is [redis-rs](https://docs.rs/redis) 1.x (`tokio-comp`, `connection-manager`,
//! `cluster-async`, `script`; no default features), chosen over fred 10.x because:
//!
//! * **Per-request cost.** A command is packed into one buffer and written to a multiplexed
//!   connection shared by all requests; there is no pool to check out from and no per-call
//!   task. The hot path (`load`) is one `GET`.
//! * **Reconnection and Cluster** are built in: `ConnectionManager` replaces a lost
//!   connection in the background, `ClusterConnection` follows slot moves and failovers.
//! * **Timeouts** for connecting and for responses are settings of both connection types.
//! * **TLS** (`rediss://`) through rustls, behind this crate's `rustls` feature.
//! * **Compile cost**: with default features off it pulls in few crates beyond what tokio
//!   already brings; fred's command interface and its router are larger.
//! * It is the client maintained by Redis itself, and the one actix-session uses.

mod builder;
mod cache;
mod calls;
pub(crate) mod connection;
mod keeper;
mod keys;
mod principals;
mod record;
mod records;
mod scripts;
mod stats;
mod target;
mod tracked;
mod writes;

use std::sync::Arc;
use std::time::Duration;

pub use self::builder::RedisStorageBuilder;
use self::cache::SharedCache;
pub use self::cache::{ClientSideCache, ClientSideCacheStats, DEFAULT_CLIENT_CACHE_CAPACITY};
use self::connection::Conn;
pub use self::keys::{BraceInPrefix, MisplacedSession};
use self::keys::{Keys, Principal};
use self::record::RecentPrincipals;
use super::{Namespace, SessionKey, StorageError};

/// The key prefix used unless [`RedisStorageBuilder::prefix`] sets another.
pub const DEFAULT_PREFIX: &str = "typed-sessions:";

/// Sessions in Redis or a Redis Cluster. See the [module documentation](self) for the key
/// and value layout, expiry, the principal index, atomicity and outage behaviour.
///
/// Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct RedisStorage {
    conn: Conn,
    keys: Keys,
    timeout: Duration,
    cache: Option<SharedCache>,
    /// The principals this storage has read, shared by the records that name them again.
    recent: Arc<RecentPrincipals>,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("mode", &self.conn)
            .field("prefix", &self.keys.prefix())
            .field("timeout", &self.timeout)
            .field(
                "client_side_cache",
                &self.cache.as_ref().map(|c| c.capacity()),
            )
            .finish_non_exhaustive()
    }
}

impl RedisStorage {
    /// Connects to the server `url` names, with the default prefix and timeout. See
    /// [`RedisStorageBuilder::connect`] for the URL forms, Cluster URLs included.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
    /// use typed_sessions::storage::RedisStorage;
    /// let storage = RedisStorage::connect("redis://127.0.0.1:6379").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<RedisStorage, StorageError> {
        RedisStorageBuilder::default().connect(url).await
    }

    /// Connects to a Redis Cluster through its seed nodes, with the default prefix and
    /// timeout.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
    /// use typed_sessions::storage::RedisStorage;
    /// let storage = RedisStorage::cluster([
    ///     "redis://127.0.0.1:7001",
    ///     "redis://127.0.0.1:7002",
    ///     "redis://127.0.0.1:7003",
    /// ])
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn cluster<I, S>(nodes: I) -> Result<RedisStorage, StorageError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        RedisStorageBuilder::default().connect_cluster(nodes).await
    }

    /// Options: key prefix and timeout.
    pub fn builder() -> RedisStorageBuilder {
        RedisStorageBuilder::default()
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// Whether this storage talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// What the [client-side cache](ClientSideCache) holds and has done, or `None` if this
    /// storage has none.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
    /// use typed_sessions::storage::RedisStorage;
    /// use typed_sessions::storage::redis::ClientSideCache;
    /// let storage = RedisStorage::builder()
    ///     .client_side_cache(ClientSideCache::new())
    ///     .connect("redis://127.0.0.1:6379")
    ///     .await?;
    /// let stats = storage.client_side_cache_stats().expect("caching is on");
    /// assert!(stats.serving);
    /// assert_eq!(stats.entries, 0);
    /// # Ok(()) }
    /// ```
    pub fn client_side_cache_stats(&self) -> Option<ClientSideCacheStats> {
        self.cache.as_ref().map(|cache| cache.stats())
    }

    /// Whether a load of `session` at `now` would be answered by the client-side cache,
    /// without asking Redis (`false` without a cache). For tests and diagnostics; it does not
    /// count as a use of the session.
    pub fn is_cached(&self, session: SessionKey<'_>, now: std::time::SystemTime) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|cache| cache.would_serve(session.digest(), now))
    }

    /// The Redis key of a session on a single node or under a prefix with a hash tag: the
    /// prefix and its [storage key](SessionKey::storage_key) (the SHA-256 of its namespace and
    /// id) in hex. [`record_key`](Self::record_key) gives the key of a storage in any mode.
    ///
    /// ```
    /// # #[cfg(feature = "redis")] {
    /// use typed_sessions::storage::{Namespace, RedisStorage, SessionId};
    /// let id = SessionId::generate();
    /// let user = Namespace::new("user_session");
    /// let session = user.key(&id);
    /// let key = RedisStorage::key_for("typed-sessions:", session);
    /// assert_eq!(key, format!("typed-sessions:{}", session.storage_key()));
    /// assert!(!key.contains(id.as_str()));
    /// # }
    /// ```
    pub fn key_for(prefix: &str, session: SessionKey<'_>) -> String {
        let mut key = String::with_capacity(prefix.len() + crate::id::DEFAULT_ID_LEN);
        key.push_str(prefix);
        session.push_storage_key(&mut key);
        key
    }

    /// The Redis key of a session in this storage (in a Cluster without a hash tag in the
    /// prefix, with the session's own tag: see the [module documentation](self#keys)).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
    /// use typed_sessions::storage::{Namespace, RedisStorage, SessionId};
    /// let storage = RedisStorage::connect("redis://127.0.0.1:6379").await?;
    /// let id = SessionId::generate();
    /// let user = Namespace::new("user_session");
    /// let session = user.key(&id);
    /// assert_eq!(storage.record_key(session), RedisStorage::key_for(storage.prefix(), session));
    /// # Ok(()) }
    /// ```
    pub fn record_key(&self, session: SessionKey<'_>) -> String {
        self.keys.record(session).as_str().to_owned()
    }

    /// The Redis key of the principal index of `principal` in `namespace`: a sorted set of the
    /// storage keys of its sessions, scored by the end of their absolute lifetimes.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
    /// use typed_sessions::storage::{Namespace, RedisStorage};
    /// let storage = RedisStorage::connect("redis://127.0.0.1:6379").await?;
    /// let key = storage.principal_key(&Namespace::new("user_session"), "ada");
    /// assert!(key.starts_with("typed-sessions:principal:"));
    /// assert!(!key.contains("ada"));
    /// # Ok(()) }
    /// ```
    pub fn principal_key(&self, namespace: &Namespace, principal: &str) -> String {
        self.keys.index(&Principal::of(namespace, principal))
    }
}
