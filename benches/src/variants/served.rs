//! An axum application as the benchmark serves it: a bare [`Router`] (the baseline, and the
//! peers that work through extractors), or a `Router` wrapped whole by a sessions middleware.
//!
//! A middleware mounted with `Router::layer` is applied to every route one by one, and axum
//! then boxes and clones the layered route's service and boxes its future on every request.
//! Wrapping the whole router (`layer.layer(router.with_state(()))`) costs none of that, so
//! every middleware variant, ours and tower-sessions', is served that way, and the baseline's
//! router is the same routes without it.
//!
//! [`AxumApp`] only carries the application from the variant to the server or the in-process
//! driver, which take it apart once with [`with_service!`](crate::with_service) and then serve
//! the concrete service: a request pays no dispatch, and nothing is boxed that the service
//! itself does not box.

use axum::Router;
use tower::Layer;

/// What `layer` makes of a router.
type Wrapped<L> = <L as Layer<Router>>::Service;

/// tower-sessions 0.15's middleware with its memory store, around a router.
pub type TowerSessionsMemory =
    Wrapped<tower_sessions::SessionManagerLayer<tower_sessions::MemoryStore>>;
/// tower-sessions 0.14's middleware with its Redis store, around a router.
pub type TowerSessionsRedis = Wrapped<
    tower_sessions_014::SessionManagerLayer<
        tower_sessions_redis_store::RedisStore<tower_sessions_redis_store::fred::prelude::Pool>,
    >,
>;
/// tower-sessions 0.14's middleware with its PostgreSQL store, around a router.
pub type TowerSessionsPostgres =
    Wrapped<tower_sessions_014::SessionManagerLayer<tower_sessions_sqlx_store::PostgresStore>>;

/// One variant's application.
pub enum AxumApp {
    /// Routes with no middleware.
    Router(Router),
    /// Routes wrapped by this library's [`SessionsLayer`](typed_sessions::SessionsLayer).
    Typed(typed_sessions::SessionsService<Router>),
    /// Routes wrapped by the least a session middleware does ([`super::handle_floor`]).
    HandleFloor(super::handle_floor::HandleService<Router>),
    /// Routes wrapped by tower-sessions 0.15 (memory store).
    TowerSessionsMemory(TowerSessionsMemory),
    /// Routes wrapped by tower-sessions 0.14 (Redis store).
    TowerSessionsRedis(TowerSessionsRedis),
    /// Routes wrapped by tower-sessions 0.14 (PostgreSQL store).
    TowerSessionsPostgres(TowerSessionsPostgres),
}

impl AxumApp {
    /// `routes` as they are (after `with_state`, so each handler is made a route once, as
    /// `axum::serve` does for a bare router on each connection).
    pub fn bare(routes: Router) -> AxumApp {
        AxumApp::Router(routes.with_state(()))
    }

    /// `routes` wrapped by `layer` (after `with_state`, as [`bare`](Self::bare)).
    pub fn wrapped<L>(layer: L, routes: Router, variant: fn(L::Service) -> AxumApp) -> AxumApp
    where
        L: Layer<Router>,
    {
        variant(layer.layer(routes.with_state(())))
    }
}

/// `with_service!(app, service => expression)`: evaluates `expression` with `service` bound to
/// the concrete service inside the [`AxumApp`] `app` (each arm is compiled for its own type).
#[macro_export]
macro_rules! with_service {
    ($app:expr, $service:ident => $body:expr) => {
        match $app {
            $crate::variants::AxumApp::Router($service) => $body,
            $crate::variants::AxumApp::Typed($service) => $body,
            $crate::variants::AxumApp::HandleFloor($service) => $body,
            $crate::variants::AxumApp::TowerSessionsMemory($service) => $body,
            $crate::variants::AxumApp::TowerSessionsRedis($service) => $body,
            $crate::variants::AxumApp::TowerSessionsPostgres($service) => $body,
        }
    };
}
