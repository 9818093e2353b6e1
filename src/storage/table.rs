//! A bounded, sharded hash table with CLOCK eviction: the engine of [`MemoryStorage`] and
//! [`CacheStorage`].
//!
//! * **Shards.** Keys are spread over a power-of-two number of shards, each an
//!   [`IndexMap`] behind its own `std::sync::Mutex`, held only for the few hundred nanoseconds
//!   of one operation and never across an `.await`. Two keys are locked together (for an id
//!   change) in shard order, so there is no deadlock.
//! * **Bound.** The capacity is split exactly over the shards, so the table never holds more
//!   than its capacity; a shard starts evicting when it is full even if others are not (with
//!   random keys, shards fill evenly).
//! * **Eviction when full: dead entries first, then entries never used again, then the least
//!   recently used.** A full shard first removes every dead (expired) entry, at most once a
//!   second; if that frees nothing, the CLOCK hand evicts one entry: it removes the first dead
//!   entry it meets, gives entries used since its last pass a second chance, and evicts the
//!   first entry that was not used (the classic approximation of LRU, without a linked list).
//!   The hand first looks only at *probationary* entries, inserted and never used since; only
//!   a shard without any evicts an *established* one. A flood of sessions that never come back
//!   (one per request of a client without cookies) so evicts its own sessions, not the ones
//!   real users keep using (the idea of 2Q and segmented LRU).
//! * **Sweeping without a per-request cost.** Every insert of a new key also moves the hand two
//!   steps and removes the dead entries it finds there: constant work, which sweeps the whole
//!   table in step with the rate at which new entries arrive.
//!
//! [`MemoryStorage`]: super::MemoryStorage
//! [`CacheStorage`]: super::CacheStorage

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use super::key::{Key, KeyHasher};

/// Entries the hand inspects on each insert of a new key.
const SWEEP_STEPS: usize = 2;

/// A full shard removes all its dead entries at most this often.
const FULL_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Most shards a table is split into.
const MAX_SHARDS: usize = 128;

pub(crate) struct Table<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    /// `64 - log2(shards)`, or 64 for a single shard.
    shift: u32,
    capacity: usize,
    evictions: AtomicU64,
}

pub(crate) struct Shard<V> {
    map: IndexMap<Key, Slot<V>, KeyHasher>,
    cap: usize,
    hand: usize,
    last_full_sweep: Option<Instant>,
    /// Bumped on every invalidation, so a cache fill that raced one can tell.
    pub(crate) epoch: u64,
}

struct Slot<V> {
    value: V,
    referenced: bool,
    /// Used at least once since it was inserted (not merely created).
    established: bool,
}

/// What [`Shard::insert`] did to make room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evicted {
    /// Nothing live was evicted.
    None,
    /// A live entry was evicted to make room.
    Live,
}

impl<V> Table<V> {
    /// A table for at most `capacity` entries (at least 1).
    pub(crate) fn new(capacity: usize) -> Table<V> {
        let cores = std::thread::available_parallelism().map_or(4, usize::from);
        Table::with_shards(capacity, cores * 4)
    }

