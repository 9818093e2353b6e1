//! This library's variants: by value (each transformer) and by id (each storage).
//!
//! Library defaults everywhere (cookie `Path=/`, `Max-Age` 7 days, `Secure`, `HttpOnly`,
//! `SameSite=Lax`; by-id ids unsigned, lifetime 7 days, no idle timeout); the two session types
//! are registered as two cookies, `counter` and `large`.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use typed_sessions::SessionId;
use typed_sessions::config::kind;
use typed_sessions::storage::{MemoryStorage, Record, SessionStorage};
use typed_sessions::{SessionBuilder, SessionData, Sessions, SessionsConfig, SessionsLayer};

use super::{AxumApp, BoxError, ServerEnv, Variant};
use crate::app::KEY;
use crate::app::{
    COUNTER_NAME, COUNTER_PATH, Counter, LARGE_NAME, LARGE_PATH, Large, UNTOUCHED_BODY,
    UNTOUCHED_PATH, next_counter, next_large,
};

/// The builder of a cookie carried by value.
type ValueCookie<T> = SessionBuilder<T, kind::CookieByValue>;

/// The application of one of our variants: its routes wrapped whole by the sessions layer.
pub async fn app(variant: Variant, env: &ServerEnv) -> Result<AxumApp, BoxError> {
    let layer = match variant {
        Variant::TypedValuePlain => by_value::<Plain>()?,
        Variant::TypedValueEncrypt => by_value::<Encrypted>()?,
        Variant::TypedValueSign => by_value::<Signed>()?,
        Variant::TypedValueKtorEncrypt => by_value::<KtorEncrypted>()?,
        Variant::TypedValueKtorSign => by_value::<KtorSigned>()?,
        Variant::TypedIdMemory | Variant::TypedIdMemory1M => {
            by_id(Memory::open(variant, env).await?)?
        }
        Variant::TypedIdDirectory => by_id(Directory::open(variant, env).await?)?,
        Variant::TypedIdRedis | Variant::TypedIdRedisCached => {
            by_id(Redis::open(variant, env).await?)?
        }
        Variant::TypedIdPostgres | Variant::TypedIdPostgresRelaxed => {
            by_id(Postgres::open(variant, env).await?)?
        }
        Variant::TypedIdMemoryPrincipal | Variant::TypedIdMemoryModify => {
            by_id(Memory::open(variant, env).await?)?
        }
        Variant::TypedIdRedisPrincipal | Variant::TypedIdRedisModify => {
            by_id(Redis::open(variant, env).await?)?
        }
        Variant::TypedIdRedisUser => by_id_with_user(Redis::open(variant, env).await?)?,
        other => return Err(format!("{other} is not a typed-sessions variant").into()),
    };
    let routes = match variant {
        Variant::TypedIdMemoryPrincipal | Variant::TypedIdRedisPrincipal => {
            routes(get(counter_with_principal))
        }
        Variant::TypedIdMemoryModify | Variant::TypedIdRedisModify => {
            routes(get(counter_by_modify))
        }
        Variant::TypedIdRedisUser => routes(get(counter_with_user_in_value)),
        _ => routes(get(counter)),
    };
    Ok(AxumApp::wrapped(layer, routes, AxumApp::Typed))
}

fn routes(counter: axum::routing::MethodRouter) -> Router {
    Router::new()
        .route(COUNTER_PATH, counter)
        .route(LARGE_PATH, get(large))
        .route(UNTOUCHED_PATH, get(|| async { UNTOUCHED_BODY }))
}

/// `/counter` where a new session is a login: filed under one of 1 000 users.
async fn counter_with_principal(sessions: Sessions) -> Result<String, Response> {
    static USERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let previous = sessions
        .get::<Counter>()
        .await
        .map_err(IntoResponse::into_response)?;
    let login = previous.is_none();
    let next = next_counter(previous);
    let body = next.count.to_string();
    sessions.set(next).map_err(IntoResponse::into_response)?;
    if login {
        let user = USERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1000;
        sessions
            .set_principal::<Counter>(Some(&format!("user{user}")))
            .map_err(IntoResponse::into_response)?;
    }
    Ok(body)
}

/// A logged-in counter that keeps its user itself, as an application does without the
/// principal index.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Login {
    count: u64,
    user: String,
}

/// [`counter_with_principal`] without the principal index: a new session is a login whose
/// user (one of 1 000) is kept in the session value.
async fn counter_with_user_in_value(sessions: Sessions) -> Result<String, Response> {
    static USERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let previous = sessions
        .get::<Login>()
        .await
        .map_err(IntoResponse::into_response)?;
    let next = match previous {
        Some(login) => Login {
            count: login.count + 1,
            user: login.user,
        },
        None => {
            let user = USERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 1000;
            Login {
                count: 1,
                user: format!("user{user}"),
            }
        }
    };
    let body = next.count.to_string();
    sessions.set(next).map_err(IntoResponse::into_response)?;
    Ok(body)
}

/// `/counter` through a conditional update (a new session is set as usual).
async fn counter_by_modify(sessions: Sessions) -> Result<String, Response> {
    let updated = sessions
        .modify(|c: &Counter| next_counter(Some(c.clone())))
        .await
        .map_err(IntoResponse::into_response)?;
    let next = match updated {
        Some(next) => next,
        None => {
            let first = next_counter(None);
            sessions
                .set(first.clone())
                .map_err(IntoResponse::into_response)?;
            first
        }
    };
    Ok(next.count.to_string())
}

async fn counter(sessions: Sessions) -> Result<String, Response> {
    let previous = sessions
        .get::<Counter>()
        .await
        .map_err(IntoResponse::into_response)?;
    let next = next_counter(previous);
    let body = next.count.to_string();
    sessions.set(next).map_err(IntoResponse::into_response)?;
    Ok(body)
}

