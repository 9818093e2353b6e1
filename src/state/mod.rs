//! Per-request session state: what came in, what was loaded, what the handler asked for, and
//! the write-out when the response leaves.
//!
//! One [`RequestState`] per request. When the request arrives it only takes cheap handles on
//! the headers that may hold session values; the slots (one per registered session) are built,
//! and the headers scanned, when a handler first uses a session. A slot is loaded at most once,
//! and what the handler asks for is a small [`Intent`](crate::tracker::Intent) behind a mutex that is never held across
//! an `.await`.
//!
//! # Commit
//!
//! When the inner service answers, [`RequestState::commit`] commits the request, then
//! [`RequestState::write_out`] applies each session's intent exactly once. A change made concurrently (from a task the handler
//! spawned) is either applied or refused with [`SessionError::TooLate`], never lost: a change
//! first marks the request used, then checks the commit flag under its slot's lock; the commit
//! sets the flag, then looks at the used mark (both sequentially consistent), and takes each
//! intent under the same lock. Whichever comes second sees the other.

mod entry;
mod response;

use std::any::TypeId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use http::{Request, Response};

pub(crate) use entry::Entry;
use entry::Slot;
use response::Outgoing;

use crate::error::SessionError;
use crate::id::RequestInfo;
use crate::pipeline::Pipelines;
use crate::tracker::Tracker;
use crate::tracker::by_id::Client;
use crate::transport::incoming::Captured;

/// The state of all sessions of one request.
pub(crate) struct RequestState {
    pub(crate) pipelines: Arc<Pipelines>,
    /// The headers that may hold session values, scanned on first use.
    captured: Captured,
    /// One slot per registered session, built on first use.
    slots: OnceLock<Box<[Slot]>>,
    /// Set when the response is taken over for writing; changes are refused after.
    committed: AtomicBool,
    /// Set once any session is used; an untouched request skips the write-out entirely.
    used: AtomicBool,
    /// What a custom id generator sees (only kept when one is configured).
    request: Option<Box<RequestInfo>>,
    /// The client, for the metadata of new sessions (only kept when a session records it).
    client: Client,
    /// The state of an enclosing sessions layer, consulted for types this one does not know.
    pub(crate) parent: Option<Arc<RequestState>>,
}

impl RequestState {
    pub(crate) fn new<B>(
        pipelines: &Arc<Pipelines>,
        request: &Request<B>,
        parent: Option<Arc<RequestState>>,
    ) -> RequestState {
        RequestState {
            pipelines: Arc::clone(pipelines),
            captured: Captured::capture(
                request.headers(),
                pipelines.sources(),
                pipelines.source_kinds,
            ),
            slots: OnceLock::new(),
            committed: AtomicBool::new(false),
            used: AtomicBool::new(false),
            request: pipelines
                .needs_request_info
                .then(|| Box::new(RequestInfo::of(request))),
            client: pipelines.client_of(request),
            parent,
        }
    }

    /// The client of the request, as far as session metadata is concerned.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// What a custom id generator sees of the request, when one is configured.
    pub(crate) fn request(&self) -> Option<&RequestInfo> {
        self.request.as_deref()
    }

    #[inline]
    pub(crate) fn now(&self) -> SystemTime {
        self.pipelines.clock.now()
    }

    /// The slots, built (and the captured headers scanned) on first use.
    #[inline]
    fn slots(&self) -> &[Slot] {
        self.slots.get_or_init(|| {
            let mut slots: Box<[Slot]> = self
                .pipelines
                .as_slice()
                .iter()
                .map(|_| Slot::default())
                .collect();
            self.captured
                .scan(self.pipelines.sources(), |index, value| {
                    if let Some(slot) = slots.get_mut(index) {
                        slot.incoming = Some(value);
                    }
                });
            slots
        })
    }

