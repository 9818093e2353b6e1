//! The tower [`Layer`] and [`Service`] that give each request its [`Sessions`].
//!
//! Per request the service scans the headers once for the registered names, puts a
//! [`Sessions`] handle into the request extensions, and calls the inner service. When the
//! response comes back: if no session was touched it is passed through as is (no allocation,
//! no lock, no header); otherwise each changed session is written once, `Set-Cookie` (or the
//! session header) is added, with `Vary`, and a `Cache-Control` that keeps shared caches from
//! storing it (`no-store`, or `private` added to a policy of the application's that would let
//! them), so a shared cache never serves one user's session to another.
//!
//! A layer can wrap a whole router or one nested router. Nested layers stack: a handler sees
//! the sessions of every layer around it, and the innermost layer serves a type when two
//! register it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::pipeline::Pipelines;
use crate::sessions::Sessions;
use crate::state::RequestState;

/// The sessions middleware, built by [`SessionsConfig::build`](crate::SessionsConfig::build).
///
/// Add it to an axum `Router` (or any tower stack) with `.layer(...)`. Cloning is cheap.
///
/// `Router::layer` wraps each route separately, and axum then clones the layered route's
/// boxed service and boxes its future on every request. Wrapping the whole router with
/// [`Layer::layer`] does neither. Give the router its state first (`with_state`): a router
/// without one turns each handler into a route again on every request.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::{Router, routing::get};
/// use tower::{Layer as _, ServiceExt as _};
/// use typed_sessions::{Encrypt, Key, Sessions, SessionsConfig};
///
/// async fn visits(sessions: Sessions) -> Result<String, typed_sessions::SessionError> {
///     let visits = sessions.get::<u64>().await?.unwrap_or(0) + 1;
///     sessions.set(visits)?;
///     Ok(visits.to_string())
/// }
///
/// let sessions = SessionsConfig::new()
///     .cookie::<u64>("visits", |cookie| cookie.transform(Encrypt::new(Key::generate())))
///     .build()?;
/// let app = sessions.layer(Router::new().route("/", get(visits)).with_state(()));
/// // Served with `axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(app))`.
/// # let request = http::Request::get("/").body(axum::body::Body::empty())?;
/// # let response = tokio::runtime::Runtime::new()?.block_on(app.oneshot(request))?;
/// # assert!(response.headers().contains_key(http::header::SET_COOKIE));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SessionsLayer {
    pipelines: Arc<Pipelines>,
}

impl fmt::Debug for SessionsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionsLayer")
            .field("sessions", &self.pipelines.as_slice())
            .finish()
    }
}

impl SessionsLayer {
    pub(crate) fn new(pipelines: Pipelines) -> SessionsLayer {
        SessionsLayer {
            pipelines: Arc::new(pipelines),
        }
    }

    /// The compiled configuration (for the core's unit tests).
    #[cfg(test)]
    pub(crate) fn pipelines(&self) -> &Arc<Pipelines> {
        &self.pipelines
    }
}

impl<S> Layer<S> for SessionsLayer {
    type Service = SessionsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionsService {
            inner,
            pipelines: Arc::clone(&self.pipelines),
        }
    }
}

/// The service [`SessionsLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct SessionsService<S> {
    inner: S,
    pipelines: Arc<Pipelines>,
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
        let parent = request
            .extensions()
            .get::<Sessions>()
            .map(|outer| Arc::clone(&outer.state));
        let state = Arc::new(RequestState::new(&self.pipelines, &request, parent));
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

/// The ready service out of `service`, leaving a clone in its place: a service is ready only
/// after `poll_ready`, so a middleware that moves its inner service into a future keeps the
/// one that was polled and leaves the clone for the next call.
#[cfg(feature = "axum")]
pub(crate) fn take_ready<S: Clone>(service: &mut S) -> S {
    let clone = service.clone();
    std::mem::replace(service, clone)
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
                state.commit();
                return Poll::Ready(Err(error));
            }
        };
        if !state.commit() {
            // No session was touched: the response passes through as it is.
            return Poll::Ready(Ok(response));
        }
        if state.pipelines.by_value_only {
            return Poll::Ready(Ok(state.write_out_by_value(response)));
        }
        let mut finishing: Finishing<B> = Box::pin(state.write_out(response));
        let poll = finishing.as_mut().poll(cx);
        if poll.is_pending() {
            *this.finishing = Some(finishing);
        }
        poll.map(Ok)
    }
}
