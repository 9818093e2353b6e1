//! Test infrastructure beyond the HTTP helpers: real servers, every storage at once, a proxy
//! that loses replies, and what the SQL storages' tests share.
#![allow(dead_code)]

pub mod proxy;
pub mod servers;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub mod sql;
pub mod storages;

/// A call timeout for tests about concurrency rather than latency: long enough for hundreds
/// of clients at once to queue for a storage on a loaded 2-core machine, where the default
/// (2 s, then a 503, rightly) can be reached by the last of them.
pub const PATIENT: std::time::Duration = std::time::Duration::from_secs(30);
