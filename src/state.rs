//! Per-request session state: what came in, what was loaded, what the handler changed, and the
//! write-out when the response leaves.
//!
//! One [`RequestState`] per request. When the request arrives it only takes cheap handles on
//! the headers that may hold session values; the slots (one per registered session) are built,
//! and the headers scanned, when a handler first uses a session. A slot is loaded at most once
//! (on first use), and its pending change is a small enum behind a mutex that is never held
//! across an `.await`. When the inner service answers, [`RequestState::finish`] commits the
//! state (later changes are errors) and writes each changed session exactly once, straight into
//! the response's headers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use tokio::sync::OnceCell;

use crate::config::RequestInfo;
use crate::error::SessionError;
use crate::id::SessionId;
use crate::layer::Shared;
use crate::metrics::Event;
use crate::tracker::{AnyValue, Loaded, Outcome, Provider, Stored, Tracker};
use crate::transform::TransformError;
use crate::transport::Transport;
use crate::transport::incoming::{self, Captured, Incoming, Source};

/// The state of all sessions of one request.
pub(crate) struct RequestState {
    pub(crate) shared: Arc<Shared>,
    /// The headers that may hold session values, scanned on first use.
    captured: Captured,
    /// One slot per registered session, built on first use.
    slots: OnceLock<Box<[Slot]>>,
    /// Set when the response has been taken over for writing; changes are refused after.
    committed: AtomicBool,
    /// Set once any session is used; an untouched request skips the write-out entirely.
    used: AtomicBool,
    /// What a custom id generator sees (only kept when one is configured).
    pub(crate) request: Option<Arc<RequestInfo>>,
    /// The handle of an enclosing sessions layer, consulted for types this one does not know.
    pub(crate) parent: Option<crate::Sessions>,
}

/// One session of one request.
pub(crate) struct Slot {
    pub(crate) incoming: Option<Incoming>,
    pub(crate) loaded: OnceCell<Loaded>,
    pub(crate) pending: Mutex<Pending>,
    used: AtomicBool,
}

/// What the handler asked for.
#[derive(Default)]
pub(crate) struct Pending {
    pub(crate) change: Change,
    /// By id: issue a new id for the same session, and kill the old one.
    pub(crate) regenerate: bool,
    /// By id: the id a new or regenerated session will get, minted early when the handler asks
    /// for it.
    pub(crate) minted: Option<SessionId>,
}

/// A change the handler made.
#[derive(Default)]
pub(crate) enum Change {
    /// Nothing.
    #[default]
    Keep,
    /// A new value, already serialized (and for by-value sessions already rendered, so size
    /// and encoding errors reach the handler at `set` time).
    Set {
        value: AnyValue,
        serialized: String,
        rendered: Option<(HeaderName, HeaderValue)>,
    },
    /// Remove the session.
    Clear,
}

impl Slot {
    fn new(incoming: Option<Incoming>) -> Slot {
        Slot {
            incoming,
            loaded: OnceCell::new(),
            pending: Mutex::new(Pending::default()),
            used: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One session of one request, with its configuration: what every per-session operation
/// works on. Made by [`RequestState::entry`], so an index never needs checking twice.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) state: &'a RequestState,
    pub(crate) slot: &'a Slot,
    pub(crate) provider: &'a Provider,
    source: &'a Source,
}

/// The response headers the write-out adds to.
struct Outgoing<'r> {
    headers: &'r mut HeaderMap,
    /// Whether a session header was added.
    wrote: bool,
}

impl Outgoing<'_> {
    fn push(&mut self, (name, value): (HeaderName, HeaderValue)) {
        self.headers.append(name, value);
        self.wrote = true;
    }
}

