//! A bounded in-memory cache in front of any storage (Ktor's `CacheStorage`, made safe).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

mod copies;

use self::copies::Cached;
use super::key::Key;
use super::table::Table;
use super::{
    Created, Namespace, PrincipalSession, PurgeBatch, PurgeCursor, Record, Revision, SessionHandle,
    SessionKey, SessionStorage, StorageError, StorageStats, Updated,
};

/// How many records a [`CacheStorage`] keeps by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// How long a [`CacheStorage`] serves a record after reading it from, or writing it to, the
/// inner storage, by default.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(10);

/// Wraps a storage with a bounded in-memory cache of recently used records.
///
/// Reads of a cached record cost no I/O; writes go through to the inner storage, except an
/// `update` that would write exactly the record the cache holds, which is skipped (Ktor's
/// `CacheStorage` does the same). "Exactly" includes the [revision](Record::revision): every
/// write of the sessions layer carries a new one and goes through, so a skipped write is one
/// of the revision this cache last read or wrote, and within this process the caller never
/// believes a revision is stored that is not (another process's writes can go unseen for up to
/// the TTL, see below). It is meant for slow storages, above all
/// [`DirectoryStorage`](super::DirectoryStorage).
///
/// **Conditional updates and the principal index** are the inner storage's
/// ([`supports_conditional_updates`](SessionStorage::supports_conditional_updates) and
/// [`supports_principals`](SessionStorage::supports_principals) say what it says).
/// [`update_if`](SessionStorage::update_if) always goes to the inner storage, which compares
/// the revision; the cache drops its copy first and keeps the new record only if it was
/// written, so a conflict is never hidden behind a stale copy and the next read after one goes
/// to the inner storage. [`sessions_of`](SessionStorage::sessions_of) is never cached.
/// [`delete_of`](SessionStorage::delete_of) and [`delete_all_of`](SessionStorage::delete_all_of)
/// drop every cached record of the principal in that namespace, before and after the inner
/// call (and every read that raced them is not cached), so a session ended through the index
/// is never served from this cache afterwards. That visits every cached entry twice, so those
/// two calls cost in proportion to the cache's size, on top of the inner call; they are rare
/// (an account page, a password reset), unlike reads and writes.
///
/// **Staleness is bounded.** The cache is process-local. Within this process, `delete`,
/// `change_id`, `delete_of`, `delete_all_of` and every write invalidate the entry first, and a
/// read that raced one of them never puts its result into the cache, so this process never
/// serves a session it deleted or ended.
/// Another process sharing the inner storage (two servers on one directory) can change or
/// delete a session behind this cache's back; this cache then serves its copy for at most
/// [`ttl`](Self::with_ttl) (default [`DEFAULT_CACHE_TTL`], 10 s) after it last read or wrote
/// it. Reads do **not** extend that time. This is deliberate: Ktor's cache (60 s idle timeout,
/// renewed on every read) keeps a session that was logged out on another instance alive for as
/// long as someone keeps using it within a minute (security requirement V-K8). With several
/// instances, keep the TTL short, or do not cache.
///
/// **What is never cached:** storage errors (every call after an error goes to the inner
/// storage again), and "no such session". An unknown id is either a guess (caching those would
/// let a flood of random ids push real sessions out) or a session another instance created a
/// moment ago (caching its absence would hide it).
///
/// **Bounded:** at most [`capacity`](Self::with_capacity) records (default
/// [`DEFAULT_CACHE_CAPACITY`]); when full, stale and expired entries go first, then the least
/// recently used (see [`MemoryStorage`](super::MemoryStorage), which shares the engine).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::storage::{
///     CacheStorage, MemoryStorage, Namespace, Record, SessionId, SessionStorage, Updated,
/// };
///
/// let storage = CacheStorage::new(MemoryStorage::new())
///     .with_capacity(1_000)
///     .with_ttl(Duration::from_secs(5));
/// let cart = Namespace::new("cart");
/// let id = SessionId::generate();
/// let key = cart.key(&id);
/// let now = SystemTime::now();
/// let record = Record::new("{}", now, now + Duration::from_secs(60));
/// storage.create(key, &record, now).await?;
/// assert_eq!(storage.load(key, now).await?, Some(record));
/// assert_eq!(storage.cached(), 1);
/// storage.delete(key).await?;
/// assert_eq!(storage.load(key, now).await?, None);
///
/// // Conditional updates and the principal index are the inner storage's.
/// let account = Namespace::new("account");
/// let id = SessionId::generate();
/// let key = account.key(&id);
/// let login = Record::new("{}", now, now + Duration::from_secs(60)).with_principal("ada");
/// storage.create(key, &login, now).await?;
/// let next = Record::new(r#"{"n":1}"#, now, now + Duration::from_secs(60)).with_principal("ada");
/// assert_eq!(storage.update_if(key, &next, login.revision, now).await?, Updated::Written);
/// assert_eq!(storage.update_if(key, &next, login.revision, now).await?, Updated::Conflict);
/// // Ended from an account page: never served from the cache again.
/// assert_eq!(storage.delete_all_of(&account, "ada", None).await?, 1);
/// assert_eq!(storage.load(key, now).await?, None);
/// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
/// ```
pub struct CacheStorage<S> {
    inner: S,
    table: Table<Cached>,
    ttl: Duration,
}

