//! This library's variants: by value (each transformer) and by id (each storage).
//!
//! Library defaults everywhere (cookie `Path=/`, `Max-Age` 7 days, `Secure`, `HttpOnly`,
//! `SameSite=Lax`; by-id ids unsigned, lifetime 7 days, no idle timeout); the two session types
//! are registered as two cookies, `counter` and `large`.
//!
//! # Pending variants
//!
//! The transformers (crypto branch) and the directory, Redis and PostgreSQL storages (storage
//! branch) are being written elsewhere. Their variants are here in their final shape, built
//! without the missing piece and marked [`PENDING`](Protect::PENDING) so that the runner skips
//! them with the reason printed instead of reporting numbers of the wrong configuration.
//! Enabling one once its branch is merged: in its `impl`, put the `TODO(...)` line in place of
//! the line above it, and set `PENDING` to `None`.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use typed_sessions::config::kind;
use typed_sessions::storage::{MemoryStorage, SessionStorage};
use typed_sessions::{SessionBuilder, SessionData, Sessions, SessionsConfig, SessionsLayer};

use super::{BoxError, ServerEnv, Variant};
#[allow(unused_imports)]
// the key is used by the pending transformers' `TODO(crypto-merge)` lines
use crate::app::KEY;
use crate::app::{
    COUNTER_NAME, COUNTER_PATH, Counter, LARGE_NAME, LARGE_PATH, Large, UNTOUCHED_BODY,
    UNTOUCHED_PATH, next_counter, next_large,
};

/// The builder of a cookie carried by value.
type ValueCookie<T> = SessionBuilder<T, kind::CookieByValue>;

/// Why a variant of ours cannot be measured yet.
pub fn pending(variant: Variant) -> Option<&'static str> {
    match variant {
        Variant::TypedValuePlain => Plain::PENDING,
        Variant::TypedValueEncrypt => Encrypted::PENDING,
        Variant::TypedValueSign => Signed::PENDING,
        Variant::TypedValueKtorEncrypt => KtorEncrypted::PENDING,
        Variant::TypedValueKtorSign => KtorSigned::PENDING,
        Variant::TypedIdMemory => Memory::PENDING,
        Variant::TypedIdDirectory => Directory::PENDING,
        Variant::TypedIdRedis => Redis::PENDING,
        Variant::TypedIdPostgres => Postgres::PENDING,
        _ => None,
    }
}

/// The router of one of our variants.
pub async fn router(variant: Variant, env: &ServerEnv) -> Result<Router, BoxError> {
    let layer = match variant {
        Variant::TypedValuePlain => by_value::<Plain>()?,
        Variant::TypedValueEncrypt => by_value::<Encrypted>()?,
        Variant::TypedValueSign => by_value::<Signed>()?,
        Variant::TypedValueKtorEncrypt => by_value::<KtorEncrypted>()?,
        Variant::TypedValueKtorSign => by_value::<KtorSigned>()?,
        Variant::TypedIdMemory => by_id(Memory::open(variant, env).await?)?,
        Variant::TypedIdDirectory => by_id(Directory::open(variant, env).await?)?,
        Variant::TypedIdRedis => by_id(Redis::open(variant, env).await?)?,
        Variant::TypedIdPostgres => by_id(Postgres::open(variant, env).await?)?,
        other => return Err(format!("{other} is not a typed-sessions variant").into()),
    };
    Ok(routes().layer(layer))
}

fn routes() -> Router {
    Router::new()
        .route(COUNTER_PATH, get(counter))
        .route(LARGE_PATH, get(large))
        .route(UNTOUCHED_PATH, get(|| async { UNTOUCHED_BODY }))
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
    /// Why the variant cannot be measured yet (its transformer is on another branch), or `None`.
    const PENDING: Option<&'static str>;

    /// Adds the variant's transformer to a cookie's configuration.
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T>;
}

fn by_value<P: Protect>() -> Result<SessionsLayer, BoxError> {
    Ok(SessionsConfig::new()
        .cookie::<Counter>(COUNTER_NAME, P::apply)
        .cookie::<Large>(LARGE_NAME, P::apply)
        .build()?)
}

/// No transformer.
struct Plain;
impl Protect for Plain {
    const PENDING: Option<&'static str> = None;
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie
    }
}