impl RequestState {
    pub(crate) fn new<B>(
        shared: &Arc<Shared>,
        request: &http::Request<B>,
        parent: Option<crate::Sessions>,
    ) -> RequestState {
        RequestState {
            shared: Arc::clone(shared),
            captured: Captured::capture(request.headers(), &shared.sources, shared.header_sources),
            slots: OnceLock::new(),
            committed: AtomicBool::new(false),
            used: AtomicBool::new(false),
            request: shared
                .needs_request_info
                .then(|| crate::tracker::request_info(request)),
            parent,
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    /// The slots, built (and the captured headers scanned) on first use.
    fn slots(&self) -> &[Slot] {
        self.slots.get_or_init(|| {
            let mut slots: Vec<Slot> = (0..self.shared.providers.len())
                .map(|_| Slot::new(None))
                .collect();
            self.captured.scan(&self.shared.sources, |index, value| {
                if let Some(slot) = slots.get_mut(index) {
                    slot.incoming = Some(value);
                }
            });
            slots.into_boxed_slice()
        })
    }

    /// Session number `index` of this configuration.
    pub(crate) fn entry(&self, index: usize) -> Option<Entry<'_>> {
        Some(Entry {
            state: self,
            slot: self.slots().get(index)?,
            provider: self.shared.providers.get(index)?,
            source: self.shared.sources.get(index)?,
        })
    }

    /// The sessions, if any was used (an unused request has no slots).
    fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.slots
            .get()
            .map_or(&[][..], |slots| &slots[..])
            .iter()
            .zip(self.shared.providers.iter())
            .zip(self.shared.sources.iter())
            .map(|((slot, provider), source)| Entry {
                state: self,
                slot,
                provider,
                source,
            })
    }

    /// Commits the state and writes every changed session into `response`.
    ///
    /// Returns an error (and the caller answers with its status instead) when a storage write
    /// fails: a session change is never silently lost.
    pub(crate) async fn finish<B>(&self, response: &mut Response<B>) -> Result<(), SessionError> {
        let Some(mut out) = self.begin_finish(response) else {
            return Ok(());
        };
        for entry in self.entries() {
            entry.finish(&mut out).await?;
        }
        self.end_finish(out);
        Ok(())
    }

    /// [`RequestState::finish`] without a future, for configurations whose sessions all
    /// travel by value (writing them needs no storage, so nothing waits): the layer then
    /// finishes the response in place instead of boxing a future.
    pub(crate) fn finish_by_value<B>(
        &self,
        response: &mut Response<B>,
    ) -> Result<(), SessionError> {
        debug_assert!(
            self.shared.by_value_only,
            "called with by-id sessions registered"
        );
        let Some(mut out) = self.begin_finish(response) else {
            return Ok(());
        };
        for entry in self.entries() {
            if matches!(entry.provider.tracker, Tracker::ByValue { .. })
                && let Some(pending) = entry.take_pending()
            {
                entry.finish_by_value(pending, &mut out)?;
            }
        }
        self.end_finish(out);
        Ok(())
    }

    /// Commits the request; the response's headers to write into, unless no session was used.
    fn begin_finish<'r, B>(&self, response: &'r mut Response<B>) -> Option<Outgoing<'r>> {
        self.committed.store(true, Ordering::Release);
        if !self.used.load(Ordering::Acquire) {
            return None;
        }
        Some(Outgoing {
            headers: response.headers_mut(),
            wrote: false,
        })
    }

    /// `Vary` and `Cache-Control`, once every session is written.
    fn end_finish(&self, out: Outgoing<'_>) {
        let Outgoing { headers, wrote } = out;
        // A response that depends on a session varies on what carries it: `Cookie`, or the
        // session header (each name once).
        for (i, entry) in self.entries().enumerate() {
            if !entry.is_used() {
                continue;
            }
            let name = entry.vary();
            let seen = self
                .entries()
                .take(i)
                .any(|earlier| earlier.is_used() && earlier.vary() == name);
            if !seen && !varies_on(headers, name) {
                headers.append(VARY, HeaderValue::from(name.clone()));
            }
        }
        if wrote && !headers.contains_key(CACHE_CONTROL) {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }

    /// Whether the handler used any session.
    pub(crate) fn is_used(&self) -> bool {
        self.used.load(Ordering::Acquire)
    }

    /// Commits without writing anything (nothing was used, or the inner service failed).
    pub(crate) fn abandon(&self) {
        self.committed.store(true, Ordering::Release);
    }
}

/// Whether `headers` already vary on `name` (or on everything).
fn varies_on(headers: &HeaderMap, name: &HeaderName) -> bool {
    headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || t.trim().eq_ignore_ascii_case(name.as_str()))
        })
    })
}

impl<'a> Entry<'a> {
    fn is_used(&self) -> bool {
        self.slot.used.load(Ordering::Relaxed)
    }

