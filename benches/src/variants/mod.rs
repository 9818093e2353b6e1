//! The variants: one server configuration each (the baseline, this library's trackers and
//! transformers, and the peers), all serving the same [`app`](crate::app).
//!
//! Each variant runs in its own `bench-server` process so its CPU time can be read from
//! `/proc`.

pub mod actix;
pub mod axum_extra;
pub mod baseline;
pub mod handle_floor;
pub mod redis_floor;
pub mod served;
pub mod session_floor;
pub mod tower_sessions;
pub mod typed;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::scenario::Scenario;
pub use served::AxumApp;

/// A boxed error for server start-up.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One server configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// axum without sessions.
    Baseline,
    /// axum without sessions, wrapped by a middleware that only gives each request a handle
    /// through its extensions: the floor of a session middleware on an `untouched` request.
    FloorHandle,
    /// axum without sessions, `/counter` making one Redis `SET` round trip: the floor of any
    /// Redis session that changes on every request.
    FloorRedisSet,
    /// axum without sessions, `/counter` keeping an encrypted session in its cookie by hand:
    /// the floor of [`Variant::TypedValueEncrypt`].
    FloorEncrypt,
    /// axum without sessions, `/counter` keeping a session in a map under an id cookie by hand:
    /// the floor of [`Variant::TypedIdMemory`].
    FloorMemory,
    /// Ours, by value, no transformer (not a production setting: the floor of the by-value path).
    TypedValuePlain,
    /// Ours, by value, modern encryption (`Encrypt`, AES-256-GCM, the default AEAD).
    TypedValueEncrypt,
    /// Ours, by value, modern signing (`Sign`, HMAC-SHA-256).
    TypedValueSign,
    /// Ours, by value, Ktor-compatible encryption (`KtorEncrypt`, AES-CBC + HMAC-SHA-256).
    TypedValueKtorEncrypt,
    /// Ours, by value, Ktor-compatible signing (`KtorSign`, HMAC-SHA-256).
    TypedValueKtorSign,
    /// Ours, by id, `MemoryStorage`.
    TypedIdMemory,
    /// [`Variant::TypedIdMemory`] with 1 000 000 other live sessions in the storage.
    TypedIdMemory1M,
    /// Ours, by id, directory storage.
    TypedIdDirectory,
    /// Ours, by id, Redis storage.
    TypedIdRedis,
    /// Ours, by id, Redis storage with its client-side cache.
    TypedIdRedisCached,
    /// Ours, by id, PostgreSQL storage.
    TypedIdPostgres,
    /// [`Variant::TypedIdPostgres`] with relaxed durability (`synchronous_commit=off`).
    TypedIdPostgresRelaxed,
    /// [`Variant::TypedIdMemory`] with a principal: a new session is a login filed in the
    /// principal index.
    TypedIdMemoryPrincipal,
    /// [`Variant::TypedIdRedis`] with a principal.
    TypedIdRedisPrincipal,
    /// [`Variant::TypedIdRedisPrincipal`]'s logins without the principal index: the user is
    /// kept in the session value.
    TypedIdRedisUser,
    /// [`Variant::TypedIdMemory`] counting with a conditional update (`modify`) instead of
    /// `get` and `set`.
    TypedIdMemoryModify,
    /// [`Variant::TypedIdRedis`] counting with a conditional update.
    TypedIdRedisModify,
    /// tower-sessions 0.15, `MemoryStore`.
    TowerSessionsMemory,
    /// tower-sessions 0.14, `tower-sessions-redis-store` 0.16 (fred).
    TowerSessionsRedis,
    /// tower-sessions 0.14, `tower-sessions-sqlx-store` 0.15 `PostgresStore`.
    TowerSessionsPostgres,
    /// actix-session 0.11, `CookieSessionStore` (default `Private` content security).
    ActixSessionCookie,
    /// actix-session 0.11, `RedisSessionStore`.
    ActixSessionRedis,
    /// axum-extra 0.12 `SignedCookieJar`.
    AxumExtraSigned,
    /// axum-extra 0.12 `PrivateCookieJar`.
    AxumExtraPrivate,
}

