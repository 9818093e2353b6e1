//! Support for the storage micro benchmarks: a payload, a runtime-free executor, RSS, and
//! [`MokaStorage`], the obvious alternative design for the memory storage (a `moka` cache
//! with per-entry expiry, LRU eviction and `and_compute_with` for atomic create and update),
//! kept here only to measure it against [`MemoryStorage`](typed_sessions::storage::MemoryStorage).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use moka::Expiry;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use typed_sessions::SessionId;
use typed_sessions::storage::{
    Created, Namespace, Record, SessionKey, SessionStorage, StorageError,
};

/// A payload of about 100 bytes, the size the memory figures are quoted for.
pub const PAYLOAD: &str = r#"{"userID":"user-000123","productIDs":[1,3,7,11,13,17,19,23,29,31],"theme":"dark","lang":"en"}"#;

/// A record of [`PAYLOAD`] created at `now`, valid for a day.
pub fn record(now: SystemTime) -> Record {
    Record::new(PAYLOAD, now, now + Duration::from_secs(86_400))
}

/// Runs a future that never waits (the memory storages never do) to completion on this thread,
/// without a runtime.
///
/// # Panics
///
/// If the future is not ready at its first poll.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future was not ready"),
    }
}

/// Resident set size of this process in bytes (Linux).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[derive(Debug)]
struct Entry {
    data: Box<[u8]>,
    created_at: SystemTime,
    expires_at: SystemTime,
}

impl Entry {
    fn new(record: &Record) -> Entry {
        Entry {
            data: record.data.as_slice().into(),
            created_at: record.created_at,
            expires_at: record.expires_at,
        }
    }
    fn live(&self, now: SystemTime) -> bool {
        self.expires_at > now
    }
    fn record(&self) -> Record {
        Record::new(self.data.to_vec(), self.created_at, self.expires_at)
    }
}

struct ExpireAt;

impl Expiry<[u8; 32], Arc<Entry>> for ExpireAt {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        value: &Arc<Entry>,
        _: Instant,
    ) -> Option<Duration> {
        Some(
            value
                .expires_at
                .duration_since(SystemTime::now())
                .unwrap_or_default(),
        )
    }
    fn expire_after_update(
        &self,
        key: &[u8; 32],
        value: &Arc<Entry>,
        at: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, value, at)
    }
}

/// The memory storage built on `moka::sync::Cache` instead (for comparison only).
pub struct MokaStorage {
    cache: Cache<[u8; 32], Arc<Entry>>,
}

impl std::fmt::Debug for MokaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MokaStorage")
    }
}

impl MokaStorage {
    /// A cache for `capacity` sessions, LRU eviction, per-entry expiry.
    pub fn new(capacity: u64) -> MokaStorage {
        MokaStorage {
            cache: Cache::builder()
                .max_capacity(capacity)
                .eviction_policy(EvictionPolicy::lru())
                .expire_after(ExpireAt)
                .build(),
        }
    }

    /// Applies moka's pending maintenance (so memory figures include it).
    pub fn settle(&self) {
        self.cache.run_pending_tasks();
    }

    /// Entries held.
    pub fn len(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The namespace the storage benchmarks file their records under.
static BENCH: std::sync::LazyLock<Namespace> = std::sync::LazyLock::new(|| Namespace::new("bench"));

/// `id` in the benchmarks' namespace.
pub fn bench_key(id: &SessionId) -> SessionKey<'_> {
    BENCH.key(id)
}

/// The moka table's key: the id's bytes (benchmarks use one namespace and default ids only,
/// 64 lowercase hex, as `MemoryStorage` keys them).
fn key(session: SessionKey<'_>) -> [u8; 32] {
    let mut key = [0u8; 32];
    hex::decode_to_slice(session.id().as_str(), &mut key).unwrap_or_default();
    key
}

#[async_trait]
impl SessionStorage for MokaStorage {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        Ok(self
            .cache
            .get(&self::key(key))
            .filter(|e| e.live(now))
            .map(|e| e.record()))
    }

    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        let entry = Arc::new(Entry::new(record));
        let result = self
            .cache
            .entry(self::key(key))
            .and_compute_with(|current| match current {
                Some(e) if e.value().live(now) => Op::Nop,
                _ => Op::Put(entry),
            });
        Ok(match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => Created::Inserted,
            _ => Created::Collision,
        })
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let entry = Arc::new(Entry::new(record));
        let result = self
            .cache
            .entry(self::key(key))
            .and_compute_with(|current| match current {
                Some(e) if e.value().live(now) => Op::Put(entry),
                _ => Op::Nop,
            });
        Ok(matches!(result, CompResult::ReplacedWith(_)))
    }

    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        Ok(self.cache.remove(&self::key(key)).is_some())
    }

    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        let expired: Vec<Arc<[u8; 32]>> = self
            .cache
            .iter()
            .filter(|(_, e)| !e.live(now))
            .map(|(k, _)| k)
            .collect();
        for k in &expired {
            self.cache.invalidate(&**k);
        }
        Ok(expired.len() as u64)
    }
}
