//! What the first use of a session found in the request.

use std::any::Any;
use std::fmt;
use std::time::SystemTime;

use crate::id::SessionId;
use crate::storage::{Metadata, Record, Revision};
use crate::transform::Rejection;

/// A session value with its type erased.
pub(crate) type AnyValue = Box<dyn Any + Send + Sync>;

/// What the first use of a session found.
pub(crate) struct Loaded {
    /// The session, if there is a valid one.
    pub(crate) value: Option<AnyValue>,
    pub(crate) outcome: Outcome,
}

/// The state behind a [`Loaded`] value.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The request brought nothing.
    Absent,
    /// The request brought something unusable; the response clears it.
    Invalid {
        /// Why, for logs and metrics.
        reason: Invalid,
        /// For by-id sessions whose id was well formed: the id, so a broken record is removed.
        id: Option<SessionId>,
    },
    /// A valid session.
    Valid(Valid),
    /// A session of a newer version of its type than this code knows (after a rollback): it
    /// reads as no session, and is neither cleared nor deleted.
    Newer,
}

/// A valid session as found.
pub(crate) struct Valid {
    /// The serialized form (of the current version), to tell whether a later `set` changes
    /// anything, and to write a migrated value back.
    pub(crate) serialized: Vec<u8>,
    /// The value was of an older version and was migrated: the response writes it back under
    /// the current version.
    pub(crate) migrated: bool,
    /// For by-id sessions: the id and the stored record's times (boxed, to keep each session's
    /// slot in the per-request state small).
    pub(crate) stored: Option<Box<Stored>>,
    /// The value came protected with a previous key: re-send it under the current one.
    pub(crate) stale_key: bool,
    /// The expiry the protected value carried, cut to the configured ttl (kept when it is
    /// re-sent).
    pub(crate) value_expires_at: Option<SystemTime>,
    /// The value carried an expiry later than the configured ttl allows from now: re-send it
    /// with the cut expiry.
    pub(crate) expiry_cut: bool,
}

impl fmt::Debug for Valid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The serialized session is session data: never printed.
        f.debug_struct("Valid")
            .field("stored", &self.stored)
            .field("migrated", &self.migrated)
            .field("stale_key", &self.stale_key)
            .field("value_expires_at", &self.value_expires_at)
            .field("expiry_cut", &self.expiry_cut)
            .finish_non_exhaustive()
    }
}

/// Where a by-id session lives, when it was created and expires, which revision was read,
/// and its metadata (carried into every write of the session).
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) id: SessionId,
    pub(crate) created_at: SystemTime,
    pub(crate) expires_at: SystemTime,
    pub(crate) revision: Revision,
    pub(crate) meta: Metadata,
}

impl Stored {
    /// The session `id` as `record` holds it.
    pub(crate) fn of(id: SessionId, record: Record) -> Stored {
        Stored {
            id,
            created_at: record.created_at,
            expires_at: record.expires_at,
            revision: record.revision,
            meta: record.meta,
        }
    }
}

/// Why an incoming value was unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Not text, too long, or not decodable with the cookie encoding.
    Encoding,
    /// A transformer refused it.
    Rejected(Rejection),
    /// By id: not a well-formed id.
    MalformedId,
    /// By id: no live record has this id (unknown or expired).
    UnknownId,
    /// The serializer could not read it.
    Undecodable,
}

impl Invalid {
    /// A short stable name, used in logs and as a metrics label.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Invalid::Encoding => "encoding",
            Invalid::Rejected(r) => r.as_str(),
            Invalid::MalformedId => "malformed_id",
            Invalid::UnknownId => "unknown_id",
            Invalid::Undecodable => "undecodable",
        }
    }
}

impl Loaded {
    pub(crate) fn absent() -> Loaded {
        Loaded {
            value: None,
            outcome: Outcome::Absent,
        }
    }

    pub(crate) fn newer() -> Loaded {
        Loaded {
            value: None,
            outcome: Outcome::Newer,
        }
    }

    pub(crate) fn invalid(reason: Invalid, id: Option<SessionId>) -> Loaded {
        Loaded {
            value: None,
            outcome: Outcome::Invalid { reason, id },
        }
    }

    pub(crate) fn valid(&self) -> Option<&Valid> {
        match &self.outcome {
            Outcome::Valid(valid) => Some(valid),
            _ => None,
        }
    }

    /// The stored record of a valid by-id session.
    pub(crate) fn stored(&self) -> Option<&Stored> {
        self.valid().and_then(|v| v.stored.as_deref())
    }

    /// The id of a well-formed by-id session whose record is unusable (broken or expired).
    pub(crate) fn broken_id(&self) -> Option<&SessionId> {
        match &self.outcome {
            Outcome::Invalid { id, .. } => id.as_ref(),
            _ => None,
        }
    }

    /// Whether the request brought something unusable.
    pub(crate) fn is_invalid(&self) -> bool {
        matches!(self.outcome, Outcome::Invalid { .. })
    }
}