    /// A table for at most `capacity` entries (at least 1) over about `shards` shards (a power
    /// of two, at most 128, never more than `capacity`).
    pub(crate) fn with_shards(capacity: usize, shards: usize) -> Table<V> {
        let capacity = capacity.max(1);
        let wanted = shards.max(1).next_power_of_two().min(MAX_SHARDS);
        // Never more shards than entries, so every shard can hold at least one.
        let largest_fitting = 1usize << capacity.ilog2();
        let shards = wanted.min(largest_fitting);
        let base = capacity / shards;
        let extra = capacity % shards;
        let shards_vec: Vec<Mutex<Shard<V>>> = (0..shards)
            .map(|i| Mutex::new(Shard::new(base + usize::from(i < extra))))
            .collect();
        Table {
            shift: 64 - shards.ilog2(),
            shards: shards_vec.into_boxed_slice(),
            capacity,
            evictions: AtomicU64::new(0),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    pub(crate) fn note_eviction(&self, evicted: Evicted) {
        if evicted == Evicted::Live {
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn index(&self, key: &Key) -> usize {
        // `checked_shr` is `None` for a shift of 64 (one shard): index 0.
        key.spread()
            .checked_shr(self.shift)
            .map_or(0, |i| i as usize)
    }

    fn lock_at(&self, index: usize) -> MutexGuard<'_, Shard<V>> {
        // `index` comes from `index()`, always in range; a table has at least one shard.
        let Some(shard) = self.shards.get(index).or_else(|| self.shards.first()) else {
            unreachable!("a table has at least one shard")
        };
        // Nothing in a critical section can leave a shard half-changed (no user code runs
        // there), so a poisoned lock is safe to reuse.
        shard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the shard of `key`.
    pub(crate) fn shard(&self, key: &Key) -> MutexGuard<'_, Shard<V>> {
        self.lock_at(self.index(key))
    }

    /// Locks the shards of `a` and `b` (once if they share one), in shard order, and runs `f`.
    pub(crate) fn with_pair<R>(&self, a: &Key, b: &Key, f: impl FnOnce(Pair<'_, V>) -> R) -> R {
        let (ia, ib) = (self.index(a), self.index(b));
        if ia == ib {
            let mut shard = self.lock_at(ia);
            return f(Pair::One(&mut shard));
        }
        let (mut first, mut second) = (self.lock_at(ia.min(ib)), self.lock_at(ia.max(ib)));
        if ia < ib {
            f(Pair::Two(&mut first, &mut second))
        } else {
            f(Pair::Two(&mut second, &mut first))
        }
    }

    /// Calls `f` on each shard in turn (each locked only during its call).
    pub(crate) fn for_each_shard(&self, mut f: impl FnMut(&mut Shard<V>)) {
        for index in 0..self.shards.len() {
            f(&mut self.lock_at(index));
        }
    }

    /// The number of entries, dead ones included until they are removed.
    pub(crate) fn len(&self) -> usize {
        let mut len = 0;
        self.for_each_shard(|shard| len += shard.map.len());
        len
    }
}

/// Two shards locked together; `a` holds the first key, `b` the second.
pub(crate) enum Pair<'a, V> {
    One(&'a mut Shard<V>),
    Two(&'a mut Shard<V>, &'a mut Shard<V>),
}

impl<V> Pair<'_, V> {
    pub(crate) fn a(&mut self) -> &mut Shard<V> {
        match self {
            Pair::One(shard) | Pair::Two(shard, _) => shard,
        }
    }

    pub(crate) fn b(&mut self) -> &mut Shard<V> {
        match self {
            Pair::One(shard) | Pair::Two(_, shard) => shard,
        }
    }
}

impl<V> Shard<V> {
    fn new(cap: usize) -> Shard<V> {
        Shard {
            map: IndexMap::with_hasher(KeyHasher::new()),
            cap,
            hand: 0,
            last_full_sweep: None,
            epoch: 0,
        }
    }

    /// The entry under `key`, marked as used.
    pub(crate) fn get(&mut self, key: &Key) -> Option<&mut V> {
        let slot = self.map.get_mut(key)?;
        slot.referenced = true;
        slot.established = true;
        Some(&mut slot.value)
    }

    /// The entry under `key`, without marking it.
    pub(crate) fn peek(&self, key: &Key) -> Option<&V> {
        self.map.get(key).map(|slot| &slot.value)
    }

    /// Inserts or replaces the entry under `key`. A new key may first cost some sweeping and,
    /// if the shard is full, the eviction of one entry (a dead one if there is any). A new key
    /// starts probationary; a replaced one is established.
    pub(crate) fn insert(&mut self, key: Key, value: V, is_dead: impl Fn(&V) -> bool) -> Evicted {
        self.insert_as(key, value, false, is_dead)
    }

    /// [`insert`](Self::insert) of an entry already in use elsewhere (moved under a new key):
    /// established from the start.
    pub(crate) fn insert_established(
        &mut self,
        key: Key,
        value: V,
        is_dead: impl Fn(&V) -> bool,
    ) -> Evicted {
        self.insert_as(key, value, true, is_dead)
    }

    fn insert_as(
        &mut self,
        key: Key,
        value: V,
        established: bool,
        is_dead: impl Fn(&V) -> bool,
    ) -> Evicted {
        if let Some(slot) = self.map.get_mut(&key) {
            *slot = Slot {
                value,
                referenced: true,
                established: true,
            };
            return Evicted::None;
        }
        self.step(&is_dead);
        let evicted = if self.map.len() >= self.cap {
            self.make_room(&is_dead)
        } else {
            Evicted::None
        };
        self.map.insert(
            key,
            Slot {
                value,
                referenced: true,
                established,
            },
        );
        evicted
    }

    /// Removes the entry under `key`.
    pub(crate) fn remove(&mut self, key: &Key) -> Option<V> {
        let removed = self.map.swap_remove(key).map(|slot| slot.value);
        if self.hand >= self.map.len() {
            self.hand = 0;
        }
        removed
    }

    /// Every entry, without marking any as used.
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values().map(|slot| &slot.value)
    }

    /// Keeps only the entries for which `keep` holds; returns how many were removed.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) -> usize {
        let before = self.map.len();
        self.map.retain(|_, slot| keep(&slot.value));
        if self.hand >= self.map.len() {
            self.hand = 0;
        }
        before - self.map.len()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Moves the hand a few steps, removing the dead entries it meets.
    fn step(&mut self, is_dead: &impl Fn(&V) -> bool) {
        for _ in 0..SWEEP_STEPS {
            if self.hand >= self.map.len() {
                self.hand = 0;
                return;
            }
            let dead = self
                .map
                .get_index(self.hand)
                .is_some_and(|(_, slot)| is_dead(&slot.value));
            if dead {
                // The last entry moves into the hole; the next step looks at it.
                self.map.swap_remove_index(self.hand);
            } else {
                self.hand += 1;
            }
        }
    }

    /// Frees one place in a full shard.
    fn make_room(&mut self, is_dead: &impl Fn(&V) -> bool) -> Evicted {
        let sweep_due = self
            .last_full_sweep
            .is_none_or(|at| at.elapsed() >= FULL_SWEEP_EVERY);
        if sweep_due {
            self.last_full_sweep = Some(Instant::now());
            if self.retain(|value| !is_dead(value)) > 0 {
                return Evicted::None;
            }
        }
        // Probationary entries first; established ones only if there is none.
        if let Some(evicted) = self.clock(is_dead, false) {
            return evicted;
        }
        self.clock(is_dead, true).unwrap_or(Evicted::None)
    }

    /// The CLOCK hand over the probationary entries (or, with `established`, over all): at
    /// most two passes (the first may only clear reference bits). `None` if it found no entry
    /// to remove.
    fn clock(&mut self, is_dead: &impl Fn(&V) -> bool, established: bool) -> Option<Evicted> {
        for _ in 0..=2 * self.map.len() {
            if self.hand >= self.map.len() {
                self.hand = 0;
            }
            let slot = &mut self.map.get_index_mut(self.hand)?.1;
            if is_dead(&slot.value) {
                self.map.swap_remove_index(self.hand);
                return Some(Evicted::None);
            }
            if slot.established && !established {
                self.hand += 1;
            } else if slot.referenced {
                slot.referenced = false;
                self.hand += 1;
            } else {
                self.map.swap_remove_index(self.hand);
                return Some(Evicted::Live);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_entries_never_used_again_evicts_only_its_own() {
        let table: Table<u32> = Table::with_shards(100, 1);
        // 60 entries in use: inserted, then read again.
        for n in 0..60 {
            let k = key(n);
            table.shard(&k).insert(k, n, |_| false);
            assert!(table.shard(&k).get(&k).is_some());
        }
        // A flood of 10 000 entries that are never read.
        for n in 1000..11_000 {
            let k = key(n);
            let evicted = table.shard(&k).insert(k, n, |_| false);
            table.note_eviction(evicted);
        }
        for n in 0..60 {
            assert!(
                table.shard(&key(n)).peek(&key(n)).is_some(),
                "entry {n} in use was evicted"
            );
        }
        assert_eq!(table.len(), 100);
        // Only established entries left to choose from: the least recently used goes.
        let only_established: Table<u32> = Table::with_shards(3, 1);
        for n in 0..3 {
            let k = key(n);
            only_established.shard(&k).insert(k, n, |_| false);
            only_established.shard(&k).get(&k);
        }
        let k = key(99);
        assert_eq!(
            only_established.shard(&k).insert(k, 99, |_| false),
            Evicted::Live
        );
        assert_eq!(only_established.len(), 3);
    }

    fn key(n: u32) -> Key {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&n.to_le_bytes());
        // Spread keys over shards the way random ids would.
        bytes[4..12]
            .copy_from_slice(&(u64::from(n).wrapping_mul(0x2545_F491_4F6C_DD1D)).to_le_bytes());
        Key::from_parts(0, bytes)
    }

    #[test]
    fn capacity_is_split_exactly_and_never_exceeded() {
        for capacity in [1, 2, 3, 7, 100, 1000] {
            let table: Table<u32> = Table::new(capacity);
            for n in 0..(capacity as u32 * 3) {
                let k = key(n);
                let evicted = table.shard(&k).insert(k, n, |_| false);
                table.note_eviction(evicted);
                assert!(table.len() <= capacity, "capacity {capacity}");
            }
            assert!(
                table.len() > capacity / 2,
                "capacity {capacity}: {}",
                table.len()
            );
            assert!(table.evictions() >= (capacity * 2) as u64);
        }
    }

    #[test]
    fn dead_entries_are_evicted_before_live_ones() {
        let table: Table<u32> = Table::new(1);
        let dead = |v: &u32| *v >= 100;
        let (a, b) = (key(1), key(2));
        table.shard(&a).insert(a, 100, dead);
        assert_eq!(table.shard(&b).insert(b, 1, dead), Evicted::None);
        assert!(table.shard(&a).peek(&a).is_none());
        assert_eq!(table.shard(&b).peek(&b), Some(&1));
    }

    #[test]
    fn recently_used_entries_get_a_second_chance() {
        // One shard of four: fill it, use all but one, insert a fifth: the unused one goes.
        let mut shard: Shard<u32> = Shard::new(4);
        let keys: Vec<Key> = (0..5).map(key).collect();
        for (n, k) in keys.iter().take(4).enumerate() {
            shard.insert(*k, n as u32, |_| false);
        }
        // As after a full pass of the hand: no reference bits...
        for slot in shard.map.values_mut() {
            slot.referenced = false;
        }
        // ...then all but key 2 are used again.
        for k in [&keys[0], &keys[1], &keys[3]] {
            shard.get(k);
        }
        assert_eq!(shard.insert(keys[4], 4, |_| false), Evicted::Live);
        assert!(shard.peek(&keys[2]).is_none());
        for k in [&keys[0], &keys[1], &keys[3], &keys[4]] {
            assert!(shard.peek(k).is_some());
        }
    }

    #[test]
    fn inserts_sweep_dead_entries_incrementally() {
        let mut shard: Shard<u32> = Shard::new(1 << 20);
        let dead = |v: &u32| *v == 0;
        for n in 0..100 {
            shard.insert(key(n), 0, |_| false); // all "dead" later, nothing swept yet
        }
        assert_eq!(shard.len(), 100);
        for n in 100..200 {
            shard.insert(key(n), 1, dead);
        }
        assert_eq!(
            shard.len(),
            100,
            "each insert of a live entry swept a dead one"
        );
    }

    #[test]
    fn pairs_lock_once_or_in_order() {
        let table: Table<u32> = Table::new(1 << 10);
        let (a, b) = (key(1), key(2));
        table.with_pair(&a, &b, |mut pair| {
            pair.a().insert(a, 1, |_| false);
            pair.b().insert(b, 2, |_| false);
        });
        table.with_pair(&a, &a, |mut pair| {
            assert_eq!(pair.a().peek(&a), Some(&1));
            assert_eq!(pair.b().peek(&a), Some(&1));
        });
        assert_eq!(table.shard(&b).peek(&b), Some(&2));
    }
}