/// Who wrote a variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// The no-session reference.
    Baseline,
    /// typed-sessions.
    Ours,
    /// Another library.
    Peer,
}

/// The web framework a variant's server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    /// axum 0.8 on a tokio current-thread runtime.
    Axum,
    /// actix-web 4 with one worker.
    Actix,
}

/// A storage service a variant needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A `redis-server`.
    Redis,
    /// A PostgreSQL server.
    Postgres,
}

/// Where a server finds its storage services.
#[derive(Clone, Debug, Default)]
pub struct ServerEnv {
    /// `redis://127.0.0.1:PORT`.
    pub redis_url: Option<String>,
    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub postgres_url: Option<String>,
    /// A directory the variant may use (directory storage).
    pub data_dir: Option<PathBuf>,
}

impl ServerEnv {
    /// The Redis URL, or an error naming the variant that needs it.
    pub fn redis(&self, variant: Variant) -> Result<&str, BoxError> {
        self.redis_url
            .as_deref()
            .ok_or_else(|| format!("{variant} needs --redis URL").into())
    }

    /// The PostgreSQL URL, or an error naming the variant that needs it.
    pub fn postgres(&self, variant: Variant) -> Result<&str, BoxError> {
        self.postgres_url
            .as_deref()
            .ok_or_else(|| format!("{variant} needs --postgres URL").into())
    }

    /// The data directory, or an error naming the variant that needs it.
    pub fn data_dir(&self, variant: Variant) -> Result<&std::path::Path, BoxError> {
        self.data_dir
            .as_deref()
            .ok_or_else(|| format!("{variant} needs --data-dir DIR").into())
    }
}

