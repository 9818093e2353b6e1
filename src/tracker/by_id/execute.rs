//! Carrying out an [`IdWrite`] against the storage: [`ById::execute`] does the storage work
//! (ending sessions over a principal's limit first) and says what the client must be sent.

use std::borrow::Cow;
use std::time::SystemTime;

use super::{ById, Failed, IdWrite, Overflow, Sent};
use crate::error::SessionError;
use crate::id::{RequestInfo, SessionId};
use crate::metrics::Event;
use crate::storage::{Created, Record, SessionHandle};

/// How many fresh ids to try when a generated id collides (it never should: 256 random bits).
const CREATE_ATTEMPTS: usize = 3;

impl ById {
    /// When the cookie of a session stored as `record` should end, if not when the
    /// configuration says: a session whose lifetime was chosen for it ("remember me").
    fn until(&self, record: &Record) -> Option<SystemTime> {
        (record.meta.lifetime_ends_at != self.lifetime.ends_at(record.created_at))
            .then_some(record.meta.lifetime_ends_at)
    }

    /// Carries out `write` at `now`.
    ///
    /// `write` is borrowed and each kind of write runs in a future of its own. The rare ones
    /// are boxed: a new session that ends another first or is filed under a principal, a new
    /// id for a stored session, a removal. The future a response waits on then holds no copy
    /// of the write, and only what the common writes (an update, a new session) need.
    pub(crate) async fn execute<'a>(
        &self,
        write: &IdWrite<'a>,
        request: Option<&RequestInfo>,
        now: SystemTime,
    ) -> Result<Sent<'a>, Failed<'a>> {
        match write {
            IdWrite::Nothing => Ok(Sent::Nothing),
            IdWrite::Update {
                id,
                record,
                event,
                implicit,
            } => self.update(id, record, *event, *implicit, now).await,
            IdWrite::Create {
                end: None,
                id,
                record,
                ..
            } if record.meta.principal.is_none() => {
                self.create_new(id.as_ref(), record, request, now).await
            }
            IdWrite::Create {
                end,
                cleared,
                id,
                record,
            } => {
                Box::pin(self.replace(end.as_deref(), *cleared, id.as_ref(), record, request, now))
                    .await
            }
            IdWrite::Regenerate { from, to, record } => {
                Box::pin(self.regenerate(from, to.as_ref(), record, request, now)).await
            }
            IdWrite::Remove { end, event } => Box::pin(self.remove(end.as_deref(), *event)).await,
            IdWrite::Resend {
                id,
                implicit,
                until,
            } => {
                if *implicit {
                    self.metrics
                        .event(self.storage.namespace().name(), Event::Reissued);
                }
                Ok(Sent::Id {
                    id: Cow::Borrowed(id),
                    implicit: *implicit,
                    until: *until,
                })
            }
        }
    }

    /// Writes the stored session `id` back: a new value or a renewed deadline.
    async fn update<'a>(
        &self,
        id: &'a SessionId,
        record: &Record,
        event: Event,
        implicit: bool,
        now: SystemTime,
    ) -> Result<Sent<'a>, Failed<'a>> {
        let name = self.storage.namespace().name();
        if self.storage.update(id, record, now).await? {
            self.metrics.event(name, event);
            Ok(Sent::Id {
                id: Cow::Borrowed(id),
                implicit,
                until: self.until(record),
            })
        } else {
            // Deleted meanwhile (a concurrent logout): deletion wins, nothing is recreated.
            tracing::debug!(session = %name, id = %id.log_tag(), "session ended by a concurrent request; not written back");
            Ok(Sent::Remove)
        }
    }

    /// Stores a new session under `id` (the application's) or a random one. It neither ends
    /// a session nor makes room under a principal's limit: [`replace`](Self::replace) does
    /// that first when a write needs it.
    async fn create_new<'a>(
        &self,
        id: Option<&SessionId>,
        record: &Record,
        request: Option<&RequestInfo>,
        now: SystemTime,
    ) -> Result<Sent<'a>, Failed<'a>> {
        let not_sent = |error| Failed {
            error,
            sent: Sent::Nothing,
        };
        let name = self.storage.namespace().name();
        let mut id = match id {
            Some(id) => id.clone(),
            None => self.new_id(record, request).map_err(not_sent)?,
        };
        // A generated id that collides (it never should: 256 random bits) is drawn again.
        for _ in 0..CREATE_ATTEMPTS {
            match self
                .storage
                .create(&id, record, now)
                .await
                .map_err(|e| not_sent(e.into()))?
            {
                Created::Inserted => {
                    self.metrics.event(name, Event::Created);
                    return Ok(Sent::Id {
                        id: Cow::Owned(id),
                        implicit: false,
                        until: self.until(record),
                    });
                }
                Created::Collision if self.ids.can_redraw() => {
                    tracing::warn!(session = %name, "session id collision; trying a new id");
                    let prefix = self.id_prefix(record.meta.principal.as_deref());
                    id = SessionId::generate_with_prefix(prefix.as_deref());
                }
                Created::Collision => break,
            }
        }
        Err(not_sent(SessionError::IdTaken {
            name: name.to_owned(),
        }))
    }

    /// Stores a new session after ending `end` (the one the request brought, after a `clear`
    /// when `cleared`, or a broken record under its id) and making room under the record's
    /// principal's limit.
    async fn replace<'a>(
        &self,
        end: Option<&SessionId>,
        cleared: bool,
        id: Option<&SessionId>,
        record: &Record,
        request: Option<&RequestInfo>,
        now: SystemTime,
    ) -> Result<Sent<'a>, Failed<'a>> {
        let ended = match end {
            Some(old) => {
                self.storage.delete(old).await?;
                if cleared {
                    self.metrics
                        .event(self.storage.namespace().name(), Event::Cleared);
                }
                true
            }
            None => false,
        };
        // Once the old session is gone, the client must drop it even if the new one cannot be
        // stored.
        let on_failure = |error: SessionError| Failed {
            error,
            sent: if ended { Sent::Remove } else { Sent::Nothing },
        };
        if let Some(principal) = &record.meta.principal {
            self.make_room(principal, None, now)
                .await
                .map_err(on_failure)?;
        }
        self.create_new(id, record, request, now)
            .await
            .map_err(|failed| on_failure(failed.error))
    }

    /// Moves the stored session `from` to a new id (`to`, or a random one).
    async fn regenerate<'a>(
        &self,
        from: &SessionId,
        to: Option<&SessionId>,
        record: &Record,
        request: Option<&RequestInfo>,
        now: SystemTime,
    ) -> Result<Sent<'a>, Failed<'a>> {
        let name = self.storage.namespace().name();
        let not_sent = |error| Failed {
            error,
            sent: Sent::Nothing,
        };
        if let Some(principal) = &record.meta.principal {
            let replaced = SessionHandle::of(self.storage.namespace().key(from));
            self.make_room(principal, Some(&replaced), now)
                .await
                .map_err(not_sent)?;
        }
        let to = match to {
            Some(id) => id.clone(),
            None => self.new_id(record, request).map_err(not_sent)?,
        };
        if self.storage.change_id(from, &to, record, now).await? {
            self.metrics.event(name, Event::Regenerated);
            Ok(Sent::Id {
                id: Cow::Owned(to),
                implicit: false,
                until: self.until(record),
            })
        } else {
            tracing::debug!(session = %name, "session ended by a concurrent request; not regenerated");
            Ok(Sent::Remove)
        }
    }

    /// Ends the session the request brought (`end`, when it has a record); the client is told
    /// to drop its copy.
    async fn remove<'a>(
        &self,
        end: Option<&SessionId>,
        event: Option<Event>,
    ) -> Result<Sent<'a>, Failed<'a>> {
        let name = self.storage.namespace().name();
        if let Some(id) = end {
            self.storage.delete(id).await?;
            tracing::debug!(session = %name, id = %id.log_tag(), "session cleared");
        }
        if let Some(event) = event {
            self.metrics.event(name, event);
        }
        Ok(Sent::Remove)
    }

    /// A new id for `record`: random, or from the application's generator, starting with the
    /// prefix the storage wants for the record's principal.
    fn new_id(
        &self,
        record: &Record,
        request: Option<&RequestInfo>,
    ) -> Result<SessionId, SessionError> {
        let prefix = self.id_prefix(record.meta.principal.as_deref());
        self.ids
            .generate(self.storage.namespace().name(), request, prefix.as_deref())
    }

    /// The prefix the storage wants new ids of `principal`'s sessions to start with.
    pub(crate) fn id_prefix(&self, principal: Option<&str>) -> Option<String> {
        self.storage.id_prefix(principal?)
    }

    /// Before `principal` gets a new session (`replacing` one of theirs, or not): under the
    /// configured limit of sessions per principal, ends the oldest sessions, or refuses.
    async fn make_room(
        &self,
        principal: &str,
        replacing: Option<&SessionHandle>,
        now: SystemTime,
    ) -> Result<(), SessionError> {
        let Some(limit) = self.principals.limit else {
            return Ok(());
        };
        let mut sessions: Vec<_> = self
            .storage
            .sessions_of(principal, now)
            .await?
            .into_iter()
            .filter(|s| Some(&s.handle) != replacing)
            .collect();
        if sessions.len() < limit.max {
            return Ok(());
        }
        match limit.overflow {
            Overflow::Refuse => Err(SessionError::SessionLimit {
                name: self.storage.namespace().name().to_owned(),
                limit: limit.max,
            }),
            Overflow::EndOldest => {
                sessions.sort_by_key(|s| (s.record.meta.last_seen, s.record.created_at));
                let excess = sessions.len() + 1 - limit.max;
                for oldest in sessions.iter().take(excess) {
                    self.storage.delete_of(principal, &oldest.handle).await?;
                    tracing::debug!(
                        session = %self.storage.namespace().name(),
                        "a session ended: its user reached the limit of sessions"
                    );
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::id::{IdGenerator, Namespace};
    use crate::metrics::Metrics;
    use crate::storage::MemoryStorage;
    use crate::tracker::by_id::{Lifetime, Principals, StorageCalls, UpdateLocks};

    /// A session `s` in a memory storage whose ids all come from `identity`.
    fn with_ids(identity: &'static str) -> ById {
        let storage = Arc::new(MemoryStorage::new());
        ById {
            storage: StorageCalls::new(storage, Namespace::new("s"), None, Metrics::default()),
            lifetime: Lifetime {
                lifetime: Duration::from_secs(60),
                idle_timeout: None,
                renew_fraction: 0.25,
                max_lifetime: Duration::from_secs(60),
            },
            ids: IdGenerator::new(Some(Arc::new(move |_| identity.to_owned()))),
            principals: Principals::default(),
            send_only_if_modified: false,
            version: None,
            metrics: Metrics::default(),
            update_locks: UpdateLocks::default(),
        }
    }

    async fn create(by_id: &ById) -> Result<(), SessionError> {
        let now = SystemTime::now();
        let record = Record::new("{}", now, now + Duration::from_secs(60));
        let request = RequestInfo::of(&http::Request::new(()));
        let write = IdWrite::Create {
            end: None,
            cleared: false,
            id: None,
            record,
        };
        match by_id.execute(&write, Some(&request), now).await {
            Ok(_) => Ok(()),
            Err(failed) => Err(failed.error),
        }
    }

    #[tokio::test]
    async fn a_custom_id_already_taken_is_id_taken() {
        let by_id = with_ids("device-1");
        create(&by_id).await.unwrap();
        let taken = create(&by_id).await.unwrap_err();
        assert!(
            matches!(&taken, SessionError::IdTaken { name } if name == "s"),
            "{taken:?}"
        );
    }

    #[tokio::test]
    async fn a_malformed_custom_id_is_invalid_custom_id() {
        let refused = create(&with_ids("../etc")).await.unwrap_err();
        assert!(
            matches!(&refused, SessionError::InvalidCustomId { name } if name == "s"),
            "{refused:?}"
        );
    }
}
