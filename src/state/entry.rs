//! One session of one request: its slot (what came in, what was loaded, what the handler asked
//! for) with its pipeline, and the write-out of that session.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::OnceCell;

use super::response::Outgoing;
use super::{Now, RequestState};
use crate::error::SessionError;
use crate::metrics::Event;
use crate::pipeline::Pipeline;
use crate::tracker::by_id::{Context, IdWrite, Sent};
use crate::tracker::{ById, ByValue, Change, Intent, Loaded, ValueWrite, Written};
use crate::transport::incoming::Incoming;

/// One session's per-request slot.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) incoming: Option<Incoming>,
    loaded: OnceCell<Loaded>,
    pending: Mutex<Pending>,
    used: AtomicBool,
}

/// The slot's mutable part, behind its lock.
#[derive(Default)]
struct Pending {
    intent: Intent,
}

/// One session of one request, with its pipeline: what every per-session operation works on.
#[derive(Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) state: &'a RequestState,
    pub(crate) slot: &'a Slot,
    pub(crate) pipeline: &'a Pipeline,
}

impl<'a> Entry<'a> {
    #[inline]
    fn lock(&self) -> MutexGuard<'a, Pending> {
        self.slot
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the session as used by the handler: its response varies on it.
    #[inline]
    pub(crate) fn touch(&self) {
        self.slot.used.store(true, Ordering::Relaxed);
        self.state.mark_used();
    }

    #[inline]
    pub(crate) fn is_used(&self) -> bool {
        self.slot.used.load(Ordering::Relaxed)
    }

    /// The error for a change after the response was taken over.
    pub(crate) fn too_late(&self) -> SessionError {
        SessionError::TooLate {
            name: self.pipeline.name.clone(),
        }
    }

    /// Changes what the handler asks of the session, unless the response has been taken over
    /// (then [`SessionError::TooLate`]; see the commit protocol in the module above).
    #[inline]
    pub(crate) fn change<R>(
        &self,
        change: impl FnOnce(&mut Intent) -> R,
    ) -> Result<R, SessionError> {
        self.touch();
        let mut pending = self.lock();
        if self.state.is_committed() {
            return Err(self.too_late());
        }
        Ok(change(&mut pending.intent))
    }

    /// Records a value already written to the storage by a conditional update. The write has
    /// happened, so this is recorded even after the commit (the write-out has nothing left to
    /// do for it).
    pub(crate) fn record_written(&self, written: Written) {
        self.touch();
        self.lock().intent.change = Change::Written(written);
    }

    /// Reads what the handler asked of the session.
    #[inline]
    pub(crate) fn inspect<R>(&self, read: impl FnOnce(&Intent) -> R) -> R {
        read(&self.lock().intent)
    }

