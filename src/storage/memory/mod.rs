//! In-process storage: bounded, sharded, with per-record expiry.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

mod entry;
mod index;

use entry::Entry;
use index::Index;

use super::key::Key;
use super::table::{Evicted, Table};
use super::{
    Created, Namespace, PrincipalSession, Record, Revision, SessionHandle, SessionKey,
    SessionStorage, StorageError, StorageStats, Updated,
};

/// How many sessions a [`MemoryStorage`] holds by default.
pub const DEFAULT_MEMORY_CAPACITY: usize = 100_000;

/// Sessions kept in this process's memory: lost on restart, not shared between processes.
///
/// * **Bounded.** At most [`capacity`](Self::capacity) sessions (default
///   [`DEFAULT_MEMORY_CAPACITY`]). When full, expired sessions go first, then sessions never
///   used since they were created (what a flood of requests without cookies leaves behind),
///   and only then the least recently used of the sessions in use (a CLOCK approximation of
///   LRU). Each eviction of a live session logs its user out, so size the capacity for your
///   peak and watch
///   [`evictions`](Self::evictions). The bound is exact and kept per shard, so a storage
///   filled to the brim starts evicting slightly early (filling 1 000 000 sessions into a
///   storage of capacity 1 000 000 kept 999 254 of them).
/// * **Expiry.** Each record carries its own expiry and reads as absent from then on. Expired
///   records are removed without a per-request cost: every new session moves a sweeping hand
///   two steps, a full shard sweeps itself (at most once a second), and
///   [`delete_expired`](SessionStorage::delete_expired) (or [`spawn_sweeper`](super::spawn_sweeper))
///   sweeps everything.
/// * **Concurrent.** Sessions are spread over up to 128 shards (four per core), each behind a
///   mutex held for one map operation and never across an `.await`. `create` and `update` are
///   atomic per id; `change_id` locks both ids and is atomic too.
/// * **Memory.** Per session: the payload, two timestamps, the 32-byte key (ids are kept as
///   their random bytes, not as text) and the map's own overhead, which is less than a
///   `moka`-based storage needs. `BENCHMARKS.md` has the measured figures.
/// * **Fast.** A load, an update or a create is one map operation under one shard's lock, plus
///   the boxed future and the copy of the payload: fewer instructions than a `moka`-based
///   storage needs for each (`BENCHMARKS.md`).
///
/// It is the right storage for development, for tests, and for one-process services that can
/// afford to log everyone out on a restart.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::storage::{
///     Created, MemoryStorage, Namespace, Record, SessionId, SessionStorage,
/// };
///
/// let storage = MemoryStorage::with_capacity(10_000);
/// let cart = Namespace::new("cart");
/// let id = SessionId::generate();
/// let now = SystemTime::now();
/// let record = Record::new("{}", now, now + Duration::from_secs(60));
/// assert_eq!(storage.create(cart.key(&id), &record, now).await?, Created::Inserted);
/// assert_eq!(storage.load(cart.key(&id), now).await?, Some(record.clone()));
/// // Expired records read as absent at once, swept or not.
/// assert_eq!(storage.load(cart.key(&id), now + Duration::from_secs(60)).await?, None);
/// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
/// ```
pub struct MemoryStorage {
    table: Table<Entry>,
    index: Index,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        MemoryStorage::new()
    }
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStorage")
            .field("capacity", &self.table.capacity())
            .finish_non_exhaustive()
    }
}

impl MemoryStorage {
    /// An empty storage for up to [`DEFAULT_MEMORY_CAPACITY`] sessions.
    pub fn new() -> MemoryStorage {
        MemoryStorage::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }

    /// An empty storage for up to `capacity` sessions (at least 1). Nothing is allocated up
    /// front.
    ///
    /// ```
    /// use typed_sessions::storage::MemoryStorage;
    /// assert_eq!(MemoryStorage::with_capacity(500).capacity(), 500);
    /// ```
    pub fn with_capacity(capacity: usize) -> MemoryStorage {
        MemoryStorage {
            table: Table::new(capacity),
            index: Index::default(),
        }
    }

    /// The most sessions this storage holds.
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// The number of records held, expired ones included until they are swept. It visits
    /// every shard: for metrics, not for the request path.
    ///
    /// ```
    /// use typed_sessions::storage::MemoryStorage;
    /// assert_eq!(MemoryStorage::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many live (unexpired) sessions were evicted to make room since the storage was
    /// made. Anything above zero means users were logged out because the storage was full.
    ///
    /// ```
    /// use typed_sessions::storage::MemoryStorage;
    /// assert_eq!(MemoryStorage::new().evictions(), 0);
    /// ```
    pub fn evictions(&self) -> u64 {
        self.table.evictions()
    }

