//! The local half of client-side caching: a bounded table of the records this process has
//! read or written, which Redis keeps correct through invalidation messages (see
//! [`ClientSideCache`] for the whole design and its guarantees).
//!
//! Three rules keep a cached record from ever outliving a change that Redis has reported:
//!
//! * **Generations.** The cache serves only while invalidations are known to flow: every
//!   connection that might carry them was set up with `CLIENT TRACKING` and none was lost
//!   since. Losing one (or suspecting it) starts a new generation, switched off, and entries of
//!   older generations are never served again ([`reset`](LocalCache::reset)); the generation is
//!   switched on once tracking is confirmed on every connection ([`confirm`](LocalCache::confirm)).
//! * **Fill tickets.** A record read from Redis, or written to it, enters the cache only if
//!   nothing that could make it stale happened to its key while the command was in flight: no
//!   invalidation, no other write of this process, no change of generation. Each key maps to
//!   one of [`SLOTS`] slots that count such events ([`Slot`]); a ticket taken before the
//!   command is sent remembers the count, and the fill compares it under the table's lock.
//!   Events of other keys of the same slot only cost a missed fill, never a stale one.
//! * **Expiry by the record and by the real time.** An entry is served only while its record
//!   is live at the caller's `now` and at the real time (Redis drops keys at their `PXAT`
//!   without an invalidation), and, with a bound, only for so long after Redis last confirmed
//!   it.

mod digests;
mod options;
mod tickets;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use redis::{PushInfo, PushKind, Value};
use tokio::sync::Notify;

use self::digests::Digests;
pub(super) use self::digests::SessionDigest;
pub use self::options::{ClientSideCache, ClientSideCacheStats, DEFAULT_CLIENT_CACHE_CAPACITY};
pub(super) use self::tickets::{ReadTicket, WriteTicket};
use self::tickets::{SLOTS, Slot, Written};
use super::keys::Keys;
use crate::storage::key::Key;
use crate::storage::table::Table;
use crate::storage::{Record, SessionKey};

/// The cache of one storage (shared by its clones, its connections' push handlers and its
/// keeper).
pub(crate) struct LocalCache {
    table: Table<Entry>,
    digests: Digests,
    slots: Box<[Slot]>,
    /// `generation << 1 | on`.
    state: AtomicU64,
    keys: Keys,
    max_unconfirmed: Option<Duration>,
    invalidations: AtomicU64,
    resets: AtomicU64,
    /// Wakes the keeper when a connection is lost (a Cluster node's).
    wake: Notify,
}

struct Entry {
    record: Record,
    generation: u64,
    /// When Redis last confirmed this record (the read or write that filled it), if entries
    /// have a bound on how long they may be served without confirmation.
    confirmed: Option<Instant>,
}

/// What a look-up found.
pub(super) enum Lookup {
    /// A record to serve.
    Hit(Record),
    /// Nothing usable: read Redis, then offer what it said with the ticket.
    Miss(ReadTicket),
}

impl LocalCache {
    pub(super) fn new(options: &ClientSideCache, keys: Keys) -> LocalCache {
        LocalCache {
            table: Table::new(options.capacity),
            digests: Digests::new(options.capacity),
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            state: AtomicU64::new(0),
            keys,
            max_unconfirmed: options.max_unconfirmed,
            invalidations: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            wake: Notify::new(),
        }
    }

    /// The table key of the session whose [digest](SessionKey::digest) is `digest`.
    pub(super) fn key(digest: [u8; 32]) -> Key {
        Key::of_digest(digest)
    }

    /// The digest of `session`, without SHA-256 if the cache has seen the session.
    pub(super) fn digest(&self, session: SessionKey<'_>) -> SessionDigest {
        self.digests.of(session)
    }

    /// Remembers the digest of a session found in Redis.
    pub(super) fn remember(&self, digest: &SessionDigest) {
        self.digests.remember(digest);
    }

    fn slot(&self, key: &Key) -> &Slot {
        let index = (key.spread() >> (64 - SLOTS.ilog2())) as usize;
        // `index < SLOTS` by the shift; the fallback is never taken.
        match self.slots.get(index).or_else(|| self.slots.first()) {
            Some(slot) => slot,
            None => unreachable!("the cache has {SLOTS} slots"),
        }
    }

