//! The tower [`Layer`] and [`Service`] that give each request its [`Sessions`].
//!
//! Per request the service scans the headers once for the registered names, puts a
//! [`Sessions`] handle into the request extensions, and calls the inner service. When the
//! response comes back: if no session was touched it is passed through as is (no allocation,
//! no lock, no header); otherwise each changed session is written once, `Set-Cookie` (or the
//! session header) is added, with `Vary` and `Cache-Control: no-store` so shared caches never
//! serve one user's session to another.
//!
//! A layer can wrap a whole router or one nested router. Nested layers stack: a handler sees
//! the sessions of every layer around it, and the innermost layer serves a type when two
//! register it.

use std::any::TypeId;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::SessionError;
use crate::clock::SharedClock;
use crate::sessions::Sessions;
use crate::state::RequestState;
use crate::tracker::Provider;
use crate::transport::Transport;
use crate::transport::incoming::Source;

/// Everything built from the configuration, shared by all requests.
pub(crate) struct Shared {
    pub(crate) providers: Box<[Provider]>,
    pub(crate) sources: Box<[Source]>,
    types: Box<[TypeId]>,
    pub(crate) clock: SharedClock,
    pub(crate) needs_request_info: bool,
    /// Whether any session travels in a header (so its header is captured per request).
    pub(crate) header_sources: bool,
    /// Whether every session travels by value (so the response is finished without waiting).
    pub(crate) by_value_only: bool,
}

impl Shared {
    /// The slot that serves type `type_id`, if this configuration registers it.
    pub(crate) fn index_of(&self, type_id: TypeId) -> Option<usize> {
        self.types.iter().position(|t| *t == type_id)
    }
}

/// The sessions middleware, built by [`SessionsConfig::build`](crate::SessionsConfig::build).
///
/// Add it to an axum `Router` (or any tower stack) with `.layer(...)`. Cloning is cheap.
#[derive(Clone)]
pub struct SessionsLayer {
    shared: Arc<Shared>,
}

impl fmt::Debug for SessionsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionsLayer")
            .field("providers", &self.shared.providers)
            .finish()
    }
}

impl SessionsLayer {
    pub(crate) fn new(providers: Vec<Provider>, clock: SharedClock) -> SessionsLayer {
        let sources = providers
            .iter()
            .map(|p| match &p.transport {
                Transport::Cookie(c) => Source::Cookie(c.name().as_bytes().into()),
                Transport::Header(h) => Source::Header(h.header().clone()),
            })
            .collect();
        let types = providers.iter().map(|p| p.type_id).collect();
        let needs_request_info = providers
            .iter()
            .any(|p| p.tracker.by_id().is_some_and(|b| b.identity.is_some()));
        let header_sources = providers
            .iter()
            .any(|p| matches!(p.transport, Transport::Header(_)));
        let by_value_only = providers.iter().all(|p| p.tracker.by_id().is_none());
        SessionsLayer {
            shared: Arc::new(Shared {
                providers: providers.into_boxed_slice(),
                sources,
                types,
                clock,
                needs_request_info,
                header_sources,
                by_value_only,
            }),
        }
    }
}

impl<S> Layer<S> for SessionsLayer {
    type Service = SessionsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionsService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`SessionsLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct SessionsService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: fmt::Debug> fmt::Debug for SessionsService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionsService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let parent = request.extensions().get::<Sessions>().cloned();
        let state = Arc::new(RequestState::new(&self.shared, &request, parent));
        request.extensions_mut().insert(Sessions {
            state: Arc::clone(&state),
        });
        ResponseFuture {
            inner: self.inner.call(request),
            state: Some(state),
            finishing: None,
        }
    }
}

type Finishing<B> = Pin<Box<dyn Future<Output = Response<B>> + Send>>;

pin_project_lite::pin_project! {
    /// The response future of [`SessionsService`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        inner: F,
        state: Option<Arc<RequestState>>,
        finishing: Option<Finishing<B>>,
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default + Send + 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(finishing) = this.finishing.as_mut() {
            return finishing.as_mut().poll(cx).map(Ok);
        }
        let result = ready!(this.inner.poll(cx));
        let Some(state) = this.state.take() else {
            return Poll::Ready(result);
        };
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                state.abandon();
                return Poll::Ready(Err(error));
            }
        };
        if !state.is_used() {
            state.abandon();
            return Poll::Ready(Ok(response));
        }
        if state.shared.by_value_only {
            let mut response = response;
            let result = state.finish_by_value(&mut response);
            return Poll::Ready(Ok(finished(result, response)));
        }
        let mut finishing: Finishing<B> = Box::pin(finish(state, response));
        let poll = finishing.as_mut().poll(cx);
        if poll.is_pending() {
            *this.finishing = Some(finishing);
        }
        poll.map(Ok)
    }
}

/// Writes the sessions into `response`, or replaces it with the error's status if a session
/// could not be written.
async fn finish<B: Default>(state: Arc<RequestState>, mut response: Response<B>) -> Response<B> {
    let result = state.finish(&mut response).await;
    finished(result, response)
}

/// `response`, or, if its sessions could not be written, an error response in its place.
fn finished<B: Default>(result: Result<(), SessionError>, response: Response<B>) -> Response<B> {
    match result {
        Ok(()) => response,
        Err(error) => {
            tracing::warn!(%error, "a session could not be written; answering with an error");
            let mut failed = Response::new(B::default());
            *failed.status_mut() = error.status();
            failed.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            failed
        }
    }
}
