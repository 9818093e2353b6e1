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
//! # Keys and values
//!
//! A session lives under the key `prefix + hex(SHA-256(namespace, id))`
//! ([`SessionKey::storage_key`]: the id bound to its session's name); the default prefix is
//! `typed-sessions:`. The raw id never
//! reaches Redis, so a dump of the database (or `MONITOR`, or a slow log) reveals no live
//! session id. The value is one binary string: a 17-byte header (format version `1`,
//! `created_at` and `expires_at` as big-endian milliseconds since the Unix epoch) followed by
//! the serialized session, so a load is one `GET` and a parse of two integers.
//!
//! # Expiry
//!
//! Every write sets the key's expiry to the record's `expires_at` (`PXAT`), so Redis itself
//! deletes a session when its idle or absolute lifetime ends: no sweep is needed, and
//! [`delete_expired`](SessionStorage::delete_expired) does nothing and returns 0.
//! Liveness is judged by the application's clock (the `now` every call receives, compared
//! with the `expires_at` in the header): a load, an update, an id change or a create over an
//! old record treats a record expired at `now` as absent, even if Redis's clock is behind and
//! still holds the key.
//!
//! # Atomicity
//!
//! | operation | Redis commands | atomic because |
//! |---|---|---|
//! | `load` | `GET` | one command |
//! | `create` | `SET key value NX PXAT t`; only if the key exists, a script that replaces it if its record has expired at `now` | one command, or one script |
//! | `update` | `SET key value XX PXAT t GET`; only if the value it replaced had expired at `now`, a `DEL` | one command (see below) |
//! | `delete` | `DEL` | one command |
//! | `change_id` | a script: old live, new free, `SET` new, `DEL` old | one script (single node; Cluster with a hash tag in the prefix) |
//!
//! An update is the hot path of every request that changes a session, so it is one plain
//! command rather than a script (a Lua call costs Redis about 15 µs of CPU more than the
//! `SET` it wraps; see BENCHMARKS.md). `XX` keeps "deletion wins": a session that a logout
//! deleted, or that Redis expired, is never written back. `GET` hands back the value it
//! replaced, and the client judges it with the application's clock; if that record had
//! already expired at `now` (Redis's clock runs behind the application's), the update deletes
//! the key and reports the session gone. Between the two commands the ended session holds
//! the new value for the length of one round trip, and a request that loads it in that window
//! sees it; the `DEL` ends it for every request after.
//!
//! In a Cluster, the old and the new key of `change_id` are usually in different hash
//! slots, which no script or transaction can span. The move is then two atomic steps:
//! create the new key (insert-if-absent), then delete the old one only if it is still live;
//! if that finds it gone (a concurrent logout) the new key is deleted again and the move
//! reports `false`, so deletion still wins and exactly one of several racing moves succeeds.
//! If the process dies between the steps, the new key is an orphan nobody knows the id of,
//! and it expires at its `PXAT`. A prefix with a [hash tag](https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags)
//! (`{sessions}:`) puts every session in one slot and makes moves a single script again, at
//! the price of keeping all sessions on one node.
//!
//! # Outages
//!
//! Every call is bounded by the storage's timeout (default 2 s): an unreachable, stopped or
//! hung server becomes a [`StorageError`] of kind
//! [`Unavailable`](crate::storage::StorageErrorKind::Unavailable) within that time, which
//! the sessions layer answers with `503` while keeping the client's cookie. The connection
//! re-establishes itself when the server is back; a call that finds the connection lost is
//! sent once more on the new connection (within the same timeout), so the first request
//! after the server's return already succeeds. Nothing panics, nothing needs a restart.
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

pub(crate) mod connection;
mod record;
mod scripts;
mod stats;

use std::future::Future;
use std::time::{Duration, SystemTime};

use ::redis::{RedisResult, Value};
use async_trait::async_trait;
use tokio::time::{Instant, timeout_at};

use self::connection::{Conn, Target, is_retryable, storage_error};
use super::millis::to_millis;
use super::{Created, Record, SessionKey, SessionStorage, StorageError, StorageStats};

/// The key prefix used unless [`RedisStorageBuilder::prefix`] sets another.
pub const DEFAULT_PREFIX: &str = "typed-sessions:";

/// The time limit of one storage call unless [`RedisStorageBuilder::timeout`] sets another.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Sessions in Redis or a Redis Cluster. See the [module documentation](self) for the key
/// layout, expiry, atomicity and outage behaviour.
///
/// Cheap to clone: clones share one connection.
#[derive(Clone)]
pub struct RedisStorage {
    conn: Conn,
    prefix: Box<str>,
    timeout: Duration,
    /// Whether both keys of an id change always share a hash slot (single node, or a
    /// prefix with a hash tag), so the move can be one script.
    atomic_moves: bool,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("mode", &self.conn)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Options for a [`RedisStorage`]: the key prefix and the time limit of each call.
///
/// ```no_run
/// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
/// use std::time::Duration;
/// use typed_sessions::storage::RedisStorage;
///
/// let storage = RedisStorage::builder()
///     .prefix("myapp:sessions:")
///     .timeout(Duration::from_millis(500))
///     .connect("redis://:password@redis.internal:6379/1")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct RedisStorageBuilder {
    prefix: String,
    timeout: Duration,
}

