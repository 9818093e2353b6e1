//! Storages: where the payload of a by-id session lives.
//!
//! The client holds only an id (signed or encrypted by the transformer chain); the serialized
//! session is a [`Record`] in a [`SessionStorage`]. Three storages come with the crate:
//!
//! | storage | for | survives a restart | shared between processes |
//! |---|---|---|---|
//! | [`MemoryStorage`] | one process, development, caches | no | no |
//! | [`DirectoryStorage`] | production on one machine (the embedded default) | yes | yes, same directory |
//! | [`CacheStorage`] | a bounded in-memory cache in front of any storage | (the inner one's) | (the inner one's), with bounded staleness |
//!
//! # The contract
//!
//! Every storage keeps these rules; the
#![cfg_attr(feature = "test-support", doc = "[contract suite](contract)")]
#![cfg_attr(
    not(feature = "test-support"),
    doc = "contract suite (`storage::contract`)"
)]
//! (feature `test-support`) checks them against any implementation, yours included.
//!
//! * [`load`](SessionStorage::load) returns `Ok(None)` for an id that is unknown **or expired**,
//!   whether or not a sweep has run.
//! * [`create`](SessionStorage::create) inserts only if no live record has the id, and says
//!   [`Created::Collision`] otherwise: a collision never overwrites another session
//!   (tower-sessions#180). An expired record under the id may be replaced.
//! * [`update`](SessionStorage::update) replaces only a record that is still live, so a request
//!   that read a session before a concurrent logout deleted it can never bring it back
//!   (CVE-2025-32441 in rack-session is that bug). An expired record is not revived either.
//! * [`delete`](SessionStorage::delete) always wins and is idempotent.
//! * [`change_id`](SessionStorage::change_id) moves a live record to a new id and kills the old
//!   one, atomically where the backend allows (regeneration against session fixation). It
//!   refuses when the old record is gone or the new id is taken.
//! * [`delete_expired`](SessionStorage::delete_expired) removes expired records; storages also
//!   drop them on their own where they can (see each storage).
//!   [`delete_expired_batch`](SessionStorage::delete_expired_batch) does the same in steps,
//!   for callers that report progress.
//! * [`stats`](SessionStorage::stats), where a storage supports it, counts live and expired
//!   records at `now` and tells the storage's size. It is for operators
//!   (`typed-sessions store stats`) and metrics, never for the request path: it may visit
//!   every record.
//! * Failures are [`StorageError`]s, never "not found": an outage must not look like a logout.
//!   A corrupt or undecodable record is **not** an error: it reads as absent and is removed.
//!
//! Concurrent writers to one session follow last-writer-wins for whole records, with the two
//! rules above on top (deletion wins; no write to a record that is gone).
//!
//! # Expiry
//!
//! A record carries its own expiry ([`Record::expires_at`]), decided by the by-id tracker as the
//! earlier of `created_at + lifetime` and, with an idle timeout, `last use + idle timeout`.
//! Every operation receives `now` from the caller (the sessions layer's
//! [`Clock`](crate::clock::Clock)); a record with `expires_at <= now` is absent from then on.
//! A storage may in addition drop records by its own clock once their `expires_at` has passed
//! in real time (a Redis `PXAT`, the memory storage's background eviction), so callers pass
//! times close to the real time.
//!
//! # Keys
//!
//! Ids reach a storage only after validation ([`SessionId`]): 64 lowercase hex characters, or
//! 1 to 128 characters from `[A-Za-z0-9_-]` for custom generators. Every operation gets a
//! [`SessionKey`]: the id within the [`Namespace`] of its session (the name the session is
//! registered under), so records of different sessions never meet, even in one shared storage,
//! and an id issued for one session finds nothing as another session's. Persistent storages
//! file a record under [`SessionKey::storage_key`] (the SHA-256 of the name and the id), so a
//! dump of the storage does not reveal live ids and nothing from the client ever becomes part of
//! a path or a query; the memory storages key records by the namespace's tag and the id.
//!
//! # The directory layout and its durability
//!
//! [`DirectoryStorage`] keeps one file per session, `root/<k0k1>/<k>` where `k` is the 64-hex
//! storage key and `k0k1` its first two characters (256 fan-out directories). A write is
//! crash-atomic and durable:
//!
//! 1. the record goes into a new temporary file in the same directory (`create_new`, mode
//!    `0600`), then `sync_all`;
//! 2. a create links it to the final name with `link(2)`, which fails if the name exists, so
//!    two creators can never both win; an update `rename(2)`s it over the final name, which
//!    readers see as either the old or the new file, never a mix;
//! 3. the directory is fsynced, so the new name survives a power loss.
//!
//! Updates and deletes lock the current file (`flock`) and check that the name still points at
//! it, so a delete and an update never interleave, also across processes sharing the directory.
//! Reads take no lock. See [`directory`] for the file format and the Ktor-compatible layout.
//!
//! # Writing your own storage
//!
//! Implement [`SessionStorage`] (the trait's example below is a complete, if simple,
//! implementation), then run the contract suite against it in a test:
//!
//! ```toml
//! [dev-dependencies]
//! typed-sessions = { version = "0.1", features = ["test-support"] }
//! ```
//!
//! ```
//! # #[cfg(feature = "test-support")]
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() {
//! # use typed_sessions::storage::MemoryStorage as MyStorage;
//! // In your tests: #[tokio::test(flavor = "multi_thread")]
//! typed_sessions::storage::contract::run(|| async { MyStorage::new() }).await;
//! # }
//! # #[cfg(not(feature = "test-support"))]
//! # fn main() {}
//! ```
//!
//! Expired records accumulate in storages that cannot expire them on their own; run
//! [`spawn_sweeper`] (or call [`delete_expired`](SessionStorage::delete_expired) from your own
//! scheduler) to remove them.

mod cache;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
#[cfg(unix)]
pub mod directory;
mod key;
mod memory;
#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
mod millis;
mod open;
pub(crate) mod principal;
mod quota;
mod record;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub mod sql;
mod stats;
mod sweeper;
mod table;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

pub use crate::error::{StorageError, StorageErrorKind};
pub use crate::id::{Namespace, SessionId, SessionKey};
pub use cache::{CacheStorage, DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL};
#[cfg(unix)]
pub use directory::{DirectoryStorage, DirectoryStorageBuilder};
pub use memory::{DEFAULT_MEMORY_CAPACITY, MemoryStorage};
pub use open::{OpenError, open_url};
pub use principal::{Device, InvalidHandle, OnLimit, PrincipalSession, Principals, SessionHandle};
pub use quota::{DEFAULT_RECOUNT_EVERY, QuotaStorage};
#[cfg(feature = "redis")]
pub(crate) use record::IndexRef;
pub use record::{Created, Metadata, Record, Revision, Updated};
#[cfg(feature = "redis")]
pub use redis::{RedisStorage, RedisStorageBuilder};
#[cfg(feature = "postgres")]
pub use sql::{PostgresStorage, PostgresStorageBuilder};
#[cfg(feature = "sqlite")]
pub use sql::{SqliteStorage, SqliteStorageBuilder};
pub use stats::{PurgeBatch, PurgeCursor, StorageStats};
pub use sweeper::spawn_sweeper;

/// The longest one call of a networked storage (Redis, PostgreSQL, SQLite) may take unless its
/// builder sets another (`timeout`); a call that takes longer fails as
/// [`Unavailable`](StorageErrorKind::Unavailable).
#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
pub const DEFAULT_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The storage behind by-id sessions. Async and object-safe: sessions hold it as
/// `Arc<dyn SessionStorage>`; `Arc<S>` is a storage too, so one storage can serve several
/// sessions and a [sweeper](spawn_sweeper).
///
/// See the [module documentation](self) for the contract. Implement it for your own backend
/// and run the
#[cfg_attr(feature = "test-support", doc = "[contract suite](contract)")]
#[cfg_attr(
    not(feature = "test-support"),
    doc = "contract suite (`storage::contract`)"
)]
/// (feature `test-support`) to check it.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::SystemTime;
/// use typed_sessions::storage::{
///     Created, Namespace, Record, SessionId, SessionKey, SessionStorage, StorageError,
/// };
///
/// /// A minimal storage: one mutex around a map (unbounded: for illustration only).
/// #[derive(Debug, Default)]
/// struct MapStorage(Mutex<HashMap<String, Record>>);
///
/// impl MapStorage {
///     fn map(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Record>>, StorageError> {
///         self.0.lock().map_err(|_| StorageError::backend("poisoned"))
///     }
/// }
///
/// #[async_trait::async_trait]
/// impl SessionStorage for MapStorage {
///     async fn load(&self, key: SessionKey<'_>, now: SystemTime) -> Result<Option<Record>, StorageError> {
///         Ok(self.map()?.get(&key.storage_key()).filter(|r| !r.is_expired(now)).cloned())
///     }
///     async fn create(&self, key: SessionKey<'_>, record: &Record, now: SystemTime) -> Result<Created, StorageError> {
///         let mut map = self.map()?;
///         let key = key.storage_key();
///         if map.get(&key).is_some_and(|r| !r.is_expired(now)) {
///             return Ok(Created::Collision);
///         }
///         map.insert(key, record.clone());
///         Ok(Created::Inserted)
///     }
///     async fn update(&self, key: SessionKey<'_>, record: &Record, now: SystemTime) -> Result<bool, StorageError> {
///         let mut map = self.map()?;
///         match map.get_mut(&key.storage_key()) {
///             Some(r) if !r.is_expired(now) => { *r = record.clone(); Ok(true) }
///             _ => Ok(false),
///         }
///     }
///     async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
///         Ok(self.map()?.remove(&key.storage_key()).is_some())
///     }
///     async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
///         let mut map = self.map()?;
///         let before = map.len();
///         map.retain(|_, r| !r.is_expired(now));
///         Ok((before - map.len()) as u64)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // The default `change_id` comes for free and keeps the contract.
/// let storage = MapStorage::default();
/// let cart = Namespace::new("cart");
/// let (old, new) = (SessionId::generate(), SessionId::generate());
/// let (old, new) = (cart.key(&old), cart.key(&new));
/// let now = SystemTime::now();
/// let record = Record::new("{}", now, now + std::time::Duration::from_secs(60));
/// assert_eq!(storage.create(old, &record, now).await?, Created::Inserted);
/// assert!(storage.change_id(old, new, &record, now).await?);
/// assert_eq!(storage.load(old, now).await?, None);
/// assert_eq!(storage.load(new, now).await?, Some(record));
/// # Ok::<(), StorageError>(()) }).unwrap();
/// ```
#[async_trait]
pub trait SessionStorage: fmt::Debug + Send + Sync + 'static {
    /// The live record for `key`, or `None` if there is none or it has expired at `now`.
    ///
    /// A record that cannot be decoded reads as `None` (and should be removed), never as an
    /// error.
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError>;

    /// Inserts `record` under `key` only if no live record has that key at `now`
    /// ([`Created::Collision`] otherwise, with nothing written). An expired record under `key`
    /// may be replaced. A storage that keeps the principal index files the record under its
    /// principal in the same atomic operation.
    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError>;

    /// Replaces the record under `key` only if a live one exists at `now` (whatever its
    /// revision: the last writer wins); `Ok(false)`, with nothing written, if it does not
    /// (deleted, expired or never created).
    ///
    /// The record keeps the principal it was stored with: the sessions layer never changes a
    /// session's principal in place (a new principal means a new id, through
    /// [`change_id`](Self::change_id)), so an update never touches the principal index.
    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError>;

    /// Replaces the record under `key` only if a live one exists at `now` **and** its revision
    /// is still `expected` (the one the caller read), atomically: the compare happens where the
    /// record lives (under the storage's lock, in one script, in the `UPDATE ... WHERE`).
    /// [`Updated::Conflict`] if another write came between, [`Updated::Gone`] if the record is
    /// deleted or expired (deletion wins: nothing is revived).
    ///
    /// Storages that cannot compare atomically keep the default, which refuses with
    /// [`StorageErrorKind::Unsupported`]; see
    /// [`supports_conditional_updates`](Self::supports_conditional_updates).
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        let _ = (key, record, expected, now);
        Err(StorageError::unsupported(
            "this storage does not support conditional updates",
        ))
    }

    /// Removes the record under `key`, if any, and its principal index entry. Idempotent;
    /// returns whether a record (live or expired) was removed.
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError>;

    /// Moves the live record from `old` to `new` with `record` as its content, and removes
    /// `old`. Returns `Ok(false)`, with nothing changed, if `old` is gone (or expired) or
    /// `new` is taken by a live record. The principal index follows: `old`'s entry goes, and
    /// `new` is filed under `record`'s principal (which may differ from `old`'s: a login).
    ///
    /// The default creates `new`, then deletes `old`, and takes `new` back if `old` turned
    /// out to be gone already, so a concurrent logout of `old` never leaves the session alive
    /// under `new`. For a moment both ids exist; nobody knows `new` yet, so nothing can use
    /// it. Backends that can do both at once (a transaction, a script, one lock) override it.
    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        if self.load(old, now).await?.is_none() {
            return Ok(false);
        }
        if self.create(new, record, now).await? == Created::Collision {
            return Ok(false);
        }
        if self.delete(old).await? {
            return Ok(true);
        }
        // `old` was deleted between the load and here (a concurrent logout): deletion wins.
        self.delete(new).await?;
        Ok(false)
    }

    /// Removes every record that has expired at `now` (and their principal index entries) and
    /// returns how many records it removed.
    ///
    /// Storages whose backend expires records by itself may return `0`.
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError>;

    /// A short name for the kind of backend, used as the `backend` label of the metrics
    /// (`SessionsConfig::metrics`; the guide's "Metrics" section lists them), `"custom"` unless
    /// overridden.
    fn backend(&self) -> &'static str {
        "custom"
    }

    /// Whether [`update_if`](Self::update_if) is implemented (`false` unless overridden).
    fn supports_conditional_updates(&self) -> bool {
        false
    }

    /// How long a call of this storage can take at most, if the storage bounds its own calls:
    /// `Some(d)` promises that every call of every method except
    /// [`delete_expired`](Self::delete_expired), [`delete_expired_batch`](Self::delete_expired_batch)
    /// and [`stats`](Self::stats) ends within `d` of its start, as an
    /// [`Unavailable`](StorageErrorKind::Unavailable) error if it must. `None` (the default)
    /// promises nothing. A method the storage leaves to its default (such as
    /// [`change_id`](Self::change_id), which then makes several calls) counts with all its
    /// calls.
    ///
    /// The sessions layer bounds every storage call it makes by its own timer
    /// ([`SessionBuilder::storage_timeout`](crate::SessionBuilder::storage_timeout)); for a
    /// storage whose bound is at most that timeout it arms none, which saves a timer per call.
    /// The Redis storage returns twice its `timeout` (see its builder).
    fn call_bound(&self) -> Option<std::time::Duration> {
        None
    }

    /// Whether this storage keeps the principal index (`false` unless overridden): files each
    /// record under its [`principal`](Metadata::principal) atomically with the record, and
    /// implements [`sessions_of`](Self::sessions_of), [`delete_of`](Self::delete_of) and
    /// [`delete_all_of`](Self::delete_all_of). Registering a session with a principal on a
    /// storage without it is a configuration error.
    fn supports_principals(&self) -> bool {
        false
    }

    /// The live sessions of `principal` in `namespace` at `now`, in no particular order.
    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        let _ = (namespace, principal, now);
        Err(StorageError::unsupported(
            "this storage does not keep a principal index",
        ))
    }

    /// Ends the session `handle` if it belongs to `principal` in `namespace` (a handle of
    /// anyone else's session ends nothing); whether a session was ended.
    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        let _ = (namespace, principal, handle);
        Err(StorageError::unsupported(
            "this storage does not keep a principal index",
        ))
    }

    /// Ends every session of `principal` in `namespace` except `except` (the current one, for
    /// "log out everywhere else"; `None` for all, for a password reset or an account deletion);
    /// how many it ended.
    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        let _ = (namespace, principal, except);
        Err(StorageError::unsupported(
            "this storage does not keep a principal index",
        ))
    }

    /// A prefix that new ids of `principal`'s sessions must start with, if the storage needs
    /// one to keep a principal's sessions together (Redis Cluster keeps a record and its
    /// principal's index in one hash slot, chosen by the first characters of the id). `None`
    /// (the default): any id.
    fn principal_id_prefix(&self, namespace: &Namespace, principal: &str) -> Option<String> {
        let _ = (namespace, principal);
        None
    }

    /// One step of a purge of the records expired at `now`, for callers that show progress or
    /// want to pause between steps: removes some of them (about `limit`; a storage may remove
    /// more or fewer per step, for example one directory at a time) and says where the next
    /// step starts. Start with `from = None` and pass each returned
    /// [`next`](PurgeBatch::next) back, with the same `now`, until it is `None`: by then every
    /// record that had expired at `now` when the purge began is gone, as after
    /// [`delete_expired`](Self::delete_expired).
    ///
    /// The default does the whole purge in one step with `delete_expired`; storages that can
    /// work in steps override it.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use typed_sessions::storage::{MemoryStorage, Namespace, Record, SessionId, SessionStorage};
    ///
    /// let storage = MemoryStorage::new();
    /// let now = SystemTime::now();
    /// let old = Record::new("{}", now - Duration::from_secs(60), now - Duration::from_secs(1));
    /// let (cart, id) = (Namespace::new("cart"), SessionId::generate());
    /// storage.create(cart.key(&id), &old, now - Duration::from_secs(60)).await?;
    ///
    /// let (mut removed, mut from) = (0, None);
    /// loop {
    ///     let batch = storage.delete_expired_batch(now, from, 1000).await?;
    ///     removed += batch.removed;
    ///     match batch.next {
    ///         Some(next) => from = Some(next),
    ///         None => break,
    ///     }
    /// }
    /// assert_eq!(removed, 1);
    /// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
    /// ```
    async fn delete_expired_batch(
        &self,
        now: SystemTime,
        from: Option<PurgeCursor>,
        limit: u64,
    ) -> Result<PurgeBatch, StorageError> {
        let _ = (from, limit);
        self.delete_expired(now).await.map(PurgeBatch::finished)
    }

    /// Counts the records live and expired at `now` and tells the storage's size, or
    /// `Ok(None)` if this storage cannot (the default). For operators and metrics: it may
    /// visit every record, so never call it on the request path. It creates and removes
    /// nothing.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use typed_sessions::storage::{MemoryStorage, Namespace, Record, SessionId, SessionStorage};
    ///
    /// let storage = MemoryStorage::new();
    /// let now = SystemTime::now();
    /// let record = Record::new("{}", now, now + Duration::from_secs(60));
    /// let (cart, id) = (Namespace::new("cart"), SessionId::generate());
    /// storage.create(cart.key(&id), &record, now).await?;
    /// let stats = storage.stats(now).await?.expect("the memory storage counts");
    /// assert_eq!((stats.live, stats.expired), (1, 0));
    /// let later = storage.stats(now + Duration::from_secs(60)).await?.unwrap();
    /// assert_eq!((later.live, later.expired), (0, 1));
    /// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
    /// ```
    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        let _ = now;
        Ok(None)
    }
}

