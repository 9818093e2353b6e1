//! The distributed storages (Redis single node and Cluster, PostgreSQL, SQLite) against real
//! servers the tests start themselves (see `support::servers`).
//!
//! Each backend module has `fresh(test)`: a new, empty storage on the shared server, or
//! `None` when `TYPED_SESSIONS_SKIP` turns that backend off.

#[macro_use]
mod semantics;
mod http;
mod open_url;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "redis")]
pub mod redis_cache;
#[cfg(feature = "redis")]
mod redis_cache_faults;
#[cfg(feature = "redis")]
mod redis_cache_http;
#[cfg(feature = "redis")]
mod redis_cache_process;
#[cfg(feature = "redis")]
pub mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_faults;
#[cfg(feature = "redis")]
mod redis_format;
#[cfg(feature = "redis")]
mod redis_index;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// A call timeout for tests about concurrency rather than latency: long enough for hundreds
/// of clients at once to queue for a storage on a loaded 2-core machine, where the default
/// (2 s, then a 503, rightly) can be reached by the last of them.
pub const PATIENT: std::time::Duration = std::time::Duration::from_secs(30);

/// A short random suffix for key prefixes, table and file names.
pub fn unique() -> String {
    typed_sessions::SessionId::generate().as_str()[..12].to_owned()
}