impl Default for RedisStorageBuilder {
    fn default() -> Self {
        RedisStorageBuilder {
            prefix: DEFAULT_PREFIX.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl RedisStorageBuilder {
    /// The text every key starts with (default [`DEFAULT_PREFIX`]). Give each application
    /// sharing a Redis database its own prefix. Braces make a Cluster hash tag (see the
    /// [module documentation](self)).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest one storage call may take, connecting included (default
    /// [`DEFAULT_TIMEOUT`]). A call that takes longer fails as
    /// [`Unavailable`](crate::storage::StorageErrorKind::Unavailable).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects to the server or Cluster that `url` names:
    ///
    /// * `redis://[user[:password]@]host[:port][/db]`, `rediss://...` (TLS, feature
    ///   `rustls`), `redis+unix:///path/to/socket[?db=N]`;
    /// * a Cluster: `redis+cluster://[user[:password]@]host1:port1,host2:port2,...` (or
    ///   `rediss+cluster://` for TLS); any reachable node is enough to find the others.
    ///
    /// Fails with [`Unavailable`](crate::storage::StorageErrorKind::Unavailable) if the
    /// server cannot be reached within the timeout, and with
    /// [`Backend`](crate::storage::StorageErrorKind::Backend) for a malformed URL (the message
    /// never repeats the URL, which may hold a password).
    pub async fn connect(self, url: &str) -> Result<RedisStorage, StorageError> {
        let target = Target::parse(url).map_err(StorageError::backend)?;
        self.open(target).await
    }

    /// Connects to a Redis Cluster through its seed nodes (`redis://host:port` or
    /// `rediss://host:port` each).
    pub async fn connect_cluster<I, S>(self, nodes: I) -> Result<RedisStorage, StorageError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let target = Target::cluster(nodes).map_err(StorageError::backend)?;
        self.open(target).await
    }

    async fn open(self, target: Target) -> Result<RedisStorage, StorageError> {
        let conn = match tokio::time::timeout(self.timeout, Conn::open(target, self.timeout)).await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return Err(storage_error("connect", error)),
            Err(_) => {
                return Err(StorageError::unavailable(format!(
                    "Redis connect: no answer within {:?}",
                    self.timeout
                )));
            }
        };
        let atomic_moves = !conn.is_cluster() || has_hash_tag(&self.prefix);
        Ok(RedisStorage {
            conn,
            prefix: self.prefix.into_boxed_str(),
            timeout: self.timeout,
            atomic_moves,
        })
    }
}

/// Whether every key that starts with `prefix` (followed by hex) has the same Cluster hash
/// slot: the prefix holds `{`, then at least one character, then `}`.
fn has_hash_tag(prefix: &str) -> bool {
    prefix
        .split_once('{')
        .and_then(|(_, after)| after.find('}'))
        .is_some_and(|close| close > 0)
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
        &self.prefix
    }

    /// Whether this storage talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// The Redis key of a session: the prefix and its [storage key](SessionKey::storage_key)
    /// (the SHA-256 of its namespace and id) in hex.
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

    fn key(&self, session: SessionKey<'_>) -> String {
        Self::key_for(&self.prefix, session)
    }

