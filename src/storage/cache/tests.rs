use crate::storage::{SessionId, SessionKey, test_key};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::*;
use crate::storage::{MemoryStorage, StorageErrorKind};

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
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        r: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.fail()?;
        self.inner.update_if(key, r, expected, now).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        self.inner.delete_expired(now).await
    }
    fn supports_conditional_updates(&self) -> bool {
        true
    }
    fn supports_principals(&self) -> bool {
        true
    }
    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        self.inner.sessions_of(namespace, principal, now).await
    }
    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete_of(namespace, principal, handle).await
    }
    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete_all_of(namespace, principal, except).await
    }
}

/// A storage with the required operations only (no conditional updates, no index).
#[derive(Debug, Default)]
struct Plain(MemoryStorage);

#[async_trait]
impl SessionStorage for Plain {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        self.0.load(key, now).await
    }
    async fn create(
        &self,
        key: SessionKey<'_>,
        r: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        self.0.create(key, r, now).await
    }
    async fn update(
        &self,
        key: SessionKey<'_>,
        r: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.0.update(key, r, now).await
    }
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.0.delete(key).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        self.0.delete_expired(now).await
    }
}

fn record(data: &str, now: SystemTime) -> Record {
    Record::new(data, now, now + Duration::from_secs(3600))
}

fn tests_ns() -> Namespace {
    Namespace::new("tests")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_the_contract() {
    crate::storage::contract::run(|| async { CacheStorage::new(MemoryStorage::new()) }).await;
}

#[tokio::test]
async fn serves_reads_from_memory_and_skips_unchanged_writes() {
    let cache = CacheStorage::new(Counting::default());
    let (id, now) = (SessionId::generate(), SystemTime::now());
    let v1 = record("v1", now);
    cache.create(test_key(&id), &v1, now).await.unwrap();
    for _ in 0..5 {
        assert_eq!(
            cache.load(test_key(&id), now).await.unwrap(),
            Some(v1.clone())
        );
    }
    assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 0);
    // Exactly the cached record (same revision): skipped.
    assert!(cache.update(test_key(&id), &v1, now).await.unwrap());
    assert_eq!(
        cache.inner().writes.load(Ordering::SeqCst),
        1,
        "unchanged: skipped"
    );
    // The same data under a new revision is a write: the caller's revision must be stored.
    let again = record("v1", now);
    assert_ne!(again.revision, v1.revision);
    assert!(cache.update(test_key(&id), &again, now).await.unwrap());
    assert_eq!(cache.inner().writes.load(Ordering::SeqCst), 2);
    let stored = cache.inner().inner.load(test_key(&id), now).await.unwrap();
    assert_eq!(stored.map(|r| r.revision), Some(again.revision));
    let v2 = record("v2", now);
    assert!(cache.update(test_key(&id), &v2, now).await.unwrap());
    assert_eq!(cache.inner().writes.load(Ordering::SeqCst), 3);
    assert_eq!(cache.load(test_key(&id), now).await.unwrap(), Some(v2));
    assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn conditional_updates_go_through_and_never_leave_an_older_record_cached() {
    let cache = CacheStorage::new(Counting::default());
    assert!(cache.supports_conditional_updates() && cache.supports_principals());
    let (id, now) = (SessionId::generate(), SystemTime::now());
    let v1 = record("v1", now);
    cache.create(test_key(&id), &v1, now).await.unwrap();
    let v2 = record("v2", now);
    let written = cache.update_if(test_key(&id), &v2, v1.revision, now).await;
    assert_eq!(written.unwrap(), Updated::Written);
    assert_eq!(
        cache.load(test_key(&id), now).await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(
        cache.inner().loads.load(Ordering::SeqCst),
        0,
        "served the written record"
    );
    // Another instance writes behind the cache's back; this cache still holds v2.
    let v3 = record("v3", now);
    cache
        .inner()
        .inner
        .update(test_key(&id), &v3, now)
        .await
        .unwrap();
    let stale = record("v2b", now);
    let conflict = cache
        .update_if(test_key(&id), &stale, v2.revision, now)
        .await;
    assert_eq!(conflict.unwrap(), Updated::Conflict);
    // The conflict dropped the copy: the retry reads what is stored.
    assert_eq!(cache.load(test_key(&id), now).await.unwrap(), Some(v3));
    assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 1);
    // Without the inner storage's support, the cache has none either.
    let plain = CacheStorage::new(Plain::default());
    assert!(!plain.supports_conditional_updates() && !plain.supports_principals());
    let refused = plain.update_if(test_key(&id), &v1, v1.revision, now).await;
    assert_eq!(refused.unwrap_err().kind(), StorageErrorKind::Unsupported);
    let refused = plain.sessions_of(&tests_ns(), "ada", now).await;
    assert_eq!(refused.unwrap_err().kind(), StorageErrorKind::Unsupported);
}

#[tokio::test]
async fn sessions_ended_through_the_index_are_never_served_from_the_cache() {
    let cache = CacheStorage::new(Counting::default());
    let now = SystemTime::now();
    let ids: Vec<SessionId> = (0..3).map(|_| SessionId::generate()).collect();
    let bob = SessionId::generate();
    for id in &ids {
        let r = record("{}", now).with_principal("ada");
        cache.create(test_key(id), &r, now).await.unwrap();
    }
    let bobs = record("{}", now).with_principal("bob");
    cache.create(test_key(&bob), &bobs, now).await.unwrap();
    for id in ids.iter().chain([&bob]) {
        assert!(cache.load(test_key(id), now).await.unwrap().is_some());
    }
    assert_eq!(cache.inner().loads.load(Ordering::SeqCst), 0, "all cached");
    let ns = tests_ns();
    let first = SessionHandle::of(test_key(&ids[0]));
    assert!(cache.delete_of(&ns, "ada", &first).await.unwrap());
    assert_eq!(cache.load(test_key(&ids[0]), now).await.unwrap(), None);
    let keep = SessionHandle::of(test_key(&ids[1]));
    assert_eq!(
        cache.delete_all_of(&ns, "ada", Some(&keep)).await.unwrap(),
        1
    );
    assert_eq!(cache.load(test_key(&ids[2]), now).await.unwrap(), None);
    assert!(cache.load(test_key(&ids[1]), now).await.unwrap().is_some());
    // Another principal's and another namespace's cached records stay cached.
    let loads = cache.inner().loads.load(Ordering::SeqCst);
    assert_eq!(cache.load(test_key(&bob), now).await.unwrap(), Some(bobs));
    assert_eq!(cache.inner().loads.load(Ordering::SeqCst), loads);
    let listed = cache.sessions_of(&ns, "ada", now).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].handle, keep);
}

