//! The memory storage's principal index: for each namespace and principal, the table keys of
//! its sessions, by handle.
//!
//! The table is the truth and the index follows it: every change is made while the record's
//! shard is locked (lock order: shard, then index), and what the index lists is checked
//! against the table (a session that was evicted from a full storage leaves an entry that no
//! listing shows and the next prune drops).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::super::key::Key;
use crate::storage::SessionHandle;

/// Which sessions each principal has.
#[derive(Default)]
pub(super) struct Index {
    map: Mutex<HashMap<(u64, String), HashMap<SessionHandle, Key>>>,
    /// How many entries `map` holds, kept beside it so that counting takes no lock.
    entries: AtomicUsize,
}

impl Index {
    fn lock(&self) -> MutexGuard<'_, HashMap<(u64, String), HashMap<SessionHandle, Key>>> {
        // No user code runs while it is held, so a poisoned lock holds consistent data.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Files `handle` (table key `key`) under `principal` of namespace `tag`.
    pub(super) fn add(&self, tag: u64, principal: &str, handle: SessionHandle, key: Key) {
        let added = self
            .lock()
            .entry((tag, principal.to_owned()))
            .or_default()
            .insert(handle, key)
            .is_none();
        if added {
            self.entries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Removes `handle` from `principal`'s sessions.
    pub(super) fn remove(&self, tag: u64, principal: &str, handle: &SessionHandle) {
        let mut map = self.lock();
        let owner = (tag, principal.to_owned());
        if let Some(sessions) = map.get_mut(&owner) {
            if sessions.remove(handle).is_some() {
                self.entries.fetch_sub(1, Ordering::Relaxed);
            }
            if sessions.is_empty() {
                map.remove(&owner);
            }
        }
    }

    /// The sessions filed under `principal`.
    pub(super) fn of(&self, tag: u64, principal: &str) -> Vec<(SessionHandle, Key)> {
        self.lock()
            .get(&(tag, principal.to_owned()))
            .map(|sessions| sessions.iter().map(|(h, k)| (*h, *k)).collect())
            .unwrap_or_default()
    }

    /// The table key of `handle`, if it is filed under `principal`.
    pub(super) fn find(&self, tag: u64, principal: &str, handle: &SessionHandle) -> Option<Key> {
        self.lock()
            .get(&(tag, principal.to_owned()))?
            .get(handle)
            .copied()
    }

    /// How many entries the index holds.
    pub(super) fn len(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }

    /// Every entry: namespace tag, principal, handle and table key.
    pub(super) fn entries(&self) -> Vec<(u64, String, SessionHandle, Key)> {
        self.lock()
            .iter()
            .flat_map(|((tag, principal), sessions)| {
                sessions
                    .iter()
                    .map(|(handle, key)| (*tag, principal.clone(), *handle, *key))
            })
            .collect()
    }
}
