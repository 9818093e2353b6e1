//! A limit on the live sessions of a storage: [`QuotaStorage`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

use super::{
    Created, Namespace, PrincipalSession, PurgeBatch, PurgeCursor, Record, Revision, SessionHandle,
    SessionKey, SessionStorage, StorageError, StorageStats, Updated,
};

/// How often a [`QuotaStorage`] counts the live sessions of its storage again, by default.
pub const DEFAULT_RECOUNT_EVERY: Duration = Duration::from_secs(30);

/// Wraps a storage with a limit on how many live sessions it holds: once the limit is reached,
/// creating a session fails with a [`StorageErrorKind::Full`](super::StorageErrorKind::Full)
/// error (the request gets a `503`, the sessions already stored are untouched), until sessions
/// end or expire.
///
/// It is the backstop against a client that creates one session per request (a script that
/// never sends its cookie back, against a handler that sets a session for every visitor):
/// without it, such a client fills a directory or a database without bound. The first line of
/// defence is not to create sessions for anonymous requests, and to rate-limit the routes that
/// do (a login form, a cart's first item), for example with a `tower` rate-limiting layer keyed
/// by client address.
///
/// **The count is approximate across processes.** The wrapper counts the live sessions of the
/// inner storage with [`stats`](SessionStorage::stats) on its first `create`, then adds the
/// sessions it creates and subtracts those it deletes, and counts again every
/// [`recount_every`](Self::recount_every) (default [`DEFAULT_RECOUNT_EVERY`]) in the
/// background, which also catches what expired and what other processes did. Several
/// processes sharing one storage each enforce the limit on that count, so between two recounts
/// they can together exceed it by what they create meanwhile. A storage whose `stats` reports
/// nothing (a custom one) is counted from this process's own creates and deletes only.
///
/// [`MemoryStorage`](super::MemoryStorage) needs no quota: it is bounded by its capacity, and
/// evicts sessions nobody uses again before those in use.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::storage::{
///     MemoryStorage, Namespace, QuotaStorage, Record, SessionId, SessionStorage, StorageErrorKind,
/// };
///
/// let storage = QuotaStorage::new(MemoryStorage::new(), 2);
/// let visitors = Namespace::new("visit");
/// let now = SystemTime::now();
/// let record = Record::new("{}", now, now + Duration::from_secs(60));
/// for _ in 0..2 {
///     storage.create(visitors.key(&SessionId::generate()), &record, now).await?;
/// }
/// let third = storage.create(visitors.key(&SessionId::generate()), &record, now).await;
/// assert_eq!(third.unwrap_err().kind(), StorageErrorKind::Full);
/// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
/// ```
pub struct QuotaStorage<S> {
    inner: Arc<S>,
    max_live: u64,
    recount_every: Duration,
    count: Arc<Count>,
}

/// The running count of live sessions.
#[derive(Default)]
struct Count {
    live: AtomicU64,
    /// When the inner storage was last counted; `None` before the first count.
    counted_at: Mutex<Option<Instant>>,
    /// A background recount is running.
    recounting: AtomicBool,
}

impl Count {
    fn counted_at(&self) -> Option<Instant> {
        *self
            .counted_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, live: Option<u64>) {
        if let Some(live) = live {
            self.live.store(live, Ordering::SeqCst);
        }
        *self
            .counted_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    fn add(&self, n: u64) {
        self.live.fetch_add(n, Ordering::SeqCst);
    }

    fn remove(&self, n: u64) {
        let _ = self
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |live| {
                Some(live.saturating_sub(n))
            });
    }
}

impl<S> fmt::Debug for QuotaStorage<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuotaStorage")
            .field("max_live", &self.max_live)
            .field("live", &self.count.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: SessionStorage> QuotaStorage<S> {
    /// `inner`, holding at most about `max_live` live sessions.
    pub fn new(inner: S, max_live: u64) -> QuotaStorage<S> {
        QuotaStorage {
            inner: Arc::new(inner),
            max_live,
            recount_every: DEFAULT_RECOUNT_EVERY,
            count: Arc::new(Count::default()),
        }
    }

    /// How often the live sessions of the inner storage are counted again (in the
    /// background, so no request waits for it).
    pub fn recount_every(mut self, every: Duration) -> QuotaStorage<S> {
        self.recount_every = every;
        self
    }

    /// The inner storage.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The live sessions as last counted, plus this process's creates and minus its deletes
    /// since.
    pub fn live(&self) -> u64 {
        self.count.live.load(Ordering::SeqCst)
    }

    /// Counts the inner storage now, before the first create, and again in the background
    /// when a recount is due.
    async fn keep_count(&self, now: SystemTime) -> Result<(), StorageError> {
        match self.count.counted_at() {
            None => {
                let stats = self.inner.stats(now).await?;
                self.count.set(stats.map(|s| s.live));
            }
            Some(at) if at.elapsed() >= self.recount_every => self.recount_in_background(),
            Some(_) => {}
        }
        Ok(())
    }

    fn recount_in_background(&self) {
        if self.count.recounting.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.count.recounting.store(false, Ordering::SeqCst);
            return;
        };
        let (inner, count) = (self.inner.clone(), self.count.clone());
        // Cleared however the task ends (a storage whose `stats` panics, a runtime shutting
        // down before the task runs): a flag left set would stop every later recount.
        let recounting = Recounting(count.clone());
        runtime.spawn(async move {
            let _recounting = recounting;
            match inner.stats(SystemTime::now()).await {
                Ok(stats) => count.set(stats.map(|s| s.live)),
                Err(error) => {
                    tracing::warn!(%error, "could not count the sessions of the storage under a quota");
                }
            }
        });
    }
}