async fn large(sessions: Sessions) -> Result<String, Response> {
    let previous = sessions
        .get::<Large>()
        .await
        .map_err(IntoResponse::into_response)?;
    let next = next_large(previous).map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the 2 KiB string changed",
        )
            .into_response()
    })?;
    let body = next.count.to_string();
    sessions.set(next).map_err(IntoResponse::into_response)?;
    Ok(body)
}

// ---- by value -------------------------------------------------------------------------------

/// How a by-value variant protects its cookies.
trait Protect {
    /// Adds the variant's transformer to a cookie's configuration.
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T>;
}

fn by_value<P: Protect>() -> Result<SessionsLayer, BoxError> {
    Ok(SessionsConfig::new()
        .cookie::<Counter>(COUNTER_NAME, P::apply)
        .cookie::<Large>(LARGE_NAME, P::apply)
        .build()?)
}

/// No transformer (said explicitly, as `build` requires).
struct Plain;
impl Protect for Plain {
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie.unprotected()
    }
}

/// The modern `Encrypt` (AES-256-GCM, the default AEAD).
struct Encrypted;
impl Protect for Encrypted {
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie.transform(typed_sessions::transform::Encrypt::new(
            typed_sessions::transform::Key::from_bytes(&KEY[..32]).expect("a 32-byte key"),
        ))
    }
}

/// The modern `Sign` (HMAC-SHA-256).
struct Signed;
impl Protect for Signed {
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie.transform(typed_sessions::transform::Sign::new(
            typed_sessions::transform::Key::from_bytes(&KEY[..32]).expect("a 32-byte key"),
        ))
    }
}

/// Ktor's `SessionTransportTransformerEncrypt` format (AES-128-CBC, HMAC-SHA-256).
struct KtorEncrypted;
impl Protect for KtorEncrypted {
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie.transform(
            typed_sessions::transform::KtorEncrypt::new(&KEY[..16], &KEY[32..])
                .expect("valid Ktor keys"),
        )
    }
}

/// Ktor's `SessionTransportTransformerMessageAuthentication` format (HMAC-SHA-256).
struct KtorSigned;
impl Protect for KtorSigned {
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie.transform(
            typed_sessions::transform::KtorSign::new(&KEY[32..]).expect("a non-empty key"),
        )
    }
}

// ---- by id ----------------------------------------------------------------------------------

/// Where a by-id variant keeps its sessions.
trait Storage {
    /// Opens the storage (one instance, shared by both session types).
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError>;
}

fn by_id(storage: Arc<dyn SessionStorage>) -> Result<SessionsLayer, BoxError> {
    Ok(SessionsConfig::new()
        .cookie_with_storage::<Counter, _>(COUNTER_NAME, storage.clone(), |c| c)
        .cookie_with_storage::<Large, _>(LARGE_NAME, storage, |c| c)
        .build()?)
}

/// [`by_id`] with [`Login`] as the counter session.
fn by_id_with_user(storage: Arc<dyn SessionStorage>) -> Result<SessionsLayer, BoxError> {
    Ok(SessionsConfig::new()
        .cookie_with_storage::<Login, _>(COUNTER_NAME, storage.clone(), |c| c)
        .cookie_with_storage::<Large, _>(LARGE_NAME, storage, |c| c)
        .build()?)
}

/// `MemoryStorage`, filled with 1 000 (or, for [`Variant::TypedIdMemory1M`], 1 000 000) other
/// live sessions before the server starts, so that the two runs differ only in the storage's
/// size.
struct Memory;
impl Storage for Memory {
    async fn open(variant: Variant, _: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        let others = match variant {
            Variant::TypedIdMemory1M => 1_000_000,
            _ => 1_000,
        };
        // Room for the others and for what the scenarios create (the fresh scenario makes a
        // session per request; the bound evicts the oldest once it is reached).
        let storage = MemoryStorage::with_capacity(others + 100_000);
        let now = std::time::SystemTime::now();
        let record = Record::new(
            r#"{"count":1}"#,
            now,
            now + std::time::Duration::from_secs(7 * 24 * 3600),
        );
        let counters = typed_sessions::storage::Namespace::new(COUNTER_NAME);
        for _ in 0..others {
            let id = SessionId::generate();
            storage.create(counters.key(&id), &record, now).await?;
        }
        Ok(Arc::new(storage))
    }
}

/// Directory storage (one file per session).
struct Directory;
impl Storage for Directory {
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        let dir = env.data_dir(variant)?;
        Ok(Arc::new(typed_sessions::storage::DirectoryStorage::open(
            dir,
        )?))
    }
}

/// Redis storage (with its client-side cache for [`Variant::TypedIdRedisCached`]).
struct Redis;
impl Storage for Redis {
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        let url = env.redis(variant)?;
        let mut builder = typed_sessions::storage::RedisStorage::builder();
        if variant == Variant::TypedIdRedisCached {
            builder =
                builder.client_side_cache(typed_sessions::storage::redis::ClientSideCache::new());
        }
        Ok(Arc::new(builder.connect(url).await?))
    }
}

/// PostgreSQL storage.
struct Postgres;
impl Storage for Postgres {
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        let url = env.postgres(variant)?;
        let durability = match variant {
            Variant::TypedIdPostgresRelaxed => typed_sessions::storage::sql::Durability::Relaxed,
            _ => typed_sessions::storage::sql::Durability::Full,
        };
        Ok(Arc::new(
            typed_sessions::storage::PostgresStorage::builder()
                .durability(durability)
                .connect(url)
                .await?,
        ))
    }
}