    /// The request header this session's value travels in.
    fn vary(&self) -> &'a HeaderName {
        match &self.provider.transport {
            Transport::Cookie(_) => &COOKIE_HEADER,
            Transport::Header(h) => h.header(),
        }
    }

    /// Marks the session as used by the handler.
    pub(crate) fn touch(&self) {
        self.slot.used.store(true, Ordering::Relaxed);
        self.state.used.store(true, Ordering::Release);
    }

    /// Fails if the response has already been taken over.
    pub(crate) fn check_open(&self) -> Result<(), SessionError> {
        if self.state.committed.load(Ordering::Acquire) {
            return Err(SessionError::TooLate {
                name: self.provider.name.clone(),
            });
        }
        Ok(())
    }

    fn limit(&self) -> usize {
        incoming::limit(self.source)
    }

    /// Loads the session on first use; later calls return the same result.
    pub(crate) async fn load(&self) -> Result<&'a Loaded, SessionError> {
        let slot = self.slot;
        let provider = self.provider;
        let limit = self.limit();
        let now = self.state.now();
        slot.loaded
            .get_or_try_init(|| async {
                let loaded = provider
                    .load(slot.incoming.as_ref(), limit, now)
                    .await
                    .map_err(|error| {
                        tracing::error!(session = %provider.name, %error, "session storage failed while loading");
                        SessionError::Storage(error)
                    })?;
                if let Outcome::Invalid { reason, .. } = &loaded.outcome {
                    tracing::debug!(session = %provider.name, reason = reason.as_str(), "invalid session value; it will be cleared");
                }
                Ok(loaded)
            })
            .await
    }

    /// What the handler asked of this session, taken out; `None` if it never used it.
    fn take_pending(&self) -> Option<Pending> {
        self.is_used()
            .then(|| std::mem::take(&mut *self.slot.lock()))
    }

    async fn finish(&self, out: &mut Outgoing<'_>) -> Result<(), SessionError> {
        let Some(pending) = self.take_pending() else {
            return Ok(());
        };
        match &self.provider.tracker {
            Tracker::ByValue { .. } => self.finish_by_value(pending, out),
            Tracker::ById(_) => self.finish_by_id(pending, out).await,
        }
    }

    fn finish_by_value(
        &self,
        pending: Pending,
        out: &mut Outgoing<'_>,
    ) -> Result<(), SessionError> {
        let slot = self.slot;
        let provider = self.provider;
        match pending.change {
            Change::Set {
                serialized,
                rendered,
                ..
            } => {
                if provider.send_only_if_modified && slot.incoming.is_some() {
                    let previous = match slot.loaded.get() {
                        Some(loaded) => loaded.valid().map(|v| v.serialized == serialized),
                        // Not read by the handler: unwrap the incoming value now (no storage).
                        None => slot.incoming.as_ref().and_then(|incoming| {
                            provider
                                .unwrap_incoming(incoming, self.limit(), self.state.now())
                                .ok()
                                .map(|u| u.value == serialized)
                        }),
                    };
                    if previous == Some(true) {
                        return Ok(());
                    }
                }
                if let Some(header) = rendered {
                    out.push(header);
                    let existed = slot.loaded.get().and_then(Loaded::valid).is_some();
                    provider.metrics.event(
                        &provider.name,
                        if existed {
                            Event::Updated
                        } else {
                            Event::Created
                        },
                    );
                }
            }
            Change::Clear => {
                if slot.incoming.is_some() {
                    provider.metrics.event(&provider.name, Event::Cleared);
                }
                self.remove(out);
            }
            Change::Keep => match slot.loaded.get().map(|l| &l.outcome) {
                Some(Outcome::Invalid { .. }) => self.remove(out),
                // Protected with a previous key: re-send under the current one, same expiry.
                Some(Outcome::Valid(valid)) if valid.stale_key => {
                    let ctx = provider
                        .context(self.state.now())
                        .with_expiry(valid.value_expires_at);
                    out.push(render_with(provider, &ctx, &valid.serialized)?);
                    provider.metrics.event(&provider.name, Event::Reissued);
                }
                _ => {}
            },
        }
        Ok(())
    }

    async fn finish_by_id(
        &self,
        pending: Pending,
        out: &mut Outgoing<'_>,
    ) -> Result<(), SessionError> {
        let slot = self.slot;
        let provider = self.provider;
        let Some(by_id) = provider.tracker.by_id() else {
            return Ok(());
        };
        let state = self.state;
        let now = state.now();
        if let Change::Clear = pending.change {
            // The id to delete: the loaded one, or (not loaded) the incoming one, unwrapped
            // without a storage round trip.
            let id = match slot.loaded.get() {
                Some(loaded) => match &loaded.outcome {
                    Outcome::Valid(valid) => valid.stored.as_ref().map(|s| s.id.clone()),
                    Outcome::Invalid { id, .. } => id.clone(),
                    Outcome::Absent => None,
                },
                None => slot.incoming.as_ref().and_then(|incoming| {
                    let text = provider.unwrap_incoming(incoming, self.limit(), now).ok()?;
                    by_id.parse_id(&text.value)
                }),
            };
            if let Some(id) = id {
                by_id
                    .delete(&id)
                    .await
                    .map_err(|e| self.storage_failed(e))?;
                tracing::debug!(session = %provider.name, id = %id.log_tag(), "session cleared");
                provider.metrics.event(&provider.name, Event::Cleared);
            }
            self.remove(out);
            return Ok(());
        }

        let has_change = matches!(pending.change, Change::Set { .. }) || pending.regenerate;
        if has_change && slot.loaded.get().is_none() && slot.incoming.is_some() {
            // A write needs to know the current session (its id and creation time).
            self.load().await?;
        }
        let loaded = slot.loaded.get();
        let valid_stored = loaded
            .and_then(Loaded::valid)
            .and_then(|v| v.stored.as_ref());
        if let Some(Outcome::Invalid {
            id: Some(broken), ..
        }) = loaded.map(|l| &l.outcome)
        {
            by_id
                .delete(broken)
                .await
                .map_err(|e| self.storage_failed(e))?;
        }

        let valid = loaded.and_then(Loaded::valid);
        let new_data = match pending.change {
            Change::Set { serialized, .. } => Some(serialized),
            Change::Keep | Change::Clear => None,
        };

        match (valid_stored, new_data) {
            // A new session.
            (None, Some(data)) => {
                let id = match pending.minted {
                    Some(id) => id,
                    None => by_id.new_id(&provider.name, state.request.as_deref())?,
                };
                let id = by_id
                    .create(&provider.name, id, data, now)
                    .await
                    .map_err(|e| self.session_failed(e))?;
                self.send_id(&id, now, out)?;
                provider.metrics.event(&provider.name, Event::Created);
            }
            // A new id for an existing session.
            (Some(stored), data) if pending.regenerate => {
                let new_id = match pending.minted {
                    Some(id) => id,
                    None => by_id.new_id(&provider.name, state.request.as_deref())?,
                };
                let record = crate::storage::Record {
                    data: data
                        .or_else(|| valid.map(|v| v.serialized.clone()))
                        .unwrap_or_default(),
                    created_at: stored.created_at,
                    expires_at: by_id.expiry(stored.created_at, now),
                };
                let moved = by_id
                    .change_id(&stored.id, &new_id, &record, now)
                    .await
                    .map_err(|e| self.storage_failed(e))?;
                if moved {
                    self.send_id(&new_id, now, out)?;
                    provider.metrics.event(&provider.name, Event::Regenerated);
                } else {
                    tracing::debug!(session = %provider.name, "session ended by a concurrent request; not regenerated");
                    self.remove(out);
                }
            }
            // A value set on an existing session: written only if it differs from the stored one
            // (or a renewal is due); sent unless `send_only_if_modified` says it need not be.
            (Some(stored), Some(data)) => {
                let unchanged = valid.is_some_and(|v| v.serialized == data);
                if !unchanged {
                    self.update(stored, data, now, Event::Updated, out).await?;
                } else if by_id.due_for_renewal(stored, now) {
                    self.update(stored, data, now, Event::Renewed, out).await?;
                } else if !provider.send_only_if_modified {
                    self.send_id(&stored.id, now, out)?;
                }
            }
            // Only read: renew the idle deadline if it is due; re-send an id protected with a
            // previous key under the current one.
            (Some(stored), None) => {
                if by_id.due_for_renewal(stored, now) {
                    let data = valid.map(|v| v.serialized.clone()).unwrap_or_default();
                    self.update(stored, data, now, Event::Renewed, out).await?;
                } else if valid.is_some_and(|v| v.stale_key) {
                    self.send_id(&stored.id, now, out)?;
                    provider.metrics.event(&provider.name, Event::Reissued);
                }
            }
            // Nothing to write; an invalid value is cleared.
            (None, None) => {
                if matches!(loaded.map(|l| &l.outcome), Some(Outcome::Invalid { .. })) {
                    self.remove(out);
                }
            }
        }
        Ok(())
    }

    async fn update(
        &self,
        stored: &Stored,
        data: String,
        now: SystemTime,
        event: Event,
        out: &mut Outgoing<'_>,
    ) -> Result<(), SessionError> {
        let provider = self.provider;
        let Some(by_id) = provider.tracker.by_id() else {
            return Ok(());
        };
        let live = by_id
            .update(stored, data, now)
            .await
            .map_err(|e| self.session_failed(e))?;
        if live {
            provider.metrics.event(&provider.name, event);
            self.send_id(&stored.id, now, out)
        } else {
            // Deleted meanwhile (a concurrent logout): deletion wins, nothing is recreated.
            tracing::debug!(session = %provider.name, id = %stored.id.log_tag(), "session ended by a concurrent request; not written back");
            self.remove(out);
            Ok(())
        }
    }

    fn send_id(
        &self,
        id: &SessionId,
        now: SystemTime,
        out: &mut Outgoing<'_>,
    ) -> Result<(), SessionError> {
        out.push(render(self.provider, id.as_str(), now)?);
        Ok(())
    }

    /// Tells the client to drop its copy (only if it sent one).
    fn remove(&self, out: &mut Outgoing<'_>) {
        if self.slot.incoming.is_none() {
            return;
        }
        out.push(match &self.provider.transport {
            Transport::Cookie(c) => (SET_COOKIE, c.removal()),
            Transport::Header(h) => (h.header().clone(), HeaderValue::from_static("")),
        });
    }

    fn storage_failed(&self, error: crate::storage::StorageError) -> SessionError {
        tracing::error!(session = %self.provider.name, %error, "session storage failed while writing");
        SessionError::Storage(error)
    }

    fn session_failed(&self, error: SessionError) -> SessionError {
        if let SessionError::Storage(inner) = &error {
            tracing::error!(session = %self.provider.name, error = %inner, "session storage failed while writing");
        }
        error
    }
}

