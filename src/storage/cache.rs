//! A bounded in-memory cache in front of any storage (Ktor's `CacheStorage`, made safe).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

use super::key::Key;
use super::table::Table;
use super::{
    Created, PurgeBatch, PurgeCursor, Record, SessionKey, SessionStorage, StorageError,
    StorageStats,
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
/// `CacheStorage` does the same). It is meant for slow storages, above all
/// [`DirectoryStorage`](super::DirectoryStorage).
///
/// **Staleness is bounded.** The cache is process-local. Within this process, `delete`,
/// `change_id` and every write invalidate the entry first, and a read that raced one of them
/// never puts its result into the cache, so this process never serves a session it deleted.
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
///     CacheStorage, MemoryStorage, Namespace, Record, SessionId, SessionStorage,
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
/// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
/// ```
pub struct CacheStorage<S> {
    inner: S,
    table: Table<Cached>,
    ttl: Duration,
}

struct Cached {
    record: Record,
    /// When the record was last read from or written to the inner storage.
    synced: Instant,
}

impl Cached {
    fn usable(&self, ttl: Duration, now: SystemTime) -> bool {
        self.synced.elapsed() < ttl && !self.record.is_expired(now)
    }
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

    /// Removes `key` from the cache and bumps its shard's epoch, so fills that started
    /// earlier are dropped. Returns the new epoch.
    fn invalidate(&self, key: &Key) -> u64 {
        let mut shard = self.table.shard(key);
        shard.remove(key);
        shard.epoch += 1;
        shard.epoch
    }

    /// Caches `record` under `key` if nothing invalidated the shard since `epoch`; otherwise
    /// makes sure nothing (possibly stale) stays cached under `key`.
    fn settle(&self, key: Key, epoch: u64, record: Option<Record>, now: SystemTime, write: bool) {
        let ttl = self.ttl;
        let mut shard = self.table.shard(&key);
        if shard.epoch != epoch {
            if write {
                // Another write raced this one: the inner storage holds one of the two, and
                // this cache cannot know which.
                shard.remove(&key);
                shard.epoch += 1;
            }
            return;
        }
        if let Some(record) = record.filter(|r| !r.is_expired(now) && !ttl.is_zero()) {
            let cached = Cached {
                record,
                synced: Instant::now(),
            };
            let evicted = shard.insert(key, cached, |c| !c.usable(ttl, now));
            drop(shard);
            self.table.note_eviction(evicted);
        }
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
            self.settle(key, epoch, Some(record.clone()), now, false);
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
        self.settle(key, epoch, cached, now, true);
        created
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (session, key) = (key, Key::of(key));
        {
            let shard = self.table.shard(&key);
            let unchanged = shard
                .peek(&key)
                .is_some_and(|c| c.usable(self.ttl, now) && c.record == *record);
            if unchanged {
                return Ok(true);
            }
        }
        let epoch = self.invalidate(&key);
        let updated = self.inner.update(session, record, now).await;
        let cached = matches!(updated, Ok(true)).then(|| record.clone());
        self.settle(key, epoch, cached, now, true);
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
mod tests {
    use crate::storage::{SessionId, SessionKey, test_key};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::storage::MemoryStorage;

    /// Counts the calls that reach the inner storage, and can be told to fail.
    #[derive(Debug, Default)]
    struct Counting {
        inner: MemoryStorage,
        loads: AtomicUsize,
        writes: AtomicUsize,
        failing: std::sync::atomic::AtomicBool,
    }

    impl Counting {
        fn fail(&self) -> Result<(), StorageError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(StorageError::unavailable("down"));
            }
            Ok(())
        }
    }

    #[async_trait]
    impl SessionStorage for Counting {
        async fn load(
            &self,
            key: SessionKey<'_>,
            now: SystemTime,
        ) -> Result<Option<Record>, StorageError> {
            self.loads.fetch_add(1, Ordering::SeqCst);
            self.fail()?;
            self.inner.load(key, now).await
        }
        async fn create(
            &self,
            key: SessionKey<'_>,
            r: &Record,
            now: SystemTime,
        ) -> Result<Created, StorageError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.fail()?;
            self.inner.create(key, r, now).await
        }
        async fn update(
            &self,
            key: SessionKey<'_>,
            r: &Record,
            now: SystemTime,
        ) -> Result<bool, StorageError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.fail()?;
            self.inner.update(key, r, now).await
        }
        async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.fail()?;
            self.inner.delete(key).await
        }
        async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
            self.inner.delete_expired(now).await
        }
    }

    fn record(data: &str, now: SystemTime) -> Record {
        Record::new(data, now, now + Duration::from_secs(3600))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_contract() {
        crate::storage::contract::run(|| async { CacheStorage::new(MemoryStorage::new()) }).await;
    }

    #[tokio::test]
    async fn serves_reads_from_memory_and_skips_unchanged_writes() {
        let cache = CacheStorage::new(Counting::default());
        let (id, now) = (SessionId::generate(), SystemTime::now());
        cache
            .create(test_key(&id), &record("v1", now), now)
            .await
            .unwrap();
        for _ in 0..5 {
            assert_eq!(
                cache.load(test_key(&id), now).await.unwrap(),
                Some(record("v1", now))
            );
        }
        assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 0);
        assert!(
            cache
                .update(test_key(&id), &record("v1", now), now)
                .await
                .unwrap()
        );
        assert_eq!(
            cache.inner().writes.load(Ordering::SeqCst),
            1,
            "unchanged: skipped"
        );
        assert!(
            cache
                .update(test_key(&id), &record("v2", now), now)
                .await
                .unwrap()
        );
        assert_eq!(cache.inner().writes.load(Ordering::SeqCst), 2);
        assert_eq!(
            cache.load(test_key(&id), now).await.unwrap(),
            Some(record("v2", now))
        );
        assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn never_caches_errors_or_absence() {
        let cache = CacheStorage::new(Counting::default());
        let (id, now) = (SessionId::generate(), SystemTime::now());
        cache.inner().failing.store(true, Ordering::SeqCst);
        assert!(cache.load(test_key(&id), now).await.is_err());
        assert!(cache.load(test_key(&id), now).await.is_err());
        assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 2);
        cache.inner().failing.store(false, Ordering::SeqCst);
        assert_eq!(cache.load(test_key(&id), now).await.unwrap(), None);
        assert_eq!(cache.load(test_key(&id), now).await.unwrap(), None);
        assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 4);
        // A session created behind the cache's back (another instance) is seen at once.
        cache
            .inner()
            .inner
            .create(test_key(&id), &record("elsewhere", now), now)
            .await
            .unwrap();
        assert_eq!(
            cache.load(test_key(&id), now).await.unwrap(),
            Some(record("elsewhere", now))
        );
        // A failed write leaves nothing cached.
        cache.inner().failing.store(true, Ordering::SeqCst);
        assert!(
            cache
                .update(test_key(&id), &record("lost", now), now)
                .await
                .is_err()
        );
        assert_eq!(cache.cached(), 0);
    }

    #[tokio::test]
    async fn staleness_is_bounded_by_the_ttl_and_reads_do_not_extend_it() {
        // Two "instances" share one storage; one caches with a short TTL.
        let shared = Arc::new(MemoryStorage::new());
        let cache = CacheStorage::new(Arc::clone(&shared)).with_ttl(Duration::from_millis(200));
        let (id, now) = (SessionId::generate(), SystemTime::now());
        shared
            .create(test_key(&id), &record("v1", now), now)
            .await
            .unwrap();
        assert!(cache.load(test_key(&id), now).await.unwrap().is_some());
        // The other instance logs the user out; this one keeps reading.
        shared.delete(test_key(&id)).await.unwrap();
        let started = Instant::now();
        while cache.load(test_key(&id), now).await.unwrap().is_some() {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "a deleted session stayed visible far beyond the TTL"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(started.elapsed() < Duration::from_millis(400));
    }

    #[tokio::test]
    async fn a_read_that_races_a_delete_does_not_repopulate_the_cache() {
        let cache = CacheStorage::new(MemoryStorage::new());
        let (id, now) = (SessionId::generate(), SystemTime::now());
        cache
            .create(test_key(&id), &record("v1", now), now)
            .await
            .unwrap();
        let key = Key::of(test_key(&id));
        // A load read the epoch and the inner record; then a delete ran; then the load settles.
        let epoch = cache.invalidate(&key);
        let stale = cache.inner().load(test_key(&id), now).await.unwrap();
        cache.delete(test_key(&id)).await.unwrap();
        cache.settle(key, epoch, stale, now, false);
        assert_eq!(cache.cached(), 0);
        assert_eq!(cache.load(test_key(&id), now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn is_bounded() {
        let cache = CacheStorage::new(MemoryStorage::new()).with_capacity(16);
        let now = SystemTime::now();
        for _ in 0..200 {
            cache
                .create(test_key(&SessionId::generate()), &record("x", now), now)
                .await
                .unwrap();
            assert!(cache.cached() <= 16);
        }
        assert_eq!(cache.inner().len(), 200);
    }
}