/// The modern `Encrypt` (XChaCha20-Poly1305, the default AEAD).
struct Encrypted;
impl Protect for Encrypted {
    // TODO(crypto-merge): None
    const PENDING: Option<&'static str> =
        Some("pending: the `Encrypt` transformer is on the crypto branch");
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie
        // TODO(crypto-merge): cookie.transform(typed_sessions::transform::Encrypt::new(typed_sessions::transform::Key::from_bytes(&KEY[..32]).expect("a 32-byte key")))
    }
}

/// The modern `Sign` (HMAC-SHA-256).
struct Signed;
impl Protect for Signed {
    // TODO(crypto-merge): None
    const PENDING: Option<&'static str> =
        Some("pending: the `Sign` transformer is on the crypto branch");
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie
        // TODO(crypto-merge): cookie.transform(typed_sessions::transform::Sign::new(typed_sessions::transform::Key::from_bytes(&KEY[..32]).expect("a 32-byte key")))
    }
}

/// Ktor's `SessionTransportTransformerEncrypt` format (AES-128-CBC, HMAC-SHA-256).
struct KtorEncrypted;
impl Protect for KtorEncrypted {
    // TODO(crypto-merge): None
    const PENDING: Option<&'static str> =
        Some("pending: the `KtorEncrypt` transformer is on the crypto branch");
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie
        // TODO(crypto-merge): cookie.transform(typed_sessions::transform::KtorEncrypt::new(&KEY[..16], &KEY[32..]).expect("valid Ktor keys"))
    }
}

/// Ktor's `SessionTransportTransformerMessageAuthentication` format (HMAC-SHA-256).
struct KtorSigned;
impl Protect for KtorSigned {
    // TODO(crypto-merge): None
    const PENDING: Option<&'static str> =
        Some("pending: the `KtorSign` transformer is on the crypto branch");
    fn apply<T: SessionData>(cookie: ValueCookie<T>) -> ValueCookie<T> {
        cookie
        // TODO(crypto-merge): cookie.transform(typed_sessions::transform::KtorSign::new(&KEY[32..]).expect("a non-empty key"))
    }
}

// ---- by id ----------------------------------------------------------------------------------

/// Where a by-id variant keeps its sessions.
trait Storage {
    /// Why the variant cannot be measured yet (its storage is on another branch), or `None`.
    const PENDING: Option<&'static str>;

    /// Opens the storage (one instance, shared by both session types).
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError>;
}

fn by_id(storage: Arc<dyn SessionStorage>) -> Result<SessionsLayer, BoxError> {
    Ok(SessionsConfig::new()
        .with_shared_storage::<Counter, kind::CookieById>(COUNTER_NAME, storage.clone(), |c| c)
        .with_shared_storage::<Large, kind::CookieById>(LARGE_NAME, storage, |c| c)
        .build()?)
}

/// `MemoryStorage`.
struct Memory;
impl Storage for Memory {
    const PENDING: Option<&'static str> = None;
    async fn open(_: Variant, _: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        Ok(Arc::new(MemoryStorage::new()))
    }
}

/// Directory storage (one file per session).
struct Directory;
impl Storage for Directory {
    // TODO(storage-merge): None
    const PENDING: Option<&'static str> =
        Some("pending: directory storage is on the storage branch");
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        let _dir = env.data_dir(variant)?;
        Ok(Arc::new(MemoryStorage::new()))
        // TODO(storage-merge): Ok(Arc::new(typed_sessions::storage::DirectoryStorage::open(_dir)?))
    }
}

/// Redis storage.
struct Redis;
impl Storage for Redis {
    // TODO(storage-merge): None
    const PENDING: Option<&'static str> = Some("pending: Redis storage is on the storage branch");
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        let _url = env.redis(variant)?;
        Ok(Arc::new(MemoryStorage::new()))
        // TODO(storage-merge): Ok(Arc::new(typed_sessions::storage::RedisStorage::connect(_url).await?))
    }
}

/// PostgreSQL storage.
struct Postgres;
impl Storage for Postgres {
    // TODO(storage-merge): None
    const PENDING: Option<&'static str> =
        Some("pending: PostgreSQL storage is on the storage branch");
    async fn open(variant: Variant, env: &ServerEnv) -> Result<Arc<dyn SessionStorage>, BoxError> {
        let _url = env.postgres(variant)?;
        Ok(Arc::new(MemoryStorage::new()))
        // TODO(storage-merge): Ok(Arc::new(typed_sessions::storage::PostgresStorage::connect(_url).await?))
    }
}