    fn evicted(&self, evicted: Evicted) {
        if evicted == Evicted::Live {
            self.table.note_eviction(evicted);
            tracing::debug!(
                capacity = self.table.capacity(),
                "memory session storage full: a live session was evicted"
            );
        }
    }
}

impl MemoryStorage {
    /// Files a new record under its principal, if it has one (its shard is locked); returns
    /// whether it did.
    fn index_added(&self, key: SessionKey<'_>, table_key: Key, record: &Record) -> bool {
        let Some(principal) = &record.meta.principal else {
            return false;
        };
        let tag = key.namespace().tag();
        self.index
            .add(tag, principal, SessionHandle::of(key), table_key);
        true
    }

    /// Drops the index entries of sessions evicted from a full storage before they pile up.
    /// Called with no shard locked: the pruning locks each entry's shard in turn.
    fn prune_index_if_overgrown(&self) {
        if self.index.len() > self.table.capacity().saturating_mul(2) {
            self.prune_index(None);
        }
    }

    /// Drops a removed record's index entry, if it had a principal (its shard is locked).
    fn index_removed(&self, key: SessionKey<'_>, removed: &Entry) {
        if let Some(principal) = removed.principal() {
            self.index
                .remove(key.namespace().tag(), principal, &SessionHandle::of(key));
        }
    }

    /// Drops the index entries whose session is no longer in the table (or expired at `now`),
    /// each checked under its shard's lock; returns how many.
    fn prune_index(&self, now: Option<SystemTime>) -> usize {
        let mut removed = 0;
        for (tag, principal, handle, key) in self.index.entries() {
            let shard = self.table.shard(&key);
            let live = shard.peek(&key).is_some_and(|entry| {
                entry.principal() == Some(principal.as_str())
                    && now.is_none_or(|now| !entry.is_expired(now))
            });
            if !live {
                self.index.remove(tag, &principal, &handle);
                removed += 1;
            }
            drop(shard);
        }
        removed
    }

    /// The table key of `principal`'s session `handle` with its live record, checked under
    /// the shard's lock by `f`.
    fn with_indexed<R>(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
        f: impl FnOnce(&mut super::table::Shard<Entry>, &Key) -> R,
    ) -> Option<R> {
        let key = self.index.find(namespace.tag(), principal, handle)?;
        let mut shard = self.table.shard(&key);
        Some(f(&mut shard, &key))
    }
}