/// `Cookie`, as a static name (for `Vary`).
static COOKIE_HEADER: HeaderName = http::header::COOKIE;

/// Protects `value` with the session's transformer chain and renders its response header.
pub(crate) fn render(
    provider: &Provider,
    value: &str,
    now: SystemTime,
) -> Result<(HeaderName, HeaderValue), SessionError> {
    render_with(provider, &provider.context(now), value)
}

/// [`render`] with a given transformer context (to keep a re-sent value's expiry).
fn render_with(
    provider: &Provider,
    ctx: &crate::transform::TransformContext<'_>,
    value: &str,
) -> Result<(HeaderName, HeaderValue), SessionError> {
    let now = ctx.now;
    let protected = provider.chain.write(ctx, value).map_err(|e| match e {
        TransformError::TooLarge { size, limit } => SessionError::TooLarge {
            name: provider.name.clone(),
            size,
            limit,
        },
        other => SessionError::Transform {
            name: provider.name.clone(),
            reason: other.to_string(),
        },
    })?;
    match &provider.transport {
        Transport::Cookie(cookie) => match cookie.render(&protected, now) {
            Ok(value) => Ok((SET_COOKIE, value)),
            Err(crate::transport::cookie::Render::TooLarge(size)) => Err(SessionError::TooLarge {
                name: provider.name.clone(),
                size,
                limit: crate::transport::MAX_COOKIE_SIZE,
            }),
            Err(crate::transport::cookie::Render::Unencodable) => Err(SessionError::Transform {
                name: provider.name.clone(),
                reason: format!(
                    "the value cannot be written with the {} cookie encoding",
                    cookie.encoding.ktor_name()
                ),
            }),
        },
        Transport::Header(header) => match header.render(&protected) {
            Ok(value) => Ok((header.header().clone(), value)),
            Err(Some(size)) => Err(SessionError::TooLarge {
                name: provider.name.clone(),
                size,
                limit: crate::transport::MAX_HEADER_SIZE,
            }),
            Err(None) => Err(SessionError::Transform {
                name: provider.name.clone(),
                reason: "the value holds characters a header cannot carry; add a transformer that encodes it".into(),
            }),
        },
    }
}