/// Clears the "recount under way" flag when dropped.
struct Recounting(Arc<Count>);

impl Drop for Recounting {
    fn drop(&mut self) {
        self.0.recounting.store(false, Ordering::SeqCst);
    }
}

#[async_trait]
impl<S: SessionStorage> SessionStorage for QuotaStorage<S> {
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
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        self.keep_count(now).await?;
        if self.live() >= self.max_live {
            tracing::warn!(
                session = %key.namespace().name(),
                limit = self.max_live,
                "session storage full: a new session was refused"
            );
            return Err(StorageError::full(format!(
                "the storage holds its limit of {} live sessions",
                self.max_live
            )));
        }
        let created = self.inner.create(key, record, now).await?;
        if created == Created::Inserted {
            self.count.add(1);
        }
        Ok(created)
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.inner.update(key, record, now).await
    }

    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        self.inner.update_if(key, record, expected, now).await
    }

    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        let deleted = self.inner.delete(key).await?;
        if deleted {
            self.count.remove(1);
        }
        Ok(deleted)
    }

    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.inner.change_id(old, new, record, now).await
    }

    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        let removed = self.inner.delete_expired(now).await?;
        self.count.remove(removed);
        Ok(removed)
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
        let deleted = self.inner.delete_of(namespace, principal, handle).await?;
        if deleted {
            self.count.remove(1);
        }
        Ok(deleted)
    }

    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        let deleted = self
            .inner
            .delete_all_of(namespace, principal, except)
            .await?;
        self.count.remove(deleted);
        Ok(deleted)
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn delete_expired_batch(
        &self,
        now: SystemTime,
        from: Option<PurgeCursor>,
        batch: u64,
    ) -> Result<PurgeBatch, StorageError> {
        let purged = self.inner.delete_expired_batch(now, from, batch).await?;
        self.count.remove(purged.removed);
        Ok(purged)
    }

    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        self.inner.stats(now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;
    use crate::storage::{MemoryStorage, StorageErrorKind};

    fn record(now: SystemTime, life: Duration) -> Record {
        Record::new("{}", now, now + life)
    }

    #[tokio::test]
    async fn refuses_creates_at_the_limit_and_makes_room_as_sessions_end() {
        let storage = QuotaStorage::new(MemoryStorage::new(), 3);
        let ns = Namespace::new("s");
        let now = SystemTime::now();
        let minute = Duration::from_secs(60);
        let ids: Vec<SessionId> = (0..3).map(|_| SessionId::generate()).collect();
        for id in &ids {
            storage
                .create(ns.key(id), &record(now, minute), now)
                .await
                .unwrap();
        }
        let refused = storage
            .create(ns.key(&SessionId::generate()), &record(now, minute), now)
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), StorageErrorKind::Full);
        // Updates and id changes of existing sessions still work at the limit.
        assert!(
            storage
                .update(ns.key(&ids[0]), &record(now, minute), now)
                .await
                .unwrap()
        );
        let moved = SessionId::generate();
        assert!(
            storage
                .change_id(ns.key(&ids[0]), ns.key(&moved), &record(now, minute), now)
                .await
                .unwrap()
        );
        // A logout makes room for one.
        assert!(storage.delete(ns.key(&ids[1])).await.unwrap());
        assert_eq!(storage.live(), 2);
        storage
            .create(ns.key(&SessionId::generate()), &record(now, minute), now)
            .await
            .unwrap();
        assert!(
            storage
                .create(ns.key(&SessionId::generate()), &record(now, minute), now)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn counts_what_was_stored_before_and_recounts_what_expired() {
        let inner = Arc::new(MemoryStorage::new());
        let ns = Namespace::new("s");
        // A minute ago, sessions of a second: expired by the real time of the recount.
        let now = SystemTime::now() - Duration::from_secs(60);
        let second = Duration::from_secs(1);
        for _ in 0..2 {
            inner
                .create(ns.key(&SessionId::generate()), &record(now, second), now)
                .await
                .unwrap();
        }
        let storage = QuotaStorage::new(inner.clone(), 3).recount_every(Duration::ZERO);
        storage
            .create(ns.key(&SessionId::generate()), &record(now, second), now)
            .await
            .unwrap();
        assert_eq!(
            storage.live(),
            3,
            "two found at the first count, one created"
        );
        // At the limit; the create starts a recount (in the background, due at once), which
        // finds that all three have expired since.
        let refused = storage
            .create(ns.key(&SessionId::generate()), &record(now, second), now)
            .await;
        assert_eq!(refused.unwrap_err().kind(), StorageErrorKind::Full);
        for _ in 0..100 {
            if storage.live() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(storage.live(), 0);
    }
}
