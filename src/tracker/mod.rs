//! Trackers: what the transported string is.
//!
//! * by value ([`by_value`]): the serialized session itself;
//! * by id ([`by_id`]): a session id; the serialized session is a [`Record`](crate::storage::Record)
//!   in a storage, with its creation time and server-side expiry.
//!
//! A [`Provider`] is one registered session with its whole pipeline: transport, transformer
//! chain, tracker and serializer, types erased so the per-request code is not generic.

pub(crate) mod by_id;
pub(crate) mod by_value;

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::RequestInfo;
use crate::id::SessionId;
use crate::serializer::ErasedCodec;
use crate::transform::{Chain, ChainRead, Rejection, TransformContext};
use crate::transport::Transport;
use crate::transport::incoming::Incoming;

pub(crate) use by_id::ById;

/// A session value with its type erased.
pub(crate) type AnyValue = Box<dyn Any + Send + Sync>;

/// One registered session.
pub(crate) struct Provider {
    pub(crate) name: String,
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    pub(crate) transport: Transport,
    pub(crate) chain: Chain,
    pub(crate) codec: Box<dyn ErasedCodec>,
    pub(crate) tracker: Tracker,
    pub(crate) send_only_if_modified: bool,
    pub(crate) metrics: crate::metrics::Metrics,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("type", &self.type_name)
            .field("transport", &self.transport)
            .field("chain", &self.chain)
            .field("tracker", &self.tracker)
            .finish()
    }
}

/// How the transported string relates to the session.
#[derive(Debug)]
pub(crate) enum Tracker {
    /// The string is the serialized session; `ttl` is the expiry written into protected values.
    ByValue { ttl: Option<Duration> },
    /// The string is an id into a storage.
    ById(ById),
}

impl Tracker {
    pub(crate) fn by_id(&self) -> Option<&ById> {
        match self {
            Tracker::ById(by_id) => Some(by_id),
            Tracker::ByValue { .. } => None,
        }
    }
}

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
}

/// A valid session as found.
#[derive(Debug)]
pub(crate) struct Valid {
    /// The serialized form, to tell whether a later `set` changes anything.
    pub(crate) serialized: String,
    /// For by-id sessions: the id and the stored record's times.
    pub(crate) stored: Option<Stored>,
    /// The value came protected with a previous key: re-send it under the current one.
    pub(crate) stale_key: bool,
    /// The expiry the protected value carried (kept when it is re-sent).
    pub(crate) value_expires_at: Option<SystemTime>,
}

/// Where a by-id session lives and when it was created and expires.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) id: SessionId,
    pub(crate) created_at: SystemTime,
    pub(crate) expires_at: SystemTime,
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
}

impl Provider {
    /// The context transformers see for this session at `now`, with the expiry a value written
    /// now should carry (by-id sessions carry none: the server enforces theirs).
    pub(crate) fn context(&self, now: SystemTime) -> TransformContext<'_> {
        let expires_at = match &self.tracker {
            Tracker::ByValue { ttl } => ttl.and_then(|ttl| now.checked_add(ttl)),
            Tracker::ById(_) => None,
        };
        TransformContext::new(&self.name, now).with_expiry(expires_at)
    }

    /// Decodes the transport encoding and runs the transformer chain backwards: the string the
    /// tracker works with, or why there is none.
    pub(crate) fn unwrap_incoming<'a>(
        &self,
        incoming: &'a Incoming,
        limit: usize,
        now: SystemTime,
    ) -> Result<ChainRead<'a>, Invalid> {
        let raw = incoming.text(limit).ok_or(Invalid::Encoding)?;
        let ctx = self.context(now);
        let read = match self.transport.decode(raw).ok_or(Invalid::Encoding)? {
            Cow::Borrowed(decoded) => self.chain.read(&ctx, decoded),
            Cow::Owned(decoded) => self.chain.read(&ctx, &decoded).map(ChainRead::into_owned),
        };
        read.map_err(Invalid::Rejected)
    }

    /// Loads the session a request brought. Never fails on client input; fails only when the
    /// storage does.
    pub(crate) async fn load(
        &self,
        incoming: Option<&Incoming>,
        limit: usize,
        now: SystemTime,
    ) -> Result<Loaded, crate::storage::StorageError> {
        let Some(incoming) = incoming else {
            self.metrics.loaded(&self.name, "absent", None);
            return Ok(Loaded::absent());
        };
        let unwrapped = match self.unwrap_incoming(incoming, limit, now) {
            Ok(unwrapped) => unwrapped,
            Err(reason) => {
                let loaded = Loaded::invalid(reason, None);
                self.record_load(&loaded);
                return Ok(loaded);
            }
        };
        let mut loaded = match &self.tracker {
            Tracker::ByValue { .. } => by_value::load(self, unwrapped.value.into_owned()),
            Tracker::ById(by_id) => by_id.load(self, &unwrapped.value, now).await?,
        };
        if let Outcome::Valid(valid) = &mut loaded.outcome {
            valid.stale_key = unwrapped.stale_key;
            valid.value_expires_at = unwrapped.expires_at;
        }
        self.record_load(&loaded);
        Ok(loaded)
    }
}

impl Provider {
    fn record_load(&self, loaded: &Loaded) {
        match &loaded.outcome {
            Outcome::Absent => self.metrics.loaded(&self.name, "absent", None),
            Outcome::Valid(_) => self.metrics.loaded(&self.name, "valid", None),
            Outcome::Invalid { reason, .. } => {
                self.metrics
                    .loaded(&self.name, "invalid", Some(reason.as_str()))
            }
        }
    }
}

/// Builds the [`RequestInfo`] a custom id generator sees.
pub(crate) fn request_info<B>(request: &http::Request<B>) -> Arc<RequestInfo> {
    Arc::new(RequestInfo {
        method: request.method().clone(),
        uri: request.uri().clone(),
        headers: request.headers().clone(),
    })
}