#[async_trait]
impl<S: SessionStorage + ?Sized> SessionStorage for Arc<S> {
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        (**self).update_if(key, record, expected, now).await
    }
    fn supports_conditional_updates(&self) -> bool {
        (**self).supports_conditional_updates()
    }
    fn call_bound(&self) -> Option<std::time::Duration> {
        (**self).call_bound()
    }
    fn supports_principals(&self) -> bool {
        (**self).supports_principals()
    }
    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        (**self).sessions_of(namespace, principal, now).await
    }
    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        (**self).delete_of(namespace, principal, handle).await
    }
    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        (**self).delete_all_of(namespace, principal, except).await
    }
    fn principal_id_prefix(&self, namespace: &Namespace, principal: &str) -> Option<String> {
        (**self).principal_id_prefix(namespace, principal)
    }
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        (**self).load(key, now).await
    }
    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        (**self).create(key, record, now).await
    }
    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        (**self).update(key, record, now).await
    }
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        (**self).delete(key).await
    }
    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        (**self).change_id(old, new, record, now).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        (**self).delete_expired(now).await
    }
    fn backend(&self) -> &'static str {
        (**self).backend()
    }

    async fn delete_expired_batch(
        &self,
        now: SystemTime,
        from: Option<PurgeCursor>,
        limit: u64,
    ) -> Result<PurgeBatch, StorageError> {
        (**self).delete_expired_batch(now, from, limit).await
    }
    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        (**self).stats(now).await
    }
}

