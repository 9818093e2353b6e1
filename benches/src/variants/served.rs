//! An axum application as the benchmark serves it: a bare [`Router`] (the baseline, and the
//! peers that work through extractors), or a `Router` wrapped whole by a sessions middleware.
//!
//! A middleware mounted with `Router::layer` is applied to every route one by one, and axum
//! then boxes and clones the layered route's service and boxes its future on every request.
//! Wrapping the whole router (`layer.layer(router.with_state(()))`) costs none of that, so
//! every middleware variant, ours and tower-sessions', is served that way, and the baseline's
//! router is the same routes without it. One enum keeps every variant's service and future
//! unboxed: a request pays one `match`, the baseline included.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::routing::future::RouteFuture;
use http::{Request, Response};
use tower::{Layer, Service};

/// What `layer` makes of a router.
type Wrapped<L> = <L as Layer<Router>>::Service;
/// The response future of `S`.
type FutureOf<S> = <S as Service<Request<Body>>>::Future;

/// tower-sessions 0.15's middleware with its memory store, around a router.
type TowerSessionsMemory =
    Wrapped<tower_sessions::SessionManagerLayer<tower_sessions::MemoryStore>>;
/// tower-sessions 0.14's middleware with its Redis store, around a router.
type TowerSessionsRedis = Wrapped<
    tower_sessions_014::SessionManagerLayer<
        tower_sessions_redis_store::RedisStore<tower_sessions_redis_store::fred::prelude::Pool>,
    >,
>;
/// tower-sessions 0.14's middleware with its PostgreSQL store, around a router.
type TowerSessionsPostgres =
    Wrapped<tower_sessions_014::SessionManagerLayer<tower_sessions_sqlx_store::PostgresStore>>;

/// One variant's application.
#[derive(Clone)]
pub enum AxumApp {
    /// Routes with no middleware.
    Router(Router),
    /// Routes wrapped by this library's [`SessionsLayer`](typed_sessions::SessionsLayer).
    Typed(typed_sessions::SessionsService<Router>),
    /// Routes wrapped by tower-sessions 0.15 (memory store).
    TowerSessionsMemory(TowerSessionsMemory),
    /// Routes wrapped by tower-sessions 0.14 (Redis store).
    TowerSessionsRedis(TowerSessionsRedis),
    /// Routes wrapped by tower-sessions 0.14 (PostgreSQL store).
    TowerSessionsPostgres(TowerSessionsPostgres),
}

impl AxumApp {
    /// `routes` as they are.
    pub fn bare(routes: Router) -> AxumApp {
        AxumApp::Router(routes.with_state(()))
    }

    /// `routes` wrapped by `layer` (after `with_state`, so each handler is made a route once,
    /// as `axum::serve` does for a bare router).
    pub fn wrapped<L>(layer: L, routes: Router, variant: fn(L::Service) -> AxumApp) -> AxumApp
    where
        L: Layer<Router>,
    {
        variant(layer.layer(routes.with_state(())))
    }
}

pin_project_lite::pin_project! {
    /// The response future of an [`AxumApp`].
    #[project = AppFutureProj]
    pub enum AppFuture {
        /// A bare router's.
        Router { #[pin] future: RouteFuture<Infallible> },
        /// Ours.
        Typed {
            #[pin]
            future: typed_sessions::ResponseFuture<RouteFuture<Infallible>, Body>,
        },
        /// tower-sessions 0.15's.
        TowerSessionsMemory { #[pin] future: FutureOf<TowerSessionsMemory> },
        /// tower-sessions 0.14's, Redis.
        TowerSessionsRedis { #[pin] future: FutureOf<TowerSessionsRedis> },
        /// tower-sessions 0.14's, PostgreSQL.
        TowerSessionsPostgres { #[pin] future: FutureOf<TowerSessionsPostgres> },
    }
}

impl Future for AppFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AppFutureProj::Router { future } => future.poll(cx),
            AppFutureProj::Typed { future } => future.poll(cx),
            AppFutureProj::TowerSessionsMemory { future } => future.poll(cx),
            AppFutureProj::TowerSessionsRedis { future } => future.poll(cx),
            AppFutureProj::TowerSessionsPostgres { future } => future.poll(cx),
        }
    }
}

impl Service<Request<Body>> for AxumApp {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = AppFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        match self {
            AxumApp::Router(s) => Service::<Request<Body>>::poll_ready(s, cx),
            AxumApp::Typed(s) => Service::<Request<Body>>::poll_ready(s, cx),
            AxumApp::TowerSessionsMemory(s) => Service::<Request<Body>>::poll_ready(s, cx),
            AxumApp::TowerSessionsRedis(s) => Service::<Request<Body>>::poll_ready(s, cx),
            AxumApp::TowerSessionsPostgres(s) => Service::<Request<Body>>::poll_ready(s, cx),
        }
    }

    fn call(&mut self, request: Request<Body>) -> AppFuture {
        match self {
            AxumApp::Router(s) => AppFuture::Router {
                future: s.call(request),
            },
            AxumApp::Typed(s) => AppFuture::Typed {
                future: s.call(request),
            },
            AxumApp::TowerSessionsMemory(s) => AppFuture::TowerSessionsMemory {
                future: s.call(request),
            },
            AxumApp::TowerSessionsRedis(s) => AppFuture::TowerSessionsRedis {
                future: s.call(request),
            },
            AxumApp::TowerSessionsPostgres(s) => AppFuture::TowerSessionsPostgres {
                future: s.call(request),
            },
        }
    }
}
