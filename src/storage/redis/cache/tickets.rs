//! Fill tickets: what a read or a write of this process remembers, before its command is sent,
//! so that its result enters the cache only if nothing could have made it stale meanwhile.
//!
//! Every key maps to one [`Slot`], which counts the events that may change a key's value:
//! invalidations from Redis, and the beginning and end of this process's own writes. A read
//! fills only if its slot counted nothing since its ticket and no write of the slot is in
//! flight. A write fills only if it was the only write of its slot in flight and nothing else
//! was counted since it began: two writes of this process to one session may reach Redis in
//! either order, so neither of them knows which value is left, and Redis tells this
//! connection about neither (tracking runs with `NOLOOP`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::LocalCache;
use crate::storage::Record;
use crate::storage::key::Key;

/// Slots per cache: a power of two. 1024 slots of 16 bytes: 16 KiB per storage.
pub(super) const SLOTS: usize = 1024;

/// The event counts of the keys that map to one slot.
#[derive(Debug, Default)]
pub(super) struct Slot {
    /// Invalidations, and beginnings and ends of writes.
    changes: AtomicU64,
    /// Writes of this process in flight.
    writing: AtomicU64,
}

impl Slot {
    /// Counts an invalidation.
    pub(super) fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts the beginning of a write; the count the write's ticket holds.
    pub(super) fn begin_write(&self) -> u64 {
        self.writing.fetch_add(1, Ordering::SeqCst);
        self.changes.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Counts the end of the write that began at `changes` (the count itself follows with
    /// [`changed`](Self::changed) once the write's fill is decided); whether that write was
    /// alone: no other write in flight, nothing else counted since it began.
    pub(super) fn end_write(&self, changes: u64) -> bool {
        let others = self
            .writing
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1);
        others == 0 && self.changes.load(Ordering::SeqCst) == changes
    }

    /// Whether nothing was counted since `changes` and no write is in flight.
    pub(super) fn quiet_since(&self, changes: u64) -> bool {
        self.writing.load(Ordering::SeqCst) == 0 && self.changes.load(Ordering::SeqCst) == changes
    }

    fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }
}

/// Taken by a read that missed the cache, before its command is sent.
#[derive(Debug)]
pub(in crate::storage::redis) struct ReadTicket {
    pub(super) key: Key,
    pub(super) state: u64,
    pub(super) changes: u64,
}

impl ReadTicket {
    pub(super) fn new(key: Key, state: u64, slot: &Slot) -> ReadTicket {
        ReadTicket {
            key,
            state,
            changes: slot.changes(),
        }
    }
}

/// Held by a write of this process from before its command is sent until its result is known.
/// [`written`](Self::written) offers the record Redis now holds; dropping the ticket (an
/// error, an unknown outcome, a write whose result is not cached) only ends the write.
#[must_use = "a write ticket ends the write when it is dropped"]
pub(in crate::storage::redis) struct WriteTicket<'a> {
    cache: &'a LocalCache,
    pub(super) key: Key,
    pub(super) state: u64,
    pub(super) changes: u64,
    ended: bool,
}

impl<'a> WriteTicket<'a> {
    pub(super) fn new(cache: &'a LocalCache, key: Key, state: u64, changes: u64) -> Self {
        WriteTicket {
            cache,
            key,
            state,
            changes,
            ended: false,
        }
    }

    /// The write succeeded and Redis holds `record` under the key. `established`: the session
    /// was in use before (an update), rather than new (a create), for the eviction order.
    pub(in crate::storage::redis) fn written(
        mut self,
        record: Record,
        established: bool,
        now: SystemTime,
    ) {
        self.ended = true;
        self.cache.end_write(
            &self,
            Some(Written {
                record,
                established,
                now,
            }),
        );
    }
}

impl Drop for WriteTicket<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.cache.end_write(self, None);
        }
    }
}

/// What a successful write left in Redis.
pub(super) struct Written {
    pub(super) record: Record,
    pub(super) established: bool,
    pub(super) now: SystemTime,
}
