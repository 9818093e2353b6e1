//! tower-sessions: 0.15 with its bundled `MemoryStore`; 0.14 with the Redis (fred) and sqlx
//! PostgreSQL stores, whose newest releases are built on tower-sessions-core 0.14.
//!
//! Each library's defaults (`SessionManagerLayer::new(store)`); the session is its dynamic
//! map, holding the same `Counter` / `Large` values under the keys `counter` / `large`, the
//! shape of tower-sessions' own counter example.

use super::{AxumApp, BoxError};

/// The handlers and routes, once per tower-sessions version.
macro_rules! routes {
    ($ts:ident) => {
        use axum::Router;
        use axum::http::StatusCode;
        use axum::routing::get;
        use $ts::Session;

        use crate::app::{
            COUNTER_NAME, COUNTER_PATH, Counter, LARGE_NAME, LARGE_PATH, Large, UNTOUCHED_BODY,
            UNTOUCHED_PATH, next_counter, next_large,
        };

        fn internal(error: impl std::fmt::Display) -> (StatusCode, String) {
            (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
        }

        async fn counter(session: Session) -> Result<String, (StatusCode, String)> {
            let previous: Option<Counter> = session.get(COUNTER_NAME).await.map_err(internal)?;
            let next = next_counter(previous);
            session
                .insert(COUNTER_NAME, &next)
                .await
                .map_err(internal)?;
            Ok(next.count.to_string())
        }

        async fn large(session: Session) -> Result<String, (StatusCode, String)> {
            let previous: Option<Large> = session.get(LARGE_NAME).await.map_err(internal)?;
            let next = next_large(previous).map_err(|_| internal("the 2 KiB string changed"))?;
            session.insert(LARGE_NAME, &next).await.map_err(internal)?;
            Ok(next.count.to_string())
        }

        async fn untouched() -> &'static str {
            UNTOUCHED_BODY
        }

        pub(super) fn routes() -> Router {
            Router::new()
                .route(COUNTER_PATH, get(counter))
                .route(LARGE_PATH, get(large))
                .route(UNTOUCHED_PATH, get(untouched))
        }
    };
}

mod v015 {
    routes!(tower_sessions);
}

mod v014 {
    routes!(tower_sessions_014);
}

/// tower-sessions 0.15 with `MemoryStore::default()`.
pub fn memory_app() -> AxumApp {
    let layer = tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default());
    AxumApp::wrapped(layer, v015::routes(), AxumApp::TowerSessionsMemory)
}

/// tower-sessions 0.14 with `tower-sessions-redis-store`: a fred `Pool` of 6 clients, as in
/// the store's README.
pub async fn redis_app(url: &str) -> Result<AxumApp, BoxError> {
    use tower_sessions_redis_store::RedisStore;
    use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};

    let pool = Pool::new(Config::from_url(url)?, None, None, None, 6)?;
    // The connection task runs for the life of the server.
    let _connection = pool.connect();
    pool.wait_for_connect().await?;
    let layer = tower_sessions_014::SessionManagerLayer::new(RedisStore::new(pool));
    Ok(AxumApp::wrapped(
        layer,
        v014::routes(),
        AxumApp::TowerSessionsRedis,
    ))
}

/// tower-sessions 0.14 with `tower-sessions-sqlx-store`'s `PostgresStore` on a default sqlx
/// pool, after `migrate()`, as in the store's example.
pub async fn postgres_app(url: &str) -> Result<AxumApp, BoxError> {
    use tower_sessions_sqlx_store::PostgresStore;
    use tower_sessions_sqlx_store::sqlx::PgPool;

    let pool = PgPool::connect(url).await?;
    let store = PostgresStore::new(pool);
    store.migrate().await?;
    let layer = tower_sessions_014::SessionManagerLayer::new(store);
    Ok(AxumApp::wrapped(
        layer,
        v014::routes(),
        AxumApp::TowerSessionsPostgres,
    ))
}
