//! Trackers: what the transported string is, and what a response writes.
//!
//! * by value ([`by_value`]): the serialized session itself;
//! * by id ([`by_id`]): a session id; the serialized session is a
//!   [`Record`](crate::storage::Record) in a storage, with its creation time and server-side
//!   expiry, and the lifetime policy lives with it.
//!
//! Each tracker owns its decision: given what the request brought ([`Loaded`]) and what the
//! handler asked for ([`Intent`]), it says what to write (a [`ValueWrite`] or an
//! [`IdWrite`](by_id::IdWrite)); the per-request state only applies it.

pub(crate) mod by_id;
pub(crate) mod by_value;
mod intent;
mod loaded;

pub(crate) use by_id::{ById, UpdateLocks};
pub(crate) use by_value::{ByValue, ValueWrite};
pub(crate) use intent::{Change, Header, Intent, NewValue, Written};
pub(crate) use loaded::{AnyValue, Invalid, Loaded, Outcome, Stored};

/// How the transported string relates to the session.
///
/// One per pipeline, built once and never moved on the request path, so the size difference of
/// the variants costs nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Tracker {
    /// The string is the serialized session.
    ByValue(ByValue),
    /// The string is an id into a storage.
    ById(ById),
}

impl Tracker {
    pub(crate) fn by_id(&self) -> Option<&ById> {
        match self {
            Tracker::ById(by_id) => Some(by_id),
            Tracker::ByValue(_) => None,
        }
    }
}