    /// Loads the session on first use; later calls return the same result.
    pub(crate) async fn load(&self) -> Result<&'a Loaded, SessionError> {
        let (slot, pipeline, state) = (self.slot, self.pipeline, self.state);
        slot.loaded
            .get_or_try_init(|| pipeline.load(slot.incoming.as_ref(), state.now()))
            .await
            .map_err(SessionError::Storage)
    }

    /// What the handler asked of this session, taken out for the write-out; `None` if it never
    /// used the session.
    #[inline]
    fn take_intent(&self) -> Option<Intent> {
        self.is_used()
            .then(|| std::mem::take(&mut self.lock().intent))
    }

    /// Tells the client to drop its copy (only if it sent one).
    #[inline]
    fn remove(&self, out: &mut Outgoing<'_>) {
        if self.slot.incoming.is_some() {
            out.push(self.pipeline.removal());
        }
    }

    /// Applies the by-value tracker's decision.
    pub(crate) fn finish_by_value(
        &self,
        by_value: &ByValue,
        now: &Now<'_>,
        out: &mut Outgoing<'_>,
    ) -> Result<(), SessionError> {
        let Some(intent) = self.take_intent() else {
            return Ok(());
        };
        let (slot, pipeline) = (self.slot, self.pipeline);
        let write = by_value.decide(
            intent,
            slot.loaded.get(),
            slot.incoming.is_some(),
            |serialized| pipeline.brought_equals(slot.incoming.as_ref(), serialized, now.get()),
        );
        match write {
            ValueWrite::Nothing => {}
            ValueWrite::Send { header, event } => {
                out.push(header);
                pipeline.event(event);
            }
            ValueWrite::Remove { event } => {
                self.remove(out);
                if let Some(event) = event {
                    pipeline.event(event);
                }
            }
            ValueWrite::Reissue {
                serialized,
                expires_at,
            } => match pipeline.render_keeping(&serialized, now.get(), expires_at) {
                Ok(header) => {
                    out.push(header);
                    pipeline.event(Event::Reissued);
                }
                // An implicit write never fails the request: the client keeps the value it
                // has, which stays valid while its key is in the ring.
                Err(error) => {
                    tracing::warn!(session = %pipeline.name, %error, "could not re-send the session under the current key; the client keeps its copy");
                }
            },
        }
        Ok(())
    }

    /// The by-id tracker's decision on what the handler asked, taking the intent (`None` if
    /// the handler never used the session). Not part of the `async`
    /// [`finish_by_id`](Self::finish_by_id), whose future would otherwise keep room for the
    /// intent while the storage works.
    fn decide_by_id(&self, by_id: &ById, now: SystemTime) -> Option<IdWrite<'a>> {
        let intent = self.take_intent()?;
        let (slot, pipeline) = (self.slot, self.pipeline);
        let ctx = Context {
            now,
            client: self.state.client(),
        };
        Some(by_id.decide(
            intent,
            slot.loaded.get(),
            || pipeline.brought_id(slot.incoming.as_ref(), now),
            ctx,
        ))
    }

    /// Applies the by-id tracker's decision: the storage work, then the header.
    pub(crate) async fn finish_by_id(
        &self,
        by_id: &ById,
        now: SystemTime,
        out: &mut Outgoing<'_>,
    ) -> Result<(), SessionError> {
        if !self.is_used() {
            return Ok(());
        }
        let slot = self.slot;
        if slot.incoming.is_some()
            && slot.loaded.get().is_none()
            && self.inspect(Intent::needs_current)
        {
            // A write on the current session needs its id and creation time. Boxed: a handler
            // that writes a session has almost always read it already, and the future that
            // waits for the response's writes stays small.
            if let Err(error) = Box::pin(self.load()).await {
                // The intent is spent all the same: a handle that outlives the response never
                // reads back a value that was not stored.
                drop(self.take_intent());
                return Err(error);
            }
        }
        let Some(write) = self.decide_by_id(by_id, now) else {
            return Ok(());
        };
        match by_id.execute(&write, self.state.request(), now).await {
            Ok(sent) => self.send(sent, now, out),
            Err(failed) => {
                self.send(failed.sent, now, out)?;
                Err(failed.error)
            }
        }
    }

    /// Sends what a by-id write says the client must get.
    #[inline]
    fn send(
        &self,
        sent: Sent<'_>,
        now: SystemTime,
        out: &mut Outgoing<'_>,
    ) -> Result<(), SessionError> {
        match sent {
            Sent::Nothing => Ok(()),
            Sent::Remove => {
                self.remove(out);
                Ok(())
            }
            Sent::Id {
                id,
                implicit,
                until,
            } => {
                match self.pipeline.render_id(id.as_str(), now, until) {
                    Ok(header) => {
                        out.push(header);
                        Ok(())
                    }
                    // An implicit write (a renewal, a re-send under the current key) keeps the
                    // id the client has, which still names the same session.
                    Err(error) if implicit => {
                        tracing::warn!(session = %self.pipeline.name, %error, "could not re-send the session id; the client keeps its copy");
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use http::header::SET_COOKIE;

    use super::*;
    use crate::SessionsConfig;

    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Visit(u32);

    fn state() -> RequestState {
        let layer = SessionsConfig::new()
            .cookie::<Visit>("v", |c| c.unprotected())
            .build()
            .unwrap();
        RequestState::new(layer.pipelines(), &http::Request::new(()), None)
    }

    fn new_value(entry: &Entry<'_>, n: u32) -> crate::tracker::NewValue {
        entry
            .pipeline
            .prepare(Box::new(Visit(n)), SystemTime::now)
            .unwrap()
    }

    /// The commit lands while a change holds its slot (another thread committing in the
    /// middle of a `set`): the change was already counted as a use, so the write-out applies it.
    #[test]
    fn a_change_in_progress_when_the_commit_lands_is_written() {
        let state = state();
        let entry = state.locate(TypeId::of::<Visit>()).unwrap();
        let new = new_value(&entry, 1);
        let committed_with_use = entry
            .change(|intent| {
                let used = state.commit();
                intent.set(new);
                used
            })
            .unwrap();
        assert!(
            committed_with_use,
            "the commit did not see the change's use"
        );
        let response = state.write_out_by_value(http::Response::new(()));
        assert!(response.headers().contains_key(SET_COOKIE));
    }

    /// The future a response waits on while by-id sessions are written is boxed on every such
    /// request. glibc serves blocks of up to 1,032 bytes from a per-thread cache; a larger one
    /// takes the allocator's slower path (a measured cost: BENCHMARKS.md, "A by-id write-out
    /// that fits the allocator's fast path"). Measured with axum's body, as axum serves it.
    #[cfg(feature = "axum")]
    #[test]
    fn the_by_id_write_out_fits_the_allocators_per_thread_cache() {
        let layer = SessionsConfig::new()
            .cookie_with_storage::<Visit, _>(
                "v",
                std::sync::Arc::new(crate::storage::MemoryStorage::new()),
                |c| c,
            )
            .build()
            .unwrap();
        let state = std::sync::Arc::new(RequestState::new(
            layer.pipelines(),
            &http::Request::new(()),
            None,
        ));
        let future = state.write_out(http::Response::new(axum::body::Body::empty()));
        let size = std::mem::size_of_val(&future);
        assert!(
            size <= 1032,
            "the boxed write-out is {size} bytes, over glibc's per-thread cache (1,032)"
        );
    }

    /// After the commit, a change is refused, not kept.
    #[test]
    fn a_change_after_the_commit_is_refused() {
        let state = state();
        let entry = state.locate(TypeId::of::<Visit>()).unwrap();
        assert!(!state.commit());
        let new = new_value(&entry, 2);
        assert!(matches!(
            entry.change(|intent| intent.set(new)),
            Err(SessionError::TooLate { .. })
        ));
    }
}
