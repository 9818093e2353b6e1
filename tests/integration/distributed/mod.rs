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

/// A short random suffix for key prefixes, table and file names.
pub fn unique() -> String {
    typed_sessions::SessionId::generate().as_str()[..12].to_owned()
}