    fn state(&self) -> u64 {
        self.state.load(Ordering::SeqCst)
    }

    /// The record cached under `key`, if it may be served at `now`; otherwise a ticket for
    /// filling it from Redis (taken now, before the read is sent).
    pub(super) fn lookup(&self, key: Key, now: SystemTime) -> Lookup {
        let state = self.state();
        {
            let mut shard = self.table.shard(&key);
            if let Some(entry) = shard.get(&key) {
                if self.servable(entry, state, now) {
                    return Lookup::Hit(entry.record.clone());
                }
                shard.remove(&key);
            }
        }
        Lookup::Miss(ReadTicket::new(key, state, self.slot(&key)))
    }

    /// Whether [`lookup`](Self::lookup) would answer the session with `digest` now (without
    /// marking it as used).
    pub(super) fn would_serve(&self, digest: [u8; 32], now: SystemTime) -> bool {
        let key = LocalCache::key(digest);
        let state = self.state();
        let shard = self.table.shard(&key);
        shard
            .peek(&key)
            .is_some_and(|entry| self.servable(entry, state, now))
    }

    fn servable(&self, entry: &Entry, state: u64, now: SystemTime) -> bool {
        is_on(state)
            && entry.generation == generation(state)
            && live(&entry.record, now)
            && self.confirmed_recently(entry)
    }

