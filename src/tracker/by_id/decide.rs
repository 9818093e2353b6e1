//! What a response writes for a by-id session: [`ById::decide`] turns the handler's intent and
//! what the request loaded into one [`IdWrite`].
//!
//! A session's principal never changes in place: a new principal (a login, a switch of user)
//! means a new id, so the principal index moves with an id change and plain updates never
//! touch it; a login also starts the session's lifetime afresh and records the device.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::client::Client;
use super::{ById, IdWrite};
use crate::id::SessionId;
use crate::metrics::Event;
use crate::storage::{Metadata, Record, Revision};
use crate::tracker::intent::{Change, Intent};
use crate::tracker::loaded::{AnyValue, Loaded, Stored};

/// What a write knows besides the intent: the time and the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'c> {
    pub(crate) now: SystemTime,
    pub(crate) client: &'c Client,
}

impl ById {
    /// The principal a session gets with this write: the one the handler set, else the one its
    /// (new) value names, else the one it had.
    /// Borrowed where it can be: a request that keeps its principal copies nothing.
    pub(crate) fn principal_of<'p>(
        &self,
        intent: &'p Intent,
        value: Option<&AnyValue>,
        stored: Option<&'p Stored>,
    ) -> Option<Cow<'p, str>> {
        if let Some(explicit) = &intent.principal {
            return explicit.as_deref().map(Cow::Borrowed);
        }
        if let (Some(of_value), Some(value)) = (&self.principals.of_value, value) {
            return of_value(value.as_ref()).map(Cow::Owned);
        }
        stored
            .and_then(|s| s.meta.principal.as_deref())
            .map(Cow::Borrowed)
    }

    /// Whether uses of the stored session move its "last seen" time (sessions that list as
    /// devices: a user's, or any when device metadata is on).
    fn tracks_last_seen(&self, stored: &Stored) -> bool {
        stored.meta.principal.is_some() || self.principals.devices
    }

    /// When the cookie of the stored session should end, if its lifetime was chosen for it.
    fn until_of(&self, stored: &Stored) -> Option<SystemTime> {
        (stored.meta.lifetime_ends_at != self.lifetime.ends_at(stored.created_at))
            .then_some(stored.meta.lifetime_ends_at)
    }

    /// Which id the session will have when the response leaves: `None` if no session, the
    /// stored one (`Some(None)`), or a new one for the principal given (`Some(Some(p))`).
    pub(crate) fn next_id(
        &self,
        intent: &Intent,
        stored: Option<&Stored>,
    ) -> Option<Option<Option<String>>> {
        match (&intent.change, stored) {
            (Change::Clear, _) => None,
            (Change::Set(new), Some(stored)) if !intent.ended => {
                let principal = self.principal_of(intent, Some(&new.value), Some(stored));
                let moves = intent.regenerate || !keeps(&principal, stored);
                Some(moves.then(|| owned(principal)))
            }
            (Change::Set(new), _) => Some(Some(owned(self.principal_of(
                intent,
                Some(&new.value),
                None,
            )))),
            (Change::Written(written), _) => {
                let stored = &written.stored;
                let principal = self.principal_of(intent, None, Some(stored));
                let moves = intent.regenerate || !keeps(&principal, stored);
                Some(moves.then(|| owned(principal)))
            }
            (Change::Keep, Some(stored)) => {
                let principal = self.principal_of(intent, None, Some(stored));
                let moves = intent.regenerate || !keeps(&principal, stored);
                Some(moves.then(|| owned(principal)))
            }
            (Change::Keep, None) => None,
        }
    }

    /// The end of a lifetime that starts at `start`: the configured one, or the one chosen in
    /// this request (capped by the configured maximum).
    fn ends_at(&self, start: SystemTime, chosen: Option<Duration>) -> SystemTime {
        match chosen {
            Some(chosen) => start
                .checked_add(chosen.min(self.lifetime.max()))
                .unwrap_or_else(|| self.lifetime.ends_at(start)),
            None => self.lifetime.ends_at(start),
        }
    }

    /// The record of a new session (or a session that changes hands: a login starts afresh).
    fn fresh_record(
        &self,
        data: Vec<u8>,
        principal: Option<String>,
        lifetime: Option<Duration>,
        ctx: Context<'_>,
    ) -> Record {
        let now = ctx.now;
        let ends_at = self.ends_at(now, lifetime);
        let mut meta = Metadata::new(now, ends_at);
        meta.version = self.version;
        if principal.is_some() || self.principals.devices {
            meta.device = ctx.client.device().map(Arc::from);
        }
        meta.address = ctx.client.network().map(Arc::from);
        meta.principal = principal.map(Arc::from);
        Record {
            data,
            created_at: now,
            expires_at: self.lifetime.expiry(ends_at, now),
            revision: Revision::new(),
            meta,
        }
    }

    /// The next record of the stored session: `data`, written at `now`, with a new revision,
    /// the same creation, principal and metadata, its idle deadline renewed, and the lifetime
    /// chosen in this request if there is one.
    #[inline]
    pub(crate) fn next_record(
        &self,
        stored: &Stored,
        data: Vec<u8>,
        lifetime: Option<Duration>,
        now: SystemTime,
    ) -> Record {
        let mut meta = stored.meta.clone();
        meta.last_seen = now;
        meta.version = self.version;
        if lifetime.is_some() {
            meta.lifetime_ends_at = self.ends_at(stored.created_at, lifetime);
        }
        Record {
            data,
            created_at: stored.created_at,
            expires_at: self.lifetime.expiry(meta.lifetime_ends_at, now),
            revision: Revision::new(),
            meta,
        }
    }

    /// The stored session under a new id: the same session (same creation and metadata) when
    /// its principal stays, a fresh one (a login) when the principal changes.
    fn moved_record(
        &self,
        stored: &Stored,
        data: Vec<u8>,
        principal: Option<String>,
        lifetime: Option<Duration>,
        ctx: Context<'_>,
    ) -> Record {
        if principal.as_deref() != stored.meta.principal.as_deref() {
            return self.fresh_record(data, principal, lifetime, ctx);
        }
        self.next_record(stored, data, lifetime, ctx.now)
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
        ctx: Context<'_>,
    ) -> IdWrite<'a> {
        let now = ctx.now;
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
            Change::Set(ref new) => match stored {
                Some(stored) if !intent.ended => {
                    let principal = self.principal_of(&intent, Some(&new.value), Some(stored));
                    // The principal of the session under its new id, if it gets one.
                    let moving =
                        (intent.regenerate || !keeps(&principal, stored)).then(|| owned(principal));
                    let Change::Set(new) = intent.change else {
                        return IdWrite::Nothing;
                    };
                    if let Some(principal) = moving {
                        IdWrite::Regenerate {
                            from: Cow::Borrowed(&stored.id),
                            to: intent.minted,
                            record: self.moved_record(
                                stored,
                                new.serialized,
                                principal,
                                intent.lifetime,
                                ctx,
                            ),
                        }
                    } else if intent.lifetime.is_some()
                        || valid.is_none_or(|v| v.serialized != new.serialized)
                    {
                        IdWrite::Update {
                            id: &stored.id,
                            record: self.next_record(stored, new.serialized, intent.lifetime, now),
                            event: Event::Updated,
                            implicit: false,
                        }
                    } else if self.lifetime.due_for_renewal(
                        stored,
                        now,
                        self.tracks_last_seen(stored),
                    ) {
                        IdWrite::Update {
                            id: &stored.id,
                            record: self.next_record(stored, new.serialized, None, now),
                            event: Event::Renewed,
                            implicit: false,
                        }
                    } else if !self.send_only_if_modified {
                        IdWrite::Resend {
                            id: &stored.id,
                            implicit: false,
                            until: self.until_of(stored),
                        }
                    } else {
                        IdWrite::Nothing
                    }
                }
                _ => {
                    let principal = owned(self.principal_of(&intent, Some(&new.value), None));
                    let Change::Set(new) = intent.change else {
                        return IdWrite::Nothing;
                    };
                    IdWrite::Create {
                        cleared: intent.ended && current.is_some(),
                        end: current,
                        id: intent.minted,
                        record: self.fresh_record(new.serialized, principal, intent.lifetime, ctx),
                    }
                }
            },
            Change::Written(ref written) => {
                let principal = self.principal_of(&intent, None, Some(&written.stored));
                if !intent.regenerate && keeps(&principal, &written.stored) {
                    // Written already, with its deadline renewed.
                    return IdWrite::Nothing;
                }
                let principal = owned(principal);
                let Change::Written(written) = intent.change else {
                    return IdWrite::Nothing;
                };
                let record = self.moved_record(
                    &written.stored,
                    written.serialized,
                    principal,
                    intent.lifetime,
                    ctx,
                );
                IdWrite::Regenerate {
                    from: Cow::Owned(written.stored.id),
                    to: intent.minted,
                    record,
                }
            }
            Change::Keep => match (stored, valid) {
                (Some(stored), Some(valid)) => {
                    let principal = self.principal_of(&intent, None, Some(stored));
                    let moving =
                        (intent.regenerate || !keeps(&principal, stored)).then(|| owned(principal));
                    if let Some(principal) = moving {
                        IdWrite::Regenerate {
                            from: Cow::Borrowed(&stored.id),
                            to: intent.minted,
                            record: self.moved_record(
                                stored,
                                valid.serialized.clone(),
                                principal,
                                intent.lifetime,
                                ctx,
                            ),
                        }
                    } else if valid.migrated || intent.lifetime.is_some() {
                        // A value of an older version written back under the current one, or
                        // a lifetime chosen for the session ("remember me").
                        IdWrite::Update {
                            id: &stored.id,
                            record: self.next_record(
                                stored,
                                valid.serialized.clone(),
                                intent.lifetime,
                                now,
                            ),
                            event: if valid.migrated {
                                Event::Migrated
                            } else {
                                Event::Updated
                            },
                            implicit: intent.lifetime.is_none(),
                        }
                    } else if self.lifetime.due_for_renewal(
                        stored,
                        now,
                        self.tracks_last_seen(stored),
                    ) {
                        IdWrite::Update {
                            id: &stored.id,
                            record: self.next_record(stored, valid.serialized.clone(), None, now),
                            event: Event::Renewed,
                            implicit: true,
                        }
                    } else if valid.stale_key {
                        IdWrite::Resend {
                            id: &stored.id,
                            implicit: true,
                            until: self.until_of(stored),
                        }
                    } else {
                        IdWrite::Nothing
                    }
                }
                _ if loaded.is_some_and(Loaded::is_invalid) => IdWrite::Remove {
                    end: current,
                    event: None,
                },
                _ => IdWrite::Nothing,
            },
        }
    }
}

/// Whether a write for `principal` keeps the stored session's principal (no new id).
fn keeps(principal: &Option<Cow<'_, str>>, stored: &Stored) -> bool {
    principal.as_deref() == stored.meta.principal.as_deref()
}

/// The principal as the record will own it.
fn owned(principal: Option<Cow<'_, str>>) -> Option<String> {
    principal.map(Cow::into_owned)
}
