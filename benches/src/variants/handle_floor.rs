//! The floor of a session middleware on a request that does not use its session: a layer that
//! gives each request a handle through its extensions (an `Arc` the handler could reach, as
//! every session middleware for axum does) and looks at it when the response comes back, and
//! does nothing else: no header scan, no session, no response header.
//!
//! The `untouched` scenario measures what a middleware costs on a route that never reads its
//! session; this variant is the least any middleware that hands handlers their sessions through
//! the request can cost there.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use tower::{Layer, Service};

/// What a handler could reach through the request: whether it used its session. No handler
/// of this variant does (the routes are the baseline's), as on an `untouched` request, so the
/// check on the response always finds it unused; the check is what the floor measures.
#[derive(Clone, Default)]
pub struct Handle(Arc<AtomicBool>);

/// The layer.
#[derive(Clone, Copy, Default)]
pub struct HandleLayer;

impl<S> Layer<S> for HandleLayer {
    type Service = HandleService<S>;

    fn layer(&self, inner: S) -> HandleService<S> {
        HandleService { inner }
    }
}

/// The service around the router.
#[derive(Clone)]
pub struct HandleService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HandleService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = HandleFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let handle = Handle::default();
        request.extensions_mut().insert(handle.clone());
        HandleFuture {
            inner: self.inner.call(request),
            handle,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future: the inner one, then a look at the handle.
    pub struct HandleFuture<F> {
        #[pin]
        inner: F,
        handle: Handle,
    }
}

impl<F, B, E> Future for HandleFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.inner.poll(cx));
        if this.handle.0.load(Ordering::Relaxed)
            && let Ok(response) = &mut result
        {
            // A session middleware would write the session here.
            response.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
        }
        Poll::Ready(result)
    }
}