#[tokio::test]
async fn a_read_that_races_an_end_through_the_index_does_not_repopulate_the_cache() {
    let cache = CacheStorage::new(MemoryStorage::new());
    let (id, now) = (SessionId::generate(), SystemTime::now());
    let r = record("v1", now).with_principal("ada");
    cache.create(test_key(&id), &r, now).await.unwrap();
    let key = Key::of(test_key(&id));
    // A load read the epoch and the inner record; then the session was ended from the
    // account page; then the load settles.
    let epoch = cache.invalidate(&key);
    let stale = cache.inner().load(test_key(&id), now).await.unwrap();
    let handle = SessionHandle::of(test_key(&id));
    assert!(cache.delete_of(&tests_ns(), "ada", &handle).await.unwrap());
    cache.settle((key, tests_ns().tag()), epoch, stale, now, false);
    assert_eq!(cache.cached(), 0);
    assert_eq!(cache.load(test_key(&id), now).await.unwrap(), None);
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
    let elsewhere = record("elsewhere", now);
    cache
        .inner()
        .inner
        .create(test_key(&id), &elsewhere, now)
        .await
        .unwrap();
    assert_eq!(
        cache.load(test_key(&id), now).await.unwrap(),
        Some(elsewhere)
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
    cache.settle((key, tests_ns().tag()), epoch, stale, now, false);
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