impl Variant {
    /// Every variant, in report order.
    pub const ALL: [Variant; 29] = [
        Variant::Baseline,
        Variant::FloorHandle,
        Variant::FloorRedisSet,
        Variant::FloorEncrypt,
        Variant::FloorMemory,
        Variant::TypedValuePlain,
        Variant::TypedValueEncrypt,
        Variant::TypedValueSign,
        Variant::TypedValueKtorEncrypt,
        Variant::TypedValueKtorSign,
        Variant::TypedIdMemory,
        Variant::TypedIdMemory1M,
        Variant::TypedIdDirectory,
        Variant::TypedIdRedis,
        Variant::TypedIdRedisCached,
        Variant::TypedIdPostgres,
        Variant::TypedIdPostgresRelaxed,
        Variant::TypedIdMemoryPrincipal,
        Variant::TypedIdRedisPrincipal,
        Variant::TypedIdRedisUser,
        Variant::TypedIdMemoryModify,
        Variant::TypedIdRedisModify,
        Variant::TowerSessionsMemory,
        Variant::TowerSessionsRedis,
        Variant::TowerSessionsPostgres,
        Variant::ActixSessionCookie,
        Variant::ActixSessionRedis,
        Variant::AxumExtraSigned,
        Variant::AxumExtraPrivate,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Baseline => "baseline",
            Variant::FloorHandle => "floor-handle",
            Variant::FloorRedisSet => "floor-redis-set",
            Variant::FloorEncrypt => "floor-encrypt",
            Variant::FloorMemory => "floor-memory",
            Variant::TypedValuePlain => "typed-value-plain",
            Variant::TypedValueEncrypt => "typed-value-encrypt",
            Variant::TypedValueSign => "typed-value-sign",
            Variant::TypedValueKtorEncrypt => "typed-value-ktor-encrypt",
            Variant::TypedValueKtorSign => "typed-value-ktor-sign",
            Variant::TypedIdMemory => "typed-id-memory",
            Variant::TypedIdMemory1M => "typed-id-memory-1m",
            Variant::TypedIdDirectory => "typed-id-directory",
            Variant::TypedIdRedis => "typed-id-redis",
            Variant::TypedIdRedisCached => "typed-id-redis-cached",
            Variant::TypedIdPostgres => "typed-id-postgres",
            Variant::TypedIdPostgresRelaxed => "typed-id-postgres-relaxed",
            Variant::TypedIdMemoryPrincipal => "typed-id-memory-principal",
            Variant::TypedIdRedisPrincipal => "typed-id-redis-principal",
            Variant::TypedIdRedisUser => "typed-id-redis-user",
            Variant::TypedIdMemoryModify => "typed-id-memory-modify",
            Variant::TypedIdRedisModify => "typed-id-redis-modify",
            Variant::TowerSessionsMemory => "tower-sessions-memory",
            Variant::TowerSessionsRedis => "tower-sessions-redis",
            Variant::TowerSessionsPostgres => "tower-sessions-postgres",
            Variant::ActixSessionCookie => "actix-session-cookie",
            Variant::ActixSessionRedis => "actix-session-redis",
            Variant::AxumExtraSigned => "axum-extra-signed",
            Variant::AxumExtraPrivate => "axum-extra-private",
        }
    }

    /// Who wrote it.
    pub fn family(self) -> Family {
        match self {
            Variant::Baseline
            | Variant::FloorHandle
            | Variant::FloorRedisSet
            | Variant::FloorEncrypt
            | Variant::FloorMemory => Family::Baseline,
            Variant::TypedValuePlain
            | Variant::TypedValueEncrypt
            | Variant::TypedValueSign
            | Variant::TypedValueKtorEncrypt
            | Variant::TypedValueKtorSign
            | Variant::TypedIdMemory
            | Variant::TypedIdMemory1M
            | Variant::TypedIdDirectory
            | Variant::TypedIdRedis
            | Variant::TypedIdRedisCached
            | Variant::TypedIdPostgres
            | Variant::TypedIdPostgresRelaxed
            | Variant::TypedIdMemoryPrincipal
            | Variant::TypedIdRedisPrincipal
            | Variant::TypedIdRedisUser
            | Variant::TypedIdMemoryModify
            | Variant::TypedIdRedisModify => Family::Ours,
            _ => Family::Peer,
        }
    }

    /// The framework its server runs on.
    pub fn framework(self) -> Framework {
        match self {
            Variant::ActixSessionCookie | Variant::ActixSessionRedis => Framework::Actix,
            _ => Framework::Axum,
        }
    }

    /// The storage service it needs, if any.
    pub fn backend(self) -> Option<Backend> {
        match self {
            Variant::FloorRedisSet
            | Variant::TypedIdRedis
            | Variant::TypedIdRedisCached
            | Variant::TypedIdRedisPrincipal
            | Variant::TypedIdRedisUser
            | Variant::TypedIdRedisModify
            | Variant::TowerSessionsRedis
            | Variant::ActixSessionRedis => Some(Backend::Redis),
            Variant::TypedIdPostgres
            | Variant::TypedIdPostgresRelaxed
            | Variant::TowerSessionsPostgres => Some(Backend::Postgres),
            _ => None,
        }
    }

    /// Why it cannot run `scenario` at all, or `None`.
    pub fn unsupported(self, scenario: Scenario) -> Option<&'static str> {
        match (self, scenario) {
            // 2 KiB of JSON, AES-CBC padded, then hex-encoded: over 4 KiB, more than a cookie
            // may hold (the library refuses to send it, as browsers would drop it).
            (Variant::TypedValueKtorEncrypt, Scenario::Large) => Some(
                "Ktor's encrypt format hex-encodes the ciphertext: a 2 KiB session becomes a cookie over 4096 bytes",
            ),
            // Its one `SET` writes the counter's 64 bytes, not a 2 KiB session: no floor for
            // `large`.
            (Variant::FloorRedisSet, Scenario::Large) => {
                Some("the Redis floor writes a counter-sized value, not a 2 KiB session")
            }
            _ => None,
        }
    }

    /// The baseline (and the floors) has no sessions: every count it answers is 1.
    pub fn stateless(self) -> bool {
        matches!(
            self,
            Variant::Baseline | Variant::FloorHandle | Variant::FloorRedisSet
        )
    }

    /// Whether it can run in-process with no storage service (for the allocation and
    /// instruction counts).
    pub fn in_process(self) -> bool {
        self.backend().is_none()
    }

    /// Whether it can run in-process given a Redis server (for the instruction counts): the
    /// axum variants on Redis.
    pub fn in_process_with_redis(self) -> bool {
        self.backend() == Some(Backend::Redis) && self.framework() == Framework::Axum
    }

    /// The configuration, for the report.
    pub fn configuration(self) -> &'static str {
        match self {
            Variant::Baseline => "axum 0.8, no session layer; `/counter` answers `1`",
            Variant::FloorHandle => {
                "the baseline wrapped by a middleware that only puts an `Arc` handle into each request's extensions and reads it back on the response: the floor of a session middleware on a request that does not use its session"
            }
            Variant::FloorRedisSet => {
                "the baseline whose `/counter` makes one Redis `SET` (redis-rs, one multiplexed connection) before answering `1`: the floor of a session written to Redis on every request"
            }
            Variant::FloorEncrypt => {
                "no middleware: `/counter` reads and writes its session by hand as `Encrypt` does (base64url, AES-256-GCM, header and name authenticated, expiry checked, nonce from a per-thread ChaCha12), with our response headers: the floor of typed-value-encrypt"
            }
            Variant::FloorMemory => {
                "no middleware: `/counter` keeps its session by hand in a bounded `Mutex<IndexMap>` (1 000 other sessions, a cheap seeded id hash) under its name and a 256-bit hex id cookie, expiry checked, with our response headers: the floor of typed-id-memory"
            }
            Variant::TypedValuePlain => {
                "typed-sessions, cookie by value, no transformer (not for production: the by-value floor)"
            }
            Variant::TypedValueEncrypt => {
                "typed-sessions, cookie by value, `Encrypt` (AES-256-GCM, the default AEAD)"
            }
            Variant::TypedValueSign => "typed-sessions, cookie by value, `Sign` (HMAC-SHA-256)",
            Variant::TypedValueKtorEncrypt => {
                "typed-sessions, cookie by value, `KtorEncrypt` (AES-128-CBC + HMAC-SHA-256, Ktor's format)"
            }
            Variant::TypedValueKtorSign => {
                "typed-sessions, cookie by value, `KtorSign` (HMAC-SHA-256, Ktor's format)"
            }
            Variant::TypedIdMemory => {
                "typed-sessions, cookie by id, `MemoryStorage` holding 1 000 other sessions, id unsigned"
            }
            Variant::TypedIdMemory1M => {
                "typed-sessions, cookie by id, `MemoryStorage` holding 1 000 000 other sessions, id unsigned"
            }
            Variant::TypedIdDirectory => {
                "typed-sessions, cookie by id, directory storage, id unsigned"
            }
            Variant::TypedIdRedis => "typed-sessions, cookie by id, Redis storage, id unsigned",
            Variant::TypedIdRedisCached => {
                "typed-sessions, cookie by id, Redis storage with its client-side cache (default options), id unsigned"
            }
            Variant::TypedIdPostgres => {
                "typed-sessions, cookie by id, PostgreSQL storage, id unsigned"
            }
            Variant::TypedIdPostgresRelaxed => {
                "typed-id-postgres with `Durability::Relaxed` (`synchronous_commit=off` on its connections)"
            }
            Variant::TypedIdMemoryPrincipal => {
                "typed-id-memory, each new session a login filed under one of 1 000 principals (`set_principal`)"
            }
            Variant::TypedIdRedisPrincipal => {
                "typed-id-redis, each new session a login filed under one of 1 000 principals (`set_principal`)"
            }
            Variant::TypedIdRedisUser => {
                "typed-id-redis-principal without the principal index: each login keeps its user (one of 1 000) in the session value"
            }
            Variant::TypedIdMemoryModify => {
                "typed-id-memory, the count changed with `modify` (conditional update) instead of `get` + `set`"
            }
            Variant::TypedIdRedisModify => {
                "typed-id-redis, the count changed with `modify` (conditional update) instead of `get` + `set`"
            }
            Variant::TowerSessionsMemory => {
                "tower-sessions 0.15.0, `SessionManagerLayer::new(MemoryStore::default())` (defaults: plain id cookie, no expiry)"
            }
            Variant::TowerSessionsRedis => {
                "tower-sessions 0.14.0 + tower-sessions-redis-store 0.16.0 (fred 10), `Pool` of 6 as in the store's README, layer defaults"
            }
            Variant::TowerSessionsPostgres => {
                "tower-sessions 0.14.0 + tower-sessions-sqlx-store 0.15.0, `PgPool::connect` (sqlx default pool of 10), `migrate()`, layer defaults"
            }
            Variant::ActixSessionCookie => {
                "actix-web 4 (1 worker) + actix-session 0.11.0, `SessionMiddleware::new(CookieSessionStore, key)` (default: `Private`, AES-256-GCM)"
            }
            Variant::ActixSessionRedis => {
                "actix-web 4 (1 worker) + actix-session 0.11.0, `SessionMiddleware::new(RedisSessionStore::new(url), key)` (default: `Private` id cookie)"
            }
            Variant::AxumExtraSigned => {
                "axum-extra 0.12.6 `SignedCookieJar` (HMAC-SHA-256), JSON value, same cookie attributes as ours"
            }
            Variant::AxumExtraPrivate => {
                "axum-extra 0.12.6 `PrivateCookieJar` (AES-256-GCM), JSON value, same cookie attributes as ours"
            }
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown variant `{s}` (see `bench --list`)"))
    }
}