#[async_trait]
impl SessionStorage for MemoryStorage {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        let key = Key::of(key);
        let mut shard = self.table.shard(&key);
        Ok(shard
            .get(&key)
            .filter(|entry| !entry.is_expired(now))
            .map(|entry| entry.record()))
    }

    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        let table_key = Key::of(key);
        let entry = Entry::new(record);
        let mut shard = self.table.shard(&table_key);
        if shard.peek(&table_key).is_some_and(|e| !e.is_expired(now)) {
            return Ok(Created::Collision);
        }
        let evicted = shard.insert(table_key, entry, |e| e.is_expired(now));
        let filed = self.index_added(key, table_key, record);
        drop(shard);
        self.evicted(evicted);
        if filed {
            self.prune_index_if_overgrown();
        }
        Ok(Created::Inserted)
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let key = Key::of(key);
        let mut shard = self.table.shard(&key);
        match shard.get(&key) {
            Some(existing) if !existing.is_expired(now) => {
                existing.update_from(record);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        let key = Key::of(key);
        let mut shard = self.table.shard(&key);
        Ok(match shard.get(&key) {
            Some(existing) if !existing.is_expired(now) => {
                if existing.revision() == expected {
                    existing.update_from(record);
                    Updated::Written
                } else {
                    Updated::Conflict
                }
            }
            _ => Updated::Gone,
        })
    }

    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        let table_key = Key::of(key);
        let mut shard = self.table.shard(&table_key);
        let removed = shard.remove(&table_key);
        if let Some(entry) = &removed {
            self.index_removed(key, entry);
        }
        Ok(removed.is_some())
    }

    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let (old_key, new_key) = (Key::of(old), Key::of(new));
        if old_key == new_key {
            return Ok(false); // the new id is taken, by the old session itself
        }
        let entry = Entry::new(record);
        let outcome = self.table.with_pair(&old_key, &new_key, |mut pair| {
            let old_live = pair.a().peek(&old_key).is_some_and(|e| !e.is_expired(now));
            let new_taken = pair.b().peek(&new_key).is_some_and(|e| !e.is_expired(now));
            if !old_live || new_taken {
                return None;
            }
            if let Some(removed) = pair.a().remove(&old_key) {
                self.index_removed(old, &removed);
            }
            let evicted = pair
                .b()
                .insert_established(new_key, entry, |e| e.is_expired(now));
            let filed = self.index_added(new, new_key, record);
            Some((evicted, filed))
        });
        match outcome {
            Some((evicted, filed)) => {
                self.evicted(evicted);
                if filed {
                    self.prune_index_if_overgrown();
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        let mut removed = 0u64;
        self.table.for_each_shard(|shard| {
            removed += shard.retain(|e| !e.is_expired(now)) as u64;
        });
        self.prune_index(Some(now));
        Ok(removed)
    }

    fn backend(&self) -> &'static str {
        "memory"
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
        let mut sessions = Vec::new();
        for (handle, key) in self.index.of(namespace.tag(), principal) {
            let shard = self.table.shard(&key);
            let live = shard
                .peek(&key)
                .filter(|entry| entry.principal() == Some(principal) && !entry.is_expired(now));
            match live {
                Some(entry) => sessions.push(PrincipalSession::new(handle, entry.record())),
                None => {
                    // Evicted, expired or moved: the entry is stale.
                    if shard
                        .peek(&key)
                        .is_none_or(|e| e.principal() != Some(principal))
                    {
                        self.index.remove(namespace.tag(), principal, &handle);
                    }
                }
            }
        }
        Ok(sessions)
    }

    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        let ended = self.with_indexed(namespace, principal, handle, |shard, key| {
            let owned = shard
                .peek(key)
                .is_some_and(|entry| entry.principal() == Some(principal));
            if owned {
                shard.remove(key);
            }
            self.index.remove(namespace.tag(), principal, handle);
            owned
        });
        Ok(ended == Some(true))
    }

    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        let mut ended = 0u64;
        for (handle, key) in self.index.of(namespace.tag(), principal) {
            if Some(&handle) == except {
                continue;
            }
            let mut shard = self.table.shard(&key);
            if shard
                .peek(&key)
                .is_some_and(|entry| entry.principal() == Some(principal))
            {
                shard.remove(&key);
                ended += 1;
            }
            self.index.remove(namespace.tag(), principal, &handle);
        }
        Ok(ended)
    }

    /// Counts the live and expired records (one shard locked at a time). The size is an
    /// estimate of the memory the records take: their payloads plus about 200 bytes each.
    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        let (mut live, mut expired, mut bytes) = (0u64, 0u64, 0u64);
        self.table.for_each_shard(|shard| {
            for entry in shard.values() {
                if entry.is_expired(now) {
                    expired += 1;
                } else {
                    live += 1;
                }
                bytes = bytes.saturating_add(entry.data_len() as u64 + RECORD_OVERHEAD);
            }
        });
        Ok(Some(
            StorageStats::new(live, expired).with_size(bytes, "estimated memory of the records"),
        ))
    }
}

/// What one record costs in a [`MemoryStorage`] besides its payload, in bytes, as
/// [`SessionStorage::stats`] estimates it: about 200, from the memory measurement in
/// `BENCHMARKS.md`.
const RECORD_OVERHEAD: u64 = 200;

#[cfg(test)]
mod tests {
    use crate::storage::{SessionId, test_key};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keeps_the_contract() {
        super::super::contract::run(|| async { MemoryStorage::with_capacity(10_000) }).await;
    }

    #[tokio::test]
    async fn evicts_expired_sessions_before_live_ones() {
        // One shard, so which session goes is deterministic.
        let storage = MemoryStorage {
            table: Table::with_shards(64, 1),
            index: Index::default(),
        };
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let short: Vec<SessionId> = (0..64).map(|_| SessionId::generate()).collect();
        for id in &short {
            let record = Record::new("short", now, now + Duration::from_secs(60));
            storage.create(test_key(id), &record, now).await.unwrap();
        }
        // Two minutes later the 64 short sessions have expired; 64 new ones all fit.
        let later = now + Duration::from_secs(120);
        let long: Vec<SessionId> = (0..64).map(|_| SessionId::generate()).collect();
        for id in &long {
            let record = Record::new("long", later, later + hour);
            storage.create(test_key(id), &record, later).await.unwrap();
            assert!(storage.len() <= 64);
        }
        assert_eq!(live(&storage, &long, later).await, 64);
        assert_eq!(storage.evictions(), 0);
        // All 64 are in use (just read). One more session makes the hand pass over all
        // (clearing their marks) and evict one.
        let hour_record = Record::new("extra", later, later + hour);
        let first_extra = SessionId::generate();
        storage
            .create(test_key(&first_extra), &hour_record, later)
            .await
            .unwrap();
        assert_eq!(storage.evictions(), 1);
        let present = |id: &SessionId| {
            let key = Key::of(test_key(id));
            storage.table.shard(&key).peek(&key).is_some()
        };
        let survivors: Vec<&SessionId> = long.iter().filter(|id| present(id)).collect();
        assert_eq!(survivors.len(), 63);
        // Use all survivors but one, and the new session; the next eviction takes exactly
        // the unused one. (Had the new session not been used again, it would go first.)
        let (unused, used) = survivors.split_first().unwrap();
        for id in used.iter().copied().chain([&first_extra]) {
            storage.load(test_key(id), later).await.unwrap();
        }
        let extra = SessionId::generate();
        storage
            .create(test_key(&extra), &hour_record, later)
            .await
            .unwrap();
        assert_eq!(storage.evictions(), 2);
        assert!(!present(unused));
        assert!(used.iter().all(|id| present(id)));
        assert!(present(&extra));
    }

