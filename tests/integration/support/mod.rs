//! Test infrastructure beyond the HTTP helpers: real servers, every storage at once, a proxy
//! that loses replies, and what the SQL storages' tests share.
#![allow(dead_code)]

pub mod proxy;
pub mod servers;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub mod sql;
pub mod storages;
