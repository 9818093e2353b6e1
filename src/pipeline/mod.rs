//! One compiled pipeline per registered session, built once by
//! [`SessionsConfig::build`](crate::SessionsConfig::build), owning both directions:
//!
//! * [`read`]: the incoming transport value → transport decoding → transformer chain (in
//!   reverse) → the tracker (by value: the serializer; by id: the storage, then the
//!   serializer);
//! * [`write`](mod@write): a value → serializer → transformer chain → the transport's header.
//!
//! [`Pipelines`] is the whole compiled configuration that every request shares.

mod read;
mod write;

use std::any::TypeId;

use http::HeaderName;

use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::serializer::ErasedCodec;
use crate::tracker::Tracker;
use crate::tracker::by_id::Client;
use crate::transform::Chain;
use crate::transport::Transport;
use crate::transport::incoming::{Source, SourceKinds};

/// One registered session with its whole pipeline, types erased so the per-request code is
/// not generic.
pub(crate) struct Pipeline {
    pub(crate) name: String,
    type_name: &'static str,
    transport: Transport,
    /// Where the request carries its value (derived from the transport).
    source: Source,
    chain: Chain,
    codec: Box<dyn ErasedCodec>,
    pub(crate) tracker: Tracker,
    metrics: Metrics,
}

/// The parts of a [`Pipeline`], as the configuration compiles them.
pub(crate) struct Parts {
    pub(crate) name: String,
    pub(crate) type_name: &'static str,
    pub(crate) transport: Transport,
    pub(crate) chain: Chain,
    pub(crate) codec: Box<dyn ErasedCodec>,
    pub(crate) tracker: Tracker,
    pub(crate) metrics: Metrics,
}

impl Pipeline {
    pub(crate) fn new(parts: Parts) -> Pipeline {
        let source = Source::of(&parts.transport);
        Pipeline {
            name: parts.name,
            type_name: parts.type_name,
            transport: parts.transport,
            source,
            chain: parts.chain,
            codec: parts.codec,
            tracker: parts.tracker,
            metrics: parts.metrics,
        }
    }

    /// Counts a lifecycle event of this session (when metrics are on).
    #[inline]
    pub(crate) fn event(&self, event: crate::metrics::Event) {
        self.metrics.event(&self.name, event);
    }

    /// Whether the session travels in a cookie (not a header of its own).
    #[cfg(feature = "axum")]
    #[inline]
    pub(crate) fn is_cookie(&self) -> bool {
        matches!(self.source, Source::Cookie(_))
    }

    /// The request header whose value a response that used this session depends on: `Cookie`,
    /// or the session's own header.
    #[inline]
    pub(crate) fn vary(&self) -> &HeaderName {
        self.source.header()
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("name", &self.name)
            .field("type", &self.type_name)
            .field("transport", &self.transport)
            .field("chain", &self.chain)
            .field("tracker", &self.tracker)
            .finish()
    }
}

/// Where a client's address comes from (the application's function).
pub(crate) type AddressFn = std::sync::Arc<
    dyn Fn(&http::HeaderMap, &http::Extensions) -> Option<std::net::IpAddr> + Send + Sync,
>;

/// Every session of one configuration, compiled: what each request of a layer shares.
pub(crate) struct Pipelines {
    list: Box<[Pipeline]>,
    /// The Rust type each pipeline serves, in the same order: the lookup index of `get::<T>`.
    types: Box<[TypeId]>,
    pub(crate) clock: SharedClock,
    /// Whether a custom id generator needs the request's information.
    pub(crate) needs_request_info: bool,
    /// Which kinds of sources the sessions use (what a request captures).
    pub(crate) source_kinds: SourceKinds,
    /// Whether some session records the client's device (so the `User-Agent` is kept).
    devices: bool,
    /// Where the client's address comes from, when the application records it.
    address: Option<AddressFn>,
    /// Whether every session travels by value (so the response is finished without waiting).
    pub(crate) by_value_only: bool,
}

impl Pipelines {
    /// `list` serving the types `types` (one each, in order).
    pub(crate) fn new(
        list: Vec<(TypeId, Pipeline)>,
        clock: SharedClock,
        address: Option<AddressFn>,
    ) -> Pipelines {
        let (types, list): (Vec<TypeId>, Vec<Pipeline>) = list.into_iter().unzip();
        let needs_request_info = list
            .iter()
            .any(|p| p.tracker.by_id().is_some_and(|b| b.ids.needs_request()));
        let source_kinds = SourceKinds::of(list.iter().map(|p| &p.source));
        let by_value_only = list.iter().all(|p| p.tracker.by_id().is_none());
        let devices = list
            .iter()
            .any(|p| p.tracker.by_id().is_some_and(|b| b.principals.devices));
        let address = address.filter(|_| devices);
        Pipelines {
            list: list.into_boxed_slice(),
            types: types.into_boxed_slice(),
            clock,
            needs_request_info,
            source_kinds,
            devices,
            address,
            by_value_only,
        }
    }

    /// What the sessions record about the client of `request`: nothing unless some session
    /// records devices.
    pub(crate) fn client_of<B>(&self, request: &http::Request<B>) -> Client {
        if !self.devices {
            return Client::default();
        }
        Client {
            user_agent: request.headers().get(http::header::USER_AGENT).cloned(),
            address: self
                .address
                .as_ref()
                .and_then(|address| address(request.headers(), request.extensions())),
        }
    }

    /// The position of the pipeline that serves `type_id`.
    #[inline]
    pub(crate) fn index_of(&self, type_id: TypeId) -> Option<usize> {
        self.types.iter().position(|t| *t == type_id)
    }

    /// Every pipeline, in registration order.
    #[inline]
    pub(crate) fn as_slice(&self) -> &[Pipeline] {
        &self.list
    }

    /// Each pipeline with the Rust type it serves, in registration order.
    #[cfg(feature = "axum")]
    pub(crate) fn typed(&self) -> impl Iterator<Item = (&TypeId, &Pipeline)> {
        self.types.iter().zip(self.list.iter())
    }

    /// Where each session's value travels, in registration order.
    pub(crate) fn sources(&self) -> impl Iterator<Item = &Source> + Clone {
        self.list.iter().map(|p| &p.source)
    }
}

impl std::fmt::Debug for Pipelines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.list.iter()).finish()
    }
}
