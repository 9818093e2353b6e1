//! What a handler asked of one session during a request, recorded by `set`, `clear` and
//! `regenerate` and applied once, when the response leaves.

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use super::loaded::{AnyValue, Stored};
use crate::id::SessionId;

/// One response header: `Set-Cookie` or a session header, with its value.
pub(crate) type Header = (HeaderName, HeaderValue);

/// What the handler asked of one session.
#[derive(Default)]
pub(crate) struct Intent {
    pub(crate) change: Change,
    /// `clear` was called: the session the request brought ends, even if a later `set` in the
    /// same request starts a new one (which then is a new session, with a new id).
    pub(crate) ended: bool,
    /// By id: issue a new id for the same session, and end the old one.
    pub(crate) regenerate: bool,
    /// By id: the id a new or regenerated session will get, decided early when the handler
    /// asks for it.
    pub(crate) minted: Option<SessionId>,
    /// By id: the principal the handler set (`Some(None)`: none), overriding the one the value
    /// names.
    pub(crate) principal: Option<Option<String>>,
    /// By id: the lifetime the handler chose for the session ("remember me").
    pub(crate) lifetime: Option<Duration>,
}

/// The value a handler asked for.
#[derive(Default)]
pub(crate) enum Change {
    /// Whatever the request brought.
    #[default]
    Keep,
    /// A new value.
    Set(NewValue),
    /// A value already written to the storage by a conditional update
    /// ([`Sessions::modify`](crate::Sessions::modify)): nothing is left to write.
    Written(Written),
    /// No session.
    Clear,
}

/// A by-id session's value after a conditional update: the value, and the stored record it is
/// now (its revision, for the next update in the same request).
pub(crate) struct Written {
    pub(crate) value: AnyValue,
    pub(crate) serialized: Vec<u8>,
    pub(crate) stored: Box<Stored>,
}

/// A value set by the handler: serialized at once, and for by-value sessions also rendered,
/// so size and encoding errors reach the handler at `set`.
pub(crate) struct NewValue {
    pub(crate) value: AnyValue,
    pub(crate) serialized: Vec<u8>,
    pub(crate) rendered: Option<Header>,
}

impl Intent {
    /// `set`: the session gets `value`.
    pub(crate) fn set(&mut self, value: NewValue) {
        self.change = Change::Set(value);
    }

    /// `clear`: the session ends, and anything asked before is forgotten.
    pub(crate) fn clear(&mut self) {
        self.change = Change::Clear;
        self.ended = true;
        self.regenerate = false;
        self.minted = None;
        self.principal = None;
        self.lifetime = None;
    }

    /// What `get` sees without loading: `Some(answer)` once the handler set or cleared the
    /// session in this request.
    pub(crate) fn current<T: Clone + 'static>(&self) -> Option<Option<T>> {
        match &self.change {
            Change::Keep => None,
            Change::Set(new) => Some(new.value.downcast_ref::<T>().cloned()),
            Change::Written(written) => Some(written.value.downcast_ref::<T>().cloned()),
            Change::Clear => Some(None),
        }
    }

    /// Whether writing this intent needs the session the request brought (its id, its times,
    /// its stored value): a value set on it, or a new id for it.
    pub(crate) fn needs_current(&self) -> bool {
        match self.change {
            Change::Set(_) => !self.ended,
            Change::Keep => self.regenerate,
            Change::Written(_) | Change::Clear => false,
        }
    }
}