    fn confirmed_recently(&self, entry: &Entry) -> bool {
        match (self.max_unconfirmed, entry.confirmed) {
            (Some(bound), Some(at)) => at.elapsed() < bound,
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    /// Caches `record`, read from Redis under `ticket`, unless something may have changed it
    /// since the ticket was taken.
    pub(super) fn fill_read(&self, ticket: ReadTicket, record: Record, now: SystemTime) {
        let key = ticket.key;
        let mut shard = self.table.shard(&key);
        let slot = self.slot(&key);
        let state = self.state();
        if state == ticket.state && is_on(state) && slot.quiet_since(ticket.changes) {
            self.insert(&mut shard, key, record, state, now, false);
        }
    }

    /// Starts a write of `key` by this process: the cached record goes, and no fill of the key
    /// happens until the write ends (see [`WriteTicket`]).
    pub(super) fn begin_write(&self, key: Key) -> WriteTicket<'_> {
        let slot = self.slot(&key);
        let changes = slot.begin_write();
        let state = self.state();
        self.table.shard(&key).remove(&key);
        WriteTicket::new(self, key, state, changes)
    }

    /// Ends the write of `ticket`: caches what Redis now holds (if the write succeeded and
    /// its result is known) unless another event touched the key meanwhile.
    fn end_write(&self, ticket: &WriteTicket<'_>, written: Option<Written>) {
        let key = ticket.key;
        let slot = self.slot(&key);
        let mut shard = self.table.shard(&key);
        let alone = slot.end_write(ticket.changes);
        let state = self.state();
        if let Some(written) = written
            && alone
            && state == ticket.state
            && is_on(state)
        {
            let Written {
                record,
                established,
                now,
            } = written;
            self.insert(&mut shard, key, record, state, now, established);
        }
        // Reads that began during the write must not fill what they read before it ended.
        slot.changed();
    }

    fn insert(
        &self,
        shard: &mut crate::storage::table::Shard<Entry>,
        key: Key,
        record: Record,
        state: u64,
        now: SystemTime,
        established: bool,
    ) {
        if !live(&record, now) {
            return;
        }
        let entry = Entry {
            record,
            generation: generation(state),
            confirmed: self.max_unconfirmed.map(|_| Instant::now()),
        };
        let current = generation(state);
        let is_dead = |e: &Entry| e.generation != current || !live(&e.record, now);
        let evicted = if established {
            shard.insert_established(key, entry, is_dead)
        } else {
            shard.insert(key, entry, is_dead)
        };
        self.table.note_eviction(evicted);
    }

    /// Forgets `key`: Redis reported a change of it, or this process changed it in a way it
    /// cannot cache. Any fill of the key in flight is refused.
    pub(super) fn invalidate(&self, key: &Key) {
        self.slot(key).changed();
        self.table.shard(key).remove(key);
    }

    /// Starts a new generation, switched off: nothing cached so far is served again, nothing
    /// is filled until [`confirm`](Self::confirm). Returns the new generation.
    pub(super) fn reset(&self) -> u64 {
        self.next_generation(false)
    }

    /// A new generation, switched off, or kept on if `keep_on` and the current one is on.
    fn next_generation(&self, keep_on: bool) -> u64 {
        let previous = self
            .state
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                let on = if keep_on { s & 1 } else { 0 };
                Some(((generation(s) + 1) << 1) | on)
            })
            .unwrap_or_else(|s| s);
        self.resets.fetch_add(1, Ordering::Relaxed);
        // Free the memory; entries of older generations are dead already.
        let current = generation(previous) + 1;
        self.table.for_each_shard(|shard| {
            shard.retain(|e| e.generation == current);
        });
        current
    }

    /// Switches `generation` on, if it is still the current one: invalidations of every
    /// connection are known to flow. Whether it is on now.
    pub(super) fn confirm(&self, generation: u64) -> bool {
        let off = generation << 1;
        match self
            .state
            .compare_exchange(off, off | 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(state) => state == off | 1,
        }
    }

    /// The current generation.
    pub(super) fn generation(&self) -> u64 {
        generation(self.state())
    }

    /// Whether the cache serves and fills now.
    pub(super) fn is_on(&self) -> bool {
        is_on(self.state())
    }

    /// A connection was lost or may be: empties the cache and wakes the keeper, which sets
    /// tracking up again.
    pub(super) fn lost(&self) {
        self.reset();
        self.wake.notify_one();
    }

    /// Waits until [`lost`](Self::lost) is called (or returns at once if it was since the last
    /// wait).
    pub(super) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Handles a RESP3 push message of a tracking connection: an invalidation, or the
    /// client's own notice that the connection closed.
    pub(super) fn on_push(&self, push: &PushInfo) {
        match push.kind {
            PushKind::Invalidate => match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        if let Value::BulkString(key) = key {
                            self.invalidate_redis_key(key);
                        }
                    }
                }
                // `FLUSHDB`, `FLUSHALL`: every key. Tracking goes on as it was.
                _ => {
                    self.invalidations.fetch_add(1, Ordering::Relaxed);
                    self.invalidate_all();
                }
            },
            PushKind::Disconnection => self.lost(),
            _ => {}
        }
    }

    fn invalidate_redis_key(&self, key: &[u8]) {
        if let Some(digest) = self.keys.record_digest(key) {
            self.invalidations.fetch_add(1, Ordering::Relaxed);
            self.invalidate(&Key::of_digest(digest));
        }
    }

    /// Forgets the sessions whose storage keys (hex) are `members` (what a principal's ends
    /// removed).
    pub(super) fn invalidate_members(&self, members: &[Vec<u8>]) {
        for member in members {
            if let Some(key) = key_of_member(member) {
                self.invalidate(&key);
            }
        }
    }

    /// Forgets everything this process cached, without pausing: tracking goes on (a change
    /// this process made but cannot name key by key).
    pub(super) fn invalidate_all(&self) {
        self.next_generation(true);
    }

    pub(super) fn stats(&self) -> ClientSideCacheStats {
        let current = self.generation();
        let mut entries = 0;
        self.table.for_each_shard(|shard| {
            entries += shard.values().filter(|e| e.generation == current).count();
        });
        ClientSideCacheStats {
            entries,
            capacity: self.table.capacity(),
            serving: self.is_on(),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            evictions: self.table.evictions(),
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.table.capacity()
    }
}

/// The table key of a session named by its storage key in hex (an index member, the tail of
/// a record key).
pub(super) fn key_of_member(member: &[u8]) -> Option<Key> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(member, &mut digest).ok()?;
    Some(Key::of_digest(digest))
}

fn generation(state: u64) -> u64 {
    state >> 1
}

fn is_on(state: u64) -> bool {
    state & 1 == 1
}

/// Live at the caller's `now` and at the real time (Redis removes a key at its expiry by its
/// own clock, without telling anyone).
fn live(record: &Record, now: SystemTime) -> bool {
    !record.is_expired(now) && !record.is_expired(SystemTime::now())
}

/// A shared cache, as the storage and its connections hold it.
pub(crate) type SharedCache = Arc<LocalCache>;

#[cfg(test)]
mod tests;
