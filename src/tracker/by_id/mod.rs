//! By id: the transported string is a session id; the session is a
//! [`Record`] in a storage, filed under the id within the session's
//! [`Namespace`](crate::id::Namespace).
//!
//! [`ById::decide`] turns what the handler asked for into one [`IdWrite`]; [`ById::execute`]
//! carries it out against the storage and says what the client must be sent.

mod calls;
mod client;
mod decide;
mod execute;
mod lifetime;
mod locks;

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

pub(crate) use calls::StorageCalls;
pub(crate) use client::Client;
pub(crate) use decide::Context;
pub(crate) use lifetime::Lifetime;

use super::loaded::{Invalid, Loaded, Outcome, Stored, Valid};
use crate::error::{SessionError, StorageError};
use crate::id::{IdGenerator, SessionId};
use crate::metrics::{Event, Metrics};
use crate::serializer::{Decoded, ErasedCodec};
use crate::storage::{OnLimit, Record, Updated};
pub(crate) use locks::UpdateLocks;

/// Derives a session's principal from its value (the value is the session's type, erased).
pub(crate) type PrincipalFn = Arc<dyn Fn(&(dyn Any + Send + Sync)) -> Option<String> + Send + Sync>;

/// What a by-id session knows about principals.
#[derive(Clone, Default)]
pub(crate) struct Principals {
    /// The principal a value names, if the registration says how.
    pub(crate) of_value: Option<PrincipalFn>,
    /// The most sessions one principal may have, and what happens beyond.
    pub(crate) limit: Option<Limit>,
    /// Whether sessions record a device description (on for sessions with principals).
    pub(crate) devices: bool,
}

/// A limit of sessions per principal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    pub(crate) max: usize,
    pub(crate) overflow: OnLimit,
}

/// What a new session of a principal at its limit does (the public [`OnLimit`]).
pub(crate) type Overflow = OnLimit;

impl fmt::Debug for Principals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principals")
            .field("of_value", &self.of_value.is_some())
            .field("limit", &self.limit)
            .field("devices", &self.devices)
            .finish()
    }
}

/// The by-id settings of one session.
#[derive(Debug)]
pub(crate) struct ById {
    pub(crate) storage: StorageCalls,
    pub(crate) lifetime: Lifetime,
    pub(crate) ids: IdGenerator,
    pub(crate) principals: Principals,
    /// Ktor's `sendOnlyIfModified`: a `set` of the stored value sends nothing.
    pub(crate) send_only_if_modified: bool,
    /// The version of the session type, written into every record (versioned types only).
    pub(crate) version: Option<u32>,
    pub(crate) metrics: Metrics,
    /// Conditional updates of one session from this process take turns.
    pub(crate) update_locks: UpdateLocks,
}

/// The storage work and the answer for one by-id session (ids borrowed from what the request
/// loaded where they can be).
#[derive(Debug)]
pub(crate) enum IdWrite<'a> {
    /// Nothing.
    Nothing,
    /// End the session the request brought (`end`, when it has a record) and tell the client
    /// to drop its copy.
    Remove {
        end: Option<Cow<'a, SessionId>>,
        event: Option<Event>,
    },
    /// A new session. `end` is a session to end first: the one the request brought, after a
    /// `clear` (`cleared`), or a broken record under its id.
    Create {
        end: Option<Cow<'a, SessionId>>,
        cleared: bool,
        id: Option<SessionId>,
        record: Record,
    },
    /// The stored session under a new id (`None`: a random one), the old id ended.
    Regenerate {
        from: Cow<'a, SessionId>,
        to: Option<SessionId>,
        record: Record,
    },
    /// Write the stored session: a new value (explicit), or its renewed deadline (implicit).
    Update {
        id: &'a SessionId,
        record: Record,
        event: Event,
        implicit: bool,
    },
    /// Send the id again without a storage write: after an unchanged `set` (explicit), or
    /// protected with the current key after a rotation (implicit).
    Resend {
        id: &'a SessionId,
        implicit: bool,
        until: Option<SystemTime>,
    },
}

/// What the client must be sent after an [`IdWrite`].
#[derive(Debug)]
pub(crate) enum Sent<'a> {
    /// Nothing.
    Nothing,
    /// This id; an implicit write never fails the request if it cannot be rendered. `until`:
    /// when the cookie ends, for a session whose lifetime was chosen for it.
    Id {
        id: Cow<'a, SessionId>,
        implicit: bool,
        until: Option<SystemTime>,
    },
    /// The removal of its copy.
    Remove,
}

/// An [`IdWrite`] that failed, with what the client must be sent anyway because part of it
/// happened (a session ended before the new one could be stored).
#[derive(Debug)]
pub(crate) struct Failed<'a> {
    pub(crate) error: SessionError,
    pub(crate) sent: Sent<'a>,
}

impl From<StorageError> for Failed<'_> {
    fn from(error: StorageError) -> Self {
        Failed {
            error: SessionError::Storage(error),
            sent: Sent::Nothing,
        }
    }
}

impl ById {
    /// Looks up the session `id` (the one the request brought, or again after a conflict).
    /// Never fails on client input; fails only when the storage does.
    pub(crate) async fn load_id(
        &self,
        codec: &dyn ErasedCodec,
        id: SessionId,
        now: SystemTime,
    ) -> Result<Loaded, StorageError> {
        let name = self.storage.namespace().name();
        let Some(record) = self.storage.load(&id, now).await? else {
            tracing::debug!(session = %name, id = %id.log_tag(), "unknown or expired session id");
            return Ok(Loaded::invalid(Invalid::UnknownId, None));
        };
        if record.is_expired(now) {
            return Ok(Loaded::invalid(Invalid::UnknownId, Some(id)));
        }
        let decoded = codec
            .decode_bytes(&record.data, record.meta.version)
            .and_then(|decoded| match decoded {
                Decoded::Current(value) => Ok(Some((value, None))),
                Decoded::Migrated(value) => {
                    let current = codec.serialize_bytes(value.as_ref())?;
                    Ok(Some((value, Some(current))))
                }
                Decoded::Newer => Ok(None),
            });
        match decoded {
            Ok(None) => {
                tracing::debug!(session = %name, id = %id.log_tag(), "stored session of a newer version; left as it is");
                Ok(Loaded::newer())
            }
            Ok(Some((value, migrated))) => Ok(Loaded {
                value: Some(value),
                outcome: Outcome::Valid(Valid {
                    migrated: migrated.is_some(),
                    serialized: migrated.unwrap_or(record.data),
                    stored: Some(Box::new(Stored {
                        id,
                        created_at: record.created_at,
                        expires_at: record.expires_at,
                        revision: record.revision,
                        meta: record.meta,
                    })),
                    stale_key: false,
                    value_expires_at: None,
                    expiry_cut: false,
                }),
            }),
            Err(_) => {
                tracing::debug!(session = %name, id = %id.log_tag(), "stored session could not be deserialized; it is removed");
                Ok(Loaded::invalid(Invalid::Undecodable, Some(id)))
            }
        }
    }

    /// Writes `data` over the stored session only if it still has the revision that was read
    /// (a conditional update); what happened, and the record written.
    pub(crate) async fn write_if(
        &self,
        stored: &Stored,
        data: Vec<u8>,
        now: SystemTime,
    ) -> Result<(Updated, Record), StorageError> {
        let record = self.next_record(stored, data, None, now);
        let updated = self
            .storage
            .update_if(&stored.id, &record, stored.revision, now)
            .await?;
        if updated == Updated::Written {
            self.metrics
                .event(self.storage.namespace().name(), Event::Updated);
        }
        Ok((updated, record))
    }
}