    /// Runs `op` on the connection within the timeout, once more if the connection was lost.
    async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, StorageError>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let deadline = Instant::now() + self.timeout;
        let timed_out = || {
            StorageError::unavailable(format!("Redis {what}: no answer within {:?}", self.timeout))
        };
        match timeout_at(deadline, op(self.conn.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) if is_retryable(&error) => {
                tracing::debug!(%error, "Redis connection lost; sending once more");
                match timeout_at(deadline, op(self.conn.clone())).await {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(error)) => Err(storage_error(what, error)),
                    Err(_) => Err(timed_out()),
                }
            }
            Ok(Err(error)) => Err(storage_error(what, error)),
            Err(_) => Err(timed_out()),
        }
    }

    /// Inserts `value` under `key` unless a live record holds it at `now`.
    async fn insert(
        &self,
        key: &str,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let value = record::encode(record);
        let pxat = record::pxat(record);
        let set: Value = self
            .run("create", |mut conn| {
                let (key, value) = (key, &value);
                async move {
                    ::redis::cmd("SET")
                        .arg(key)
                        .arg(value)
                        .arg("NX")
                        .arg("PXAT")
                        .arg(pxat)
                        .query_async(&mut conn)
                        .await
                }
            })
            .await?;
        if !matches!(set, Value::Nil) {
            return Ok(true);
        }
        // The key exists: a live session, or one expired by our clock but not yet by Redis's.
        let now = to_millis(now);
        let inserted: i64 = self
            .run("create", |mut conn| {
                let (key, value) = (key, &value);
                async move {
                    scripts::CREATE
                        .key(key)
                        .arg(value)
                        .arg(pxat)
                        .arg(now)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(inserted == 1)
    }

    /// Deletes `key`; whether it existed.
    async fn remove(&self, key: &str) -> Result<bool, StorageError> {
        let removed: i64 = self
            .run("delete", |mut conn| async move {
                ::redis::cmd("DEL").arg(key).query_async(&mut conn).await
            })
            .await?;
        Ok(removed > 0)
    }
}

#[async_trait]
impl SessionStorage for RedisStorage {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        let (session, key) = (key, self.key(key));
        let value: Option<Vec<u8>> = self
            .run("load", |mut conn| {
                let key = &key;
                async move { ::redis::cmd("GET").arg(key).query_async(&mut conn).await }
            })
            .await?;
        let Some(value) = value else {
            return Ok(None);
        };
        match record::decode(value) {
            Some(record) if record.is_expired(now) => Ok(None),
            Some(record) => Ok(Some(record)),
            None => {
                tracing::warn!(
                    id = %session.id().log_tag(),
                    "a Redis session value is not in the expected format; it is removed"
                );
                self.remove(&key).await?;
                Ok(None)
            }
        }
    }

    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        let key = self.key(key);
        Ok(if self.insert(&key, record, now).await? {
            Created::Inserted
        } else {
            Created::Collision
        })
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (session, key) = (key, self.key(key));
        let value = record::encode(record);
        let pxat = record::pxat(record);
        // One command, no script: `XX` writes only over an existing key (a deleted session
        // stays deleted), `GET` returns what it replaced, so the clock rule is judged here.
        let replaced: Option<Vec<u8>> = self
            .run("update", |mut conn| {
                let (key, value) = (&key, &value);
                async move {
                    ::redis::cmd("SET")
                        .arg(key)
                        .arg(value)
                        .arg("XX")
                        .arg("PXAT")
                        .arg(pxat)
                        .arg("GET")
                        .query_async(&mut conn)
                        .await
                }
            })
            .await?;
        match replaced {
            None => Ok(false),
            Some(old) if record::is_live(&old, to_millis(now)) => Ok(true),
            Some(_) => {
                // The key held a record expired by our clock (Redis's runs behind) or a value
                // of another format: the session had ended, so the write must not revive it.
                tracing::debug!(
                    id = %session.id().log_tag(),
                    "Redis update replaced an ended record; removing it"
                );
                self.remove(&key).await?;
                Ok(false)
            }
        }
    }

    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.remove(&self.key(key)).await
    }

    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (old_key, new_key) = (self.key(old), self.key(new));
        let now_ms = to_millis(now);
        if self.atomic_moves {
            let value = record::encode(record);
            let pxat = record::pxat(record);
            let moved: i64 = self
                .run("change_id", |mut conn| {
                    let (old_key, new_key, value) = (&old_key, &new_key, &value);
                    async move {
                        scripts::CHANGE_ID
                            .key(old_key)
                            .key(new_key)
                            .arg(value)
                            .arg(pxat)
                            .arg(now_ms)
                            .invoke_async(&mut conn)
                            .await
                    }
                })
                .await?;
            return Ok(moved == 1);
        }
        // Two hash slots: insert the new record, then take the old one if it is still live.
        if !self.insert(&new_key, record, now).await? {
            return Ok(false);
        }
        let taken = self
            .run("change_id", |mut conn| {
                let old_key = &old_key;
                async move {
                    scripts::TAKE_LIVE
                        .key(old_key)
                        .arg(now_ms)
                        .invoke_async::<i64>(&mut conn)
                        .await
                }
            })
            .await;
        match taken {
            Ok(1) => Ok(true),
            Ok(_) => {
                // Ended meanwhile (a concurrent logout or move): deletion wins.
                self.remove(&new_key).await?;
                Ok(false)
            }
            Err(error) => {
                // Unknown whether the old record is gone: take the new one back, best effort.
                if let Err(undo) = self.remove(&new_key).await {
                    tracing::warn!(error = %undo, "Redis change_id: could not remove the new key after a failure; it expires on its own");
                }
                Err(error)
            }
        }
    }

    /// Redis deletes expired keys by itself (every key carries `PXAT`), so this does nothing
    /// and returns 0.
    async fn delete_expired(&self, _now: SystemTime) -> Result<u64, StorageError> {
        Ok(0)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    /// `SCAN` over the storage's keys (`prefix*`, every primary of a Cluster), reading each
    /// record's header for its expiry and `MEMORY USAGE` for the size (the value lengths
    /// where `MEMORY USAGE` is not allowed). Records expired by the `now` given but not yet
    /// by Redis's clock count as expired; values under the prefix that are not records
    /// count as unreadable.
    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        self.survey(now).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags() {
        assert!(has_hash_tag("{sessions}:"));
        assert!(has_hash_tag("app:{s}"));
        assert!(!has_hash_tag("typed-sessions:"));
        assert!(!has_hash_tag("{}:"));
        assert!(!has_hash_tag("{open:"));
        assert!(!has_hash_tag("close}:"));
    }
}
