//! By id: the transported string is a session id; the session is a
//! [`Record`](crate::storage::Record) in a storage, filed under the id within the session's
//! [`Namespace`](crate::id::Namespace).
//!
//! [`ById::decide`] turns what the handler asked for into one [`IdWrite`]; [`ById::execute`]
//! carries it out against the storage and says what the client must be sent.

mod calls;
mod lifetime;

use std::borrow::Cow;
use std::time::SystemTime;

pub(crate) use calls::StorageCalls;
pub(crate) use lifetime::Lifetime;

use super::intent::{Change, Intent};
use super::loaded::{Invalid, Loaded, Outcome, Stored, Valid};
use crate::error::{SessionError, StorageError};
use crate::id::{IdGenerator, RequestInfo, SessionId};
use crate::metrics::{Event, Metrics};
use crate::serializer::ErasedCodec;
use crate::storage::{Created, Record};

/// How many fresh ids to try when a generated id collides (it never should: 256 random bits).
const CREATE_ATTEMPTS: usize = 3;

/// The by-id settings of one session.
#[derive(Debug)]
pub(crate) struct ById {
    pub(crate) storage: StorageCalls,
    pub(crate) lifetime: Lifetime,
    pub(crate) ids: IdGenerator,
    /// Ktor's `sendOnlyIfModified`: a `set` of the stored value sends nothing.
    pub(crate) send_only_if_modified: bool,
    pub(crate) metrics: Metrics,
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
        from: &'a SessionId,
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
    Resend { id: &'a SessionId, implicit: bool },
}

/// What the client must be sent after an [`IdWrite`].
#[derive(Debug)]
pub(crate) enum Sent<'a> {
    /// Nothing.
    Nothing,
    /// This id; an implicit write never fails the request if it cannot be rendered.
    Id {
        id: Cow<'a, SessionId>,
        implicit: bool,
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
    /// Looks up the session whose (unwrapped) id the request brought. Never fails on client
    /// input; fails only when the storage does.
    pub(crate) async fn load(
        &self,
        codec: &dyn ErasedCodec,
        text: &str,
        now: SystemTime,
    ) -> Result<Loaded, StorageError> {
        let name = self.storage.namespace().name();
        let Some(id) = self.ids.parse(text) else {
            return Ok(Loaded::invalid(Invalid::MalformedId, None));
        };
        let Some(record) = self.storage.load(&id, now).await? else {
            tracing::debug!(session = %name, id = %id.log_tag(), "unknown or expired session id");
            return Ok(Loaded::invalid(Invalid::UnknownId, None));
        };
        if record.is_expired(now) {
            return Ok(Loaded::invalid(Invalid::UnknownId, Some(id)));
        }
        match codec.deserialize(&record.data) {
            Ok(value) => Ok(Loaded {
                value: Some(value),
                outcome: Outcome::Valid(Valid {
                    serialized: record.data,
                    stored: Some(Stored {
                        id,
                        created_at: record.created_at,
                        expires_at: record.expires_at,
                    }),
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

    /// A new record holding `data`, created at `created_at`, used at `now`.
    #[inline]
    fn record(&self, data: String, created_at: SystemTime, now: SystemTime) -> Record {
        Record {
            data,
            created_at,
            expires_at: self.lifetime.expiry(created_at, now),
        }
    }

    /// Decides the write for `intent`. `loaded` is what the handler (or the write-out, when
    /// [`Intent::needs_current`]) loaded; `unread_id` gives the id the request brought without
    /// a storage read, for a session that was cleared unread.
    #[inline]
    pub(crate) fn decide<'a>(
        &self,
        intent: Intent,
        loaded: Option<&'a Loaded>,
        unread_id: impl FnOnce() -> Option<SessionId>,
        now: SystemTime,
    ) -> IdWrite<'a> {
        let stored = loaded.and_then(Loaded::stored);
        let valid = loaded.and_then(Loaded::valid);
        // The record the request brought: live, or broken and to be removed.
        let current = match loaded {
            Some(loaded) => stored
                .map(|s| &s.id)
                .or(loaded.broken_id())
                .map(Cow::Borrowed),
            None => unread_id().map(Cow::Owned),
        };
        match intent.change {
            Change::Clear => IdWrite::Remove {
                event: current.is_some().then_some(Event::Cleared),
                end: current,
            },
            Change::Set(new) => match stored {
                Some(stored) if !intent.ended => {
                    if intent.regenerate {
                        IdWrite::Regenerate {
                            from: &stored.id,
                            to: intent.minted,
                            record: self.record(new.serialized, stored.created_at, now),
                        }
                    } else if valid.is_none_or(|v| v.serialized != new.serialized) {
                        IdWrite::Update {
                            id: &stored.id,
                            record: self.record(new.serialized, stored.created_at, now),
                            event: Event::Updated,
                            implicit: false,
                        }
                    } else if self.lifetime.due_for_renewal(stored, now) {
                        IdWrite::Update {
                            id: &stored.id,
                            record: self.record(new.serialized, stored.created_at, now),
                            event: Event::Renewed,
                            implicit: false,
                        }
                    } else if !self.send_only_if_modified {
                        IdWrite::Resend {
                            id: &stored.id,
                            implicit: false,
                        }
                    } else {
                        IdWrite::Nothing
                    }
                }
                _ => IdWrite::Create {
                    cleared: intent.ended && current.is_some(),
                    end: current,
                    id: intent.minted,
                    record: self.record(new.serialized, now, now),
                },
            },
            Change::Keep => match (stored, valid) {
                (Some(stored), Some(valid)) if intent.regenerate => IdWrite::Regenerate {
                    from: &stored.id,
                    to: intent.minted,
                    record: self.record(valid.serialized.clone(), stored.created_at, now),
                },
                (Some(stored), Some(valid)) if self.lifetime.due_for_renewal(stored, now) => {
                    IdWrite::Update {
                        id: &stored.id,
                        record: self.record(valid.serialized.clone(), stored.created_at, now),
                        event: Event::Renewed,
                        implicit: true,
                    }
                }
                (Some(stored), Some(valid)) if valid.stale_key => IdWrite::Resend {
                    id: &stored.id,
                    implicit: true,
                },
                _ if loaded.is_some_and(Loaded::is_invalid) => IdWrite::Remove {
                    end: current,
                    event: None,
                },
                _ => IdWrite::Nothing,
            },
        }
    }

    /// Carries out `write` for session `name` at `now`.
    pub(crate) async fn execute<'a>(
        &self,
        write: IdWrite<'a>,
        request: Option<&RequestInfo>,
        now: SystemTime,
    ) -> Result<Sent<'a>, Failed<'a>> {
        let name = self.storage.namespace().name();
        match write {
            IdWrite::Nothing => Ok(Sent::Nothing),
            IdWrite::Remove { end, event } => {
                if let Some(id) = end {
                    self.storage.delete(&id).await?;
                    tracing::debug!(session = %name, id = %id.log_tag(), "session cleared");
                }
                if let Some(event) = event {
                    self.metrics.event(name, event);
                }
                Ok(Sent::Remove)
            }
            IdWrite::Create {
                end,
                cleared,
                id,
                record,
            } => {
                let ended = match end {
                    Some(old) => {
                        self.storage.delete(&old).await?;
                        if cleared {
                            self.metrics.event(name, Event::Cleared);
                        }
                        true
                    }
                    None => false,
                };
                // Once the old session is gone, the client must drop it even if the new one
                // cannot be stored.
                let on_failure = |error: SessionError| Failed {
                    error,
                    sent: if ended { Sent::Remove } else { Sent::Nothing },
                };
                let id = match id {
                    Some(id) => id,
                    None => self.ids.generate(name, request).map_err(on_failure)?,
                };
                let id = self.create(id, &record, now).await.map_err(on_failure)?;
                self.metrics.event(name, Event::Created);
                Ok(Sent::Id {
                    id: Cow::Owned(id),
                    implicit: false,
                })
            }
            IdWrite::Regenerate { from, to, record } => {
                let to = match to {
                    Some(id) => id,
                    None => self.ids.generate(name, request).map_err(|error| Failed {
                        error,
                        sent: Sent::Nothing,
                    })?,
                };
                if self.storage.change_id(from, &to, &record, now).await? {
                    self.metrics.event(name, Event::Regenerated);
                    Ok(Sent::Id {
                        id: Cow::Owned(to),
                        implicit: false,
                    })
                } else {
                    tracing::debug!(session = %name, "session ended by a concurrent request; not regenerated");
                    Ok(Sent::Remove)
                }
            }
            IdWrite::Update {
                id,
                record,
                event,
                implicit,
            } => {
                if self.storage.update(id, &record, now).await? {
                    self.metrics.event(name, event);
                    Ok(Sent::Id {
                        id: Cow::Borrowed(id),
                        implicit,
                    })
                } else {
                    // Deleted meanwhile (a concurrent logout): deletion wins, nothing is
                    // recreated.
                    tracing::debug!(session = %name, id = %id.log_tag(), "session ended by a concurrent request; not written back");
                    Ok(Sent::Remove)
                }
            }
            IdWrite::Resend { id, implicit } => {
                if implicit {
                    self.metrics.event(name, Event::Reissued);
                }
                Ok(Sent::Id {
                    id: Cow::Borrowed(id),
                    implicit,
                })
            }
        }
    }

    /// Stores a new session under `id` (or, for generated ids, a fresh one if `id` collides).
    /// Returns the id it was stored under.
    async fn create(
        &self,
        mut id: SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<SessionId, SessionError> {
        let name = self.storage.namespace().name();
        for _ in 0..CREATE_ATTEMPTS {
            match self.storage.create(&id, record, now).await? {
                Created::Inserted => return Ok(id),
                Created::Collision if self.ids.can_redraw() => {
                    tracing::warn!(session = %name, "session id collision; trying a new id");
                    id = SessionId::generate();
                }
                Created::Collision => break,
            }
        }
        Err(SessionError::InvalidId(format!(
            "session `{name}`: the id is already taken by another live session"
        )))
    }
}