    /// The session that serves type `type_id`: this layer's, or an enclosing layer's.
    #[inline]
    pub(crate) fn locate(&self, type_id: TypeId) -> Option<Entry<'_>> {
        let mut state = self;
        loop {
            if let Some(entry) = state
                .pipelines
                .index_of(type_id)
                .and_then(|index| state.entry(index))
            {
                return Some(entry);
            }
            state = state.parent.as_deref()?;
        }
    }

    /// Which kinds of session values the request carries, over this layer and the enclosing
    /// ones, leaving out the session that serves `except` (presence only, nothing decoded).
    #[cfg(feature = "axum")]
    pub(crate) fn brought(&self, except: TypeId) -> Brought {
        let mut brought = Brought::default();
        let mut state = Some(self);
        while let Some(current) = state {
            let sessions = current.slots().iter().zip(current.pipelines.typed());
            for (slot, (type_id, pipeline)) in sessions {
                if slot.incoming.is_none() || *type_id == except {
                    continue;
                }
                if pipeline.is_cookie() {
                    brought.cookie = true;
                } else {
                    brought.header = true;
                }
            }
            state = current.parent.as_deref();
        }
        brought
    }

    /// Session number `index` of this configuration.
    #[inline]
    fn entry(&self, index: usize) -> Option<Entry<'_>> {
        Some(Entry {
            state: self,
            slot: self.slots().get(index)?,
            pipeline: self.pipelines.as_slice().get(index)?,
        })
    }

    /// The sessions, if any was used (an unused request has no slots).
    #[inline]
    fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        let slots = self.slots.get().map_or(&[][..], |slots| &slots[..]);
        slots
            .iter()
            .zip(self.pipelines.as_slice())
            .map(|(slot, pipeline)| Entry {
                state: self,
                slot,
                pipeline,
            })
    }

    /// Marks the request as using its sessions (before any change checks the commit).
    #[inline]
    fn mark_used(&self) {
        self.used.store(true, Ordering::SeqCst);
    }

    /// Whether the response has been taken over.
    #[inline]
    pub(crate) fn is_committed(&self) -> bool {
        self.committed.load(Ordering::SeqCst)
    }

    /// Commits the request: from now on changes are refused. Returns whether any session was
    /// used, that is whether [`write_out`](Self::write_out) has anything to do; a request that
    /// never touched its sessions passes through as it is.
    pub(crate) fn commit(&self) -> bool {
        self.committed.store(true, Ordering::SeqCst);
        self.used.load(Ordering::SeqCst)
    }

    /// Writes every session the handler used into `response`, after [`commit`](Self::commit).
    ///
    /// If a storage write fails, the response is replaced by an error response (`503` for an
    /// outage) that still carries the headers of every session whose change did happen, so
    /// the client never holds an id the server already ended. Every session is attempted.
    ///
    /// A plain function returning an `async move` block, not an `async fn`: the block holds
    /// `self` and `response` once, where an `async fn` keeps a second copy of each argument, and
    /// the layer boxes this future for every by-id write.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` would keep a second copy of its arguments in the boxed future"
    )]
    pub(crate) fn write_out<B: Default + Send>(
        self: Arc<Self>,
        mut response: Response<B>,
    ) -> impl Future<Output = Response<B>> + Send {
        async move {
            let now = Now::of(&self);
            let mut out = Outgoing::new(response.headers_mut());
            let mut failure = None;
            for entry in self.entries() {
                let result = match &entry.pipeline.tracker {
                    Tracker::ByValue(by_value) => entry.finish_by_value(by_value, &now, &mut out),
                    Tracker::ById(by_id) => entry.finish_by_id(by_id, now.get(), &mut out).await,
                };
                if let Err(error) = result {
                    failure.get_or_insert(error);
                }
            }
            let outcome = response_of(out, failure);
            self.respond(outcome, response)
        }
    }

    /// [`write_out`](Self::write_out) without a future, for configurations whose sessions all
    /// travel by value (writing them needs no storage, so nothing waits): the layer then
    /// finishes the response in place instead of boxing a future.
    pub(crate) fn write_out_by_value<B: Default>(&self, mut response: Response<B>) -> Response<B> {
        let now = Now::of(self);
        let mut out = Outgoing::new(response.headers_mut());
        let mut failure = None;
        for entry in self.entries() {
            if let Tracker::ByValue(by_value) = &entry.pipeline.tracker
                && let Err(error) = entry.finish_by_value(by_value, &now, &mut out)
            {
                failure.get_or_insert(error);
            }
        }
        self.respond(response_of(out, failure), response)
    }

    /// The response to send, with `Vary` and `Cache-Control`: the handler's, or, if a session
    /// failed, the error response that replaces it.
    fn respond<B: Default>(&self, outcome: Outcome<B>, handler: Response<B>) -> Response<B> {
        let (mut response, wrote) = match outcome {
            Outcome::Written { wrote } => (handler, wrote),
            Outcome::Failed(failed) => (failed, true),
        };
        let headers = response.headers_mut();
        response::vary(
            headers,
            self.entries()
                .filter(Entry::is_used)
                .map(|e| e.pipeline.vary()),
        );
        if wrote {
            response::keep_private(headers);
        }
        response
    }
}

/// Which kinds of session values a request carries ([`RequestState::brought`]).
#[cfg(feature = "axum")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Brought {
    /// Some cookie session's cookie.
    pub(crate) cookie: bool,
    /// Some header session's header.
    pub(crate) header: bool,
}

/// The time of a write-out, read from the clock once and only if something needs it.
pub(crate) struct Now<'a> {
    state: &'a RequestState,
    read: std::cell::Cell<Option<SystemTime>>,
}

impl<'a> Now<'a> {
    fn of(state: &'a RequestState) -> Now<'a> {
        Now {
            state,
            read: std::cell::Cell::new(None),
        }
    }

    /// The time, the same for the whole write-out.
    #[inline]
    pub(crate) fn get(&self) -> SystemTime {
        match self.read.get() {
            Some(now) => now,
            None => {
                let now = self.state.now();
                self.read.set(Some(now));
                now
            }
        }
    }
}

/// How a write-out ended.
enum Outcome<B> {
    /// Every session was written; whether any header was added.
    Written { wrote: bool },
    /// A session failed: the response that replaces the handler's.
    Failed(Response<B>),
}

fn response_of<B: Default>(out: Outgoing<'_>, failure: Option<SessionError>) -> Outcome<B> {
    match failure {
        None => Outcome::Written { wrote: out.wrote() },
        Some(error) => {
            tracing::warn!(%error, "a session could not be written; answering with an error");
            Outcome::Failed(out.into_error_response(&error))
        }
    }
}
