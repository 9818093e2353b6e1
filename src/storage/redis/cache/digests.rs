//! The digests of the sessions the cache holds, so that a request of a cached session computes
//! no SHA-256: its load finds the digest here (by the id itself, as the memory storage keys its
//! records), then the record under the digest, and its update builds the Redis key from it.
//!
//! A digest is a pure function of the namespace and the id, so a remembered one is never
//! stale: this table needs no invalidation, only a bound (the cache's capacity, with the same
//! eviction order). Only digests of sessions found in Redis are remembered, so ids that a
//! client made up never enter it.

use crate::storage::SessionKey;
use crate::storage::key::Key;
use crate::storage::table::Table;

/// A session's digest, and whether the table already holds it.
#[derive(Clone, Copy)]
pub(in crate::storage::redis) struct SessionDigest {
    /// The [digest](SessionKey::digest): what Redis names the record by.
    pub(in crate::storage::redis) bytes: [u8; 32],
    /// The session's key in the table of digests.
    by_id: Key,
    known: bool,
}

pub(super) struct Digests {
    table: Table<[u8; 32]>,
}

impl Digests {
    pub(super) fn new(capacity: usize) -> Digests {
        Digests {
            table: Table::new(capacity),
        }
    }

    /// The digest of `session`: remembered, or computed.
    pub(super) fn of(&self, session: SessionKey<'_>) -> SessionDigest {
        let by_id = Key::of(session);
        if let Some(bytes) = self.table.shard(&by_id).get(&by_id) {
            return SessionDigest {
                bytes: *bytes,
                by_id,
                known: true,
            };
        }
        SessionDigest {
            bytes: session.digest(),
            by_id,
            known: false,
        }
    }

    /// Remembers `digest` (of a session found in Redis).
    pub(super) fn remember(&self, digest: &SessionDigest) {
        if !digest.known {
            let evicted =
                self.table
                    .shard(&digest.by_id)
                    .insert(digest.by_id, digest.bytes, |_| false);
            self.table.note_eviction(evicted);
        }
    }
}