    #[tokio::test]
    async fn stays_bounded_under_a_flood() {
        let storage = MemoryStorage::with_capacity(100);
        let now = SystemTime::now();
        let record = Record::new("flood", now, now + Duration::from_secs(3600));
        for _ in 0..2000 {
            let id = SessionId::generate();
            assert_eq!(
                storage.create(test_key(&id), &record, now).await.unwrap(),
                Created::Inserted
            );
            // The newest session is never the one evicted.
            assert!(storage.load(test_key(&id), now).await.unwrap().is_some());
            assert!(storage.len() <= 100);
        }
        assert!(storage.len() >= 50, "{}", storage.len());
        assert_eq!(storage.evictions() as usize, 2000 - storage.len());
    }

    #[tokio::test]
    async fn a_flood_of_sessions_never_used_again_does_not_evict_the_ones_in_use() {
        let storage = MemoryStorage::with_capacity(1000);
        let now = SystemTime::now();
        let record = Record::new("user", now, now + Duration::from_secs(3600));
        // 500 users: created, then used.
        let mut users = Vec::new();
        for _ in 0..500 {
            let id = SessionId::generate();
            storage.create(test_key(&id), &record, now).await.unwrap();
            users.push(id);
        }
        assert_eq!(live(&storage, &users, now).await, 500);
        // 20 000 sessions of a client that never sends its cookie back.
        let flood = Record::new("flood", now, now + Duration::from_secs(3600));
        for _ in 0..20_000 {
            let id = SessionId::generate();
            storage.create(test_key(&id), &flood, now).await.unwrap();
        }
        // Every user keeps their session (a shard whose share of users exceeds its share of
        // the capacity would have to evict one; with 500 users in 1000 places it does not).
        assert_eq!(live(&storage, &users, now).await, 500);
        assert!(storage.evictions() >= 19_000, "{}", storage.evictions());
    }

    #[test]
    fn logins_that_overflow_a_full_storage_prune_its_index_without_deadlock() {
        // Every login beyond the capacity evicts one; past twice the capacity in index entries
        // the index is pruned, which locks shards: it once ran with the new record's shard
        // still locked and hung the thread. Run on a thread of its own, so a hang fails the
        // test instead of blocking the suite.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(async {
                let storage = MemoryStorage::with_capacity(8);
                let now = SystemTime::now();
                let mut record = Record::new("login", now, now + Duration::from_secs(3600));
                for n in 0..200 {
                    record.meta.principal = Some(format!("user{}", n % 3).into());
                    let id = SessionId::generate();
                    storage.create(test_key(&id), &record, now).await.unwrap();
                    let moved = SessionId::generate();
                    storage
                        .change_id(test_key(&id), test_key(&moved), &record, now)
                        .await
                        .unwrap();
                }
                let _ = done.send(storage.index.len());
            });
        });
        let entries = finished
            .recv_timeout(Duration::from_secs(30))
            .expect("logins into a full storage hung");
        assert!(
            entries <= 2 * 8 + 1,
            "the index was not pruned: {entries} entries"
        );
    }

    async fn live(storage: &MemoryStorage, ids: &[SessionId], now: SystemTime) -> usize {
        let mut n = 0;
        for id in ids {
            if storage.load(test_key(id), now).await.unwrap().is_some() {
                n += 1;
            }
        }
        n
    }

    #[tokio::test]
    async fn custom_ids_work_like_default_ones() {
        let storage = MemoryStorage::new();
        let now = SystemTime::now();
        let record = Record::new("{}", now, now + Duration::from_secs(60));
        let lower = SessionId::parse_custom(&"ab".repeat(32)).unwrap();
        let upper = SessionId::parse_custom(&"AB".repeat(32)).unwrap();
        let short = SessionId::parse_custom("user-7").unwrap();
        for id in [&lower, &upper, &short] {
            assert_eq!(
                storage.create(test_key(id), &record, now).await.unwrap(),
                Created::Inserted
            );
        }
        assert_eq!(storage.len(), 3);
        assert!(storage.delete(test_key(&upper)).await.unwrap());
        assert!(storage.load(test_key(&lower), now).await.unwrap().is_some());
    }
}
