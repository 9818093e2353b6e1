//! The cached copies and their invalidation: every write drops the copy first and bumps its
//! shard's epoch, and a fill (the result of a read or a write) is kept only if no
//! invalidation happened since it started.

use std::time::{Duration, Instant, SystemTime};

use super::CacheStorage;
use crate::storage::key::Key;
use crate::storage::{Namespace, Record, SessionStorage};

/// One cached record.
pub(super) struct Cached {
    pub(super) record: Record,
    /// The [tag](Namespace::tag) of the record's namespace, to find a principal's records.
    pub(super) namespace: u64,
    /// When the record was last read from or written to the inner storage.
    pub(super) synced: Instant,
}

impl Cached {
    pub(super) fn usable(&self, ttl: Duration, now: SystemTime) -> bool {
        self.synced.elapsed() < ttl && !self.record.is_expired(now)
    }
}

impl<S: SessionStorage> CacheStorage<S> {
    /// Removes `key` from the cache and bumps its shard's epoch, so fills that started
    /// earlier are dropped. Returns the new epoch.
    pub(super) fn invalidate(&self, key: &Key) -> u64 {
        let mut shard = self.table.shard(key);
        shard.remove(key);
        shard.epoch += 1;
        shard.epoch
    }

    /// Removes every cached record of `principal` in `namespace` and bumps every shard's
    /// epoch, so fills that started earlier (of any key) are dropped.
    pub(super) fn invalidate_principal(&self, namespace: &Namespace, principal: &str) {
        let tag = namespace.tag();
        self.table.for_each_shard(|shard| {
            shard.retain(|c| {
                c.namespace != tag || c.record.meta.principal.as_deref() != Some(principal)
            });
            shard.epoch += 1;
        });
    }

    /// Caches `record` under `key` if nothing invalidated the shard since `epoch`; otherwise
    /// makes sure nothing (possibly stale) stays cached under `key`.
    pub(super) fn settle(
        &self,
        (key, namespace): (Key, u64),
        epoch: u64,
        record: Option<Record>,
        now: SystemTime,
        write: bool,
    ) {
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
                namespace,
                synced: Instant::now(),
            };
            let evicted = shard.insert(key, cached, |c| !c.usable(ttl, now));
            drop(shard);
            self.table.note_eviction(evicted);
        }
    }
}