impl<S: fmt::Debug> fmt::Debug for CacheStorage<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheStorage")
            .field("inner", &self.inner)
            .field("capacity", &self.table.capacity())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl<S: SessionStorage> CacheStorage<S> {
    /// Caches up to [`DEFAULT_CACHE_CAPACITY`] records of `inner` for [`DEFAULT_CACHE_TTL`]
    /// each.
    pub fn new(inner: S) -> CacheStorage<S> {
        CacheStorage {
            inner,
            table: Table::new(DEFAULT_CACHE_CAPACITY),
            ttl: DEFAULT_CACHE_TTL,
        }
    }

    /// Keeps at most `capacity` records (at least 1). Call it before using the storage: the
    /// cache starts empty again.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.table = Table::new(capacity);
        self
    }

    /// Serves a record for at most `ttl` after it was last read from or written to the inner
    /// storage. This bounds how long a change made by another process goes unseen. A zero
    /// `ttl` turns the cache off.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The wrapped storage.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How many records are cached, stale ones included until they are evicted (visits every
    /// shard: for tests and metrics).
    pub fn cached(&self) -> usize {
        self.table.len()
    }
}

#[async_trait]
impl<S: SessionStorage> SessionStorage for CacheStorage<S> {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        let (session, key) = (key, Key::of(key));
        let epoch = {
            let mut shard = self.table.shard(&key);
            if let Some(cached) = shard.get(&key) {
                if cached.usable(self.ttl, now) {
                    return Ok(Some(cached.record.clone()));
                }
                shard.remove(&key);
            }
            shard.epoch
        };
        let loaded = self.inner.load(session, now).await?;
        if let Some(record) = &loaded {
            self.settle(
                (key, session.namespace().tag()),
                epoch,
                Some(record.clone()),
                now,
                false,
            );
        }
        Ok(loaded)
    }

    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        let (session, key) = (key, Key::of(key));
        let epoch = self.invalidate(&key);
        let created = self.inner.create(session, record, now).await;
        let cached = matches!(created, Ok(Created::Inserted)).then(|| record.clone());
        self.settle((key, session.namespace().tag()), epoch, cached, now, true);
        created
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (session, key) = (key, Key::of(key));
        let stored_principal = {
            let shard = self.table.shard(&key);
            // The whole record, its revision included: a write of the same data under a new
            // revision goes through, so the revision the caller holds is the stored one.
            let unchanged = shard
                .peek(&key)
                .is_some_and(|c| c.usable(self.ttl, now) && c.record == *record);
            if unchanged {
                return Ok(true);
            }
            shard.peek(&key).map(|c| c.record.meta.principal.clone())
        };
        let epoch = self.invalidate(&key);
        let updated = self.inner.update(session, record, now).await;
        let cached = matches!(updated, Ok(true))
            .then(|| as_stored(record, stored_principal))
            .flatten();
        self.settle((key, session.namespace().tag()), epoch, cached, now, true);
        updated
    }

    /// Always the inner storage's compare; the cached copy is dropped first and replaced by
    /// `record` only if it was written.
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        let (session, key) = (key, Key::of(key));
        let stored_principal = self
            .table
            .shard(&key)
            .peek(&key)
            .map(|c| c.record.meta.principal.clone());
        let epoch = self.invalidate(&key);
        let updated = self.inner.update_if(session, record, expected, now).await;
        let cached = matches!(updated, Ok(Updated::Written))
            .then(|| as_stored(record, stored_principal))
            .flatten();
        self.settle((key, session.namespace().tag()), epoch, cached, now, true);
        updated
    }

    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        let (session, key) = (key, Key::of(key));
        self.invalidate(&key);
        let deleted = self.inner.delete(session).await;
        self.invalidate(&key);
        deleted
    }

    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (old_key, new_key) = (Key::of(old), Key::of(new));
        self.invalidate(&old_key);
        self.invalidate(&new_key);
        let moved = self.inner.change_id(old, new, record, now).await;
        self.invalidate(&old_key);
        self.invalidate(&new_key);
        moved
    }

    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        let ttl = self.ttl;
        self.table.for_each_shard(|shard| {
            shard.retain(|c| c.usable(ttl, now));
        });
        self.inner.delete_expired(now).await
    }

    fn backend(&self) -> &'static str {
        "cache"
    }

    fn supports_conditional_updates(&self) -> bool {
        self.inner.supports_conditional_updates()
    }

    fn supports_principals(&self) -> bool {
        self.inner.supports_principals()
    }

    fn principal_id_prefix(&self, namespace: &Namespace, principal: &str) -> Option<String> {
        self.inner.principal_id_prefix(namespace, principal)
    }

    /// The inner storage's listing, never cached.
    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        self.inner.sessions_of(namespace, principal, now).await
    }

    /// The inner storage's `delete_of`; every cached record of the principal is dropped.
    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        self.invalidate_principal(namespace, principal);
        let ended = self.inner.delete_of(namespace, principal, handle).await;
        self.invalidate_principal(namespace, principal);
        ended
    }

    /// The inner storage's `delete_all_of`; every cached record of the principal is dropped.
    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        self.invalidate_principal(namespace, principal);
        let ended = self.inner.delete_all_of(namespace, principal, except).await;
        self.invalidate_principal(namespace, principal);
        ended
    }

    /// The inner storage's purge; the first step also drops the cached copies that are no
    /// longer usable.
    async fn delete_expired_batch(
        &self,
        now: SystemTime,
        from: Option<PurgeCursor>,
        limit: u64,
    ) -> Result<PurgeBatch, StorageError> {
        if from.is_none() {
            let ttl = self.ttl;
            self.table.for_each_shard(|shard| {
                shard.retain(|c| c.usable(ttl, now));
            });
        }
        self.inner.delete_expired_batch(now, from, limit).await
    }

    /// The inner storage's statistics: the cache holds copies, not sessions of its own.
    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        self.inner.stats(now).await
    }
}

#[cfg(test)]
mod tests;

/// What the inner storage holds after an update wrote `record` over a record of
/// `stored_principal` (if this cache knew it): `record` with the stored principal, which an
/// update keeps. `None` when the principal is not known and `record` names one: then nothing is
/// cached, rather than a principal the inner storage may not have.
fn as_stored(record: &Record, stored_principal: Option<Option<Arc<str>>>) -> Option<Record> {
    match stored_principal {
        Some(principal) if principal == record.meta.principal => Some(record.clone()),
        Some(principal) => {
            let mut kept = record.clone();
            kept.meta.principal = principal;
            Some(kept)
        }
        None if record.meta.principal.is_none() => Some(record.clone()),
        None => None,
    }
}