/// `id` in a namespace of the unit tests.
#[cfg(test)]
pub(crate) fn test_key(id: &SessionId) -> SessionKey<'_> {
    static TESTS: std::sync::LazyLock<Namespace> =
        std::sync::LazyLock::new(|| Namespace::new("tests"));
    TESTS.key(id)
}

/// Runs a blocking closure on tokio's blocking pool, mapping a panic or cancellation of the
/// task into a [`StorageError`].
#[cfg(unix)]
async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => {
            Err(StorageError::backend(format!("{what}: the storage task failed")).with_source(join))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn the_default_change_id_does_not_revive_a_concurrently_deleted_session() {
        /// A storage whose `delete` of a chosen id reports "nothing there", as if a logout had
        /// removed it between `change_id`'s load and its delete.
        #[derive(Debug)]
        struct RacingLogout {
            inner: MemoryStorage,
            logged_out: SessionId,
        }
        #[async_trait]
        impl SessionStorage for RacingLogout {
            async fn load(
                &self,
                key: SessionKey<'_>,
                now: SystemTime,
            ) -> Result<Option<Record>, StorageError> {
                self.inner.load(key, now).await
            }
            async fn create(
                &self,
                key: SessionKey<'_>,
                r: &Record,
                now: SystemTime,
            ) -> Result<Created, StorageError> {
                self.inner.create(key, r, now).await
            }
            async fn update(
                &self,
                key: SessionKey<'_>,
                r: &Record,
                now: SystemTime,
            ) -> Result<bool, StorageError> {
                self.inner.update(key, r, now).await
            }
            async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
                let removed = self.inner.delete(key).await?;
                Ok(removed && *key.id() != self.logged_out)
            }
            async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
                self.inner.delete_expired(now).await
            }
        }

        let old = SessionId::generate();
        let new = SessionId::generate();
        let storage = RacingLogout {
            inner: MemoryStorage::new(),
            logged_out: old.clone(),
        };
        let now = SystemTime::now();
        let record = Record::new("{}", now, now + Duration::from_secs(60));
        storage.create(test_key(&old), &record, now).await.unwrap();
        assert!(
            !storage
                .change_id(test_key(&old), test_key(&new), &record, now)
                .await
                .unwrap()
        );
        assert_eq!(storage.load(test_key(&new), now).await.unwrap(), None);
        assert_eq!(storage.load(test_key(&old), now).await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweeper_sweeps_and_stops_with_its_storage() {
        let storage = Arc::new(MemoryStorage::new());
        let id = SessionId::generate();
        let past = SystemTime::now() - Duration::from_secs(10);
        let record = Record::new("{}", past, past + Duration::from_secs(1));
        storage.create(test_key(&id), &record, past).await.unwrap();
        assert_eq!(storage.len(), 1);
        let sweeper = spawn_sweeper(&storage, Duration::from_secs(30));
        tokio::time::sleep(Duration::from_secs(31)).await;
        tokio::task::yield_now().await;
        assert_eq!(storage.len(), 0);
        drop(storage);
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(sweeper.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweeper_takes_a_shared_storage_as_open_url_returns_it() {
        let storage: Arc<dyn SessionStorage> = open_url("memory://").await.unwrap();
        let id = SessionId::generate();
        let past = SystemTime::now() - Duration::from_secs(10);
        let record = Record::new("{}", past, past + Duration::from_secs(1));
        storage.create(test_key(&id), &record, past).await.unwrap();
        let sweeper = spawn_sweeper(&storage, Duration::from_secs(30));
        tokio::time::sleep(Duration::from_secs(31)).await;
        tokio::task::yield_now().await;
        assert!(
            !storage.delete(test_key(&id)).await.unwrap(),
            "the sweep removed the expired record"
        );
        drop(storage);
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(sweeper.is_finished());
    }
}