/// The application of an axum variant: its router, wrapped whole by its session middleware if
/// it has one (connecting to its storage service if it has one).
pub async fn axum_app(variant: Variant, env: &ServerEnv) -> Result<AxumApp, BoxError> {
    match variant {
        Variant::Baseline => Ok(AxumApp::bare(baseline::router())),
        Variant::FloorHandle => Ok(AxumApp::wrapped(
            handle_floor::HandleLayer,
            baseline::router(),
            AxumApp::HandleFloor,
        )),
        Variant::FloorRedisSet => Ok(AxumApp::bare(
            redis_floor::router(env.redis(variant)?).await?,
        )),
        Variant::FloorEncrypt => Ok(AxumApp::bare(session_floor::encrypted_router())),
        Variant::FloorMemory => Ok(AxumApp::bare(session_floor::memory_router())),
        Variant::TypedValuePlain
        | Variant::TypedValueEncrypt
        | Variant::TypedValueSign
        | Variant::TypedValueKtorEncrypt
        | Variant::TypedValueKtorSign
        | Variant::TypedIdMemory
        | Variant::TypedIdMemory1M
        | Variant::TypedIdDirectory
        | Variant::TypedIdRedis
        | Variant::TypedIdRedisCached
        | Variant::TypedIdPostgres
        | Variant::TypedIdPostgresRelaxed
        | Variant::TypedIdMemoryPrincipal
        | Variant::TypedIdRedisPrincipal
        | Variant::TypedIdRedisUser
        | Variant::TypedIdMemoryModify
        | Variant::TypedIdRedisModify => typed::app(variant, env).await,
        Variant::TowerSessionsMemory => Ok(tower_sessions::memory_app()),
        Variant::TowerSessionsRedis => tower_sessions::redis_app(env.redis(variant)?).await,
        Variant::TowerSessionsPostgres => {
            tower_sessions::postgres_app(env.postgres(variant)?).await
        }
        Variant::AxumExtraSigned => Ok(AxumApp::bare(axum_extra::signed_router())),
        Variant::AxumExtraPrivate => Ok(AxumApp::bare(axum_extra::private_router())),
        Variant::ActixSessionCookie | Variant::ActixSessionRedis => {
            Err(format!("{variant} is an actix-web variant, not an axum one").into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>(), Ok(v));
        }
    }
}
