//! What a storage holds ([`StorageStats`]) and how a purge proceeds in steps ([`PurgeCursor`],
//! [`PurgeBatch`]): the operators' side of a storage.

#[cfg(doc)]
use super::SessionStorage;

/// What a storage holds at one moment, from [`SessionStorage::stats`].
///
/// ```
/// use typed_sessions::storage::StorageStats;
///
/// let stats = StorageStats::new(120, 3).with_size(48_000, "session files on disk");
/// assert_eq!((stats.live, stats.expired, stats.unreadable), (120, 3, 0));
/// assert_eq!(stats.bytes, Some(48_000));
/// assert_eq!(stats.total(), 123);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StorageStats {
    /// Records that are live at the `now` given.
    pub live: u64,
    /// Records that have expired at `now` but are still stored: what a purge
    /// ([`delete_expired`](SessionStorage::delete_expired)) would remove.
    pub expired: u64,
    /// Records that cannot be decoded (damaged, or written by something else). They read as
    /// absent; storages remove them when they meet them (see each storage).
    pub unreadable: u64,
    /// The storage's size in bytes, if it can tell; [`bytes_measure`](Self::bytes_measure) says
    /// what is measured, which differs between backends.
    pub bytes: Option<u64>,
    /// What [`bytes`](Self::bytes) measures, in a few words (for example "session files on
    /// disk" or "table and indexes"); empty when `bytes` is `None`.
    pub bytes_measure: &'static str,
}

impl StorageStats {
    /// `live` live and `expired` expired records, nothing unreadable, size unknown.
    pub fn new(live: u64, expired: u64) -> StorageStats {
        StorageStats {
            live,
            expired,
            ..StorageStats::default()
        }
    }

    /// The same, with `unreadable` records that cannot be decoded.
    pub fn with_unreadable(mut self, unreadable: u64) -> StorageStats {
        self.unreadable = unreadable;
        self
    }

    /// The same, with the storage's size: `bytes`, measuring what `measure` says.
    pub fn with_size(mut self, bytes: u64, measure: &'static str) -> StorageStats {
        self.bytes = Some(bytes);
        self.bytes_measure = measure;
        self
    }

    /// Every record held: live, expired and unreadable.
    pub fn total(&self) -> u64 {
        self.live
            .saturating_add(self.expired)
            .saturating_add(self.unreadable)
    }
}

/// Where a batched purge ([`SessionStorage::delete_expired_batch`]) goes on: a position that
/// only the storage that returned it understands (an index, a cursor). Pass it back unchanged.
///
/// ```
/// use typed_sessions::storage::PurgeCursor;
/// let cursor = PurgeCursor::new(17);
/// assert_eq!(cursor.position(), 17);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PurgeCursor(u64);

impl PurgeCursor {
    /// A cursor at `position` (for storage implementations).
    pub const fn new(position: u64) -> PurgeCursor {
        PurgeCursor(position)
    }

    /// The position it holds (for storage implementations).
    pub const fn position(self) -> u64 {
        self.0
    }
}

/// What one step of [`SessionStorage::delete_expired_batch`] did.
///
/// ```
/// use typed_sessions::storage::{PurgeBatch, PurgeCursor};
/// assert_eq!(PurgeBatch::finished(3).next, None);
/// assert_eq!(PurgeBatch::more(1000, PurgeCursor::new(1)).removed, 1000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeBatch {
    /// How many expired records this step removed.
    pub removed: u64,
    /// Where the next step starts; `None` when the purge is complete.
    pub next: Option<PurgeCursor>,
}

impl PurgeBatch {
    /// The last step: it removed `removed` records and nothing is left to visit.
    pub fn finished(removed: u64) -> PurgeBatch {
        PurgeBatch {
            removed,
            next: None,
        }
    }

    /// A step that removed `removed` records; the purge goes on from `next`.
    pub fn more(removed: u64, next: PurgeCursor) -> PurgeBatch {
        PurgeBatch {
            removed,
            next: Some(next),
        }
    }
}
