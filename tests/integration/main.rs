//! HTTP-level tests through the real tower stack and over real loopback HTTP.
//!
//! One test binary (linking is the slow part of a cold build); one module per area.

mod auth;
mod auth_form;
mod browser;
mod common;
mod concurrency;
mod core;
mod crypto;
mod csrf;
#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
mod distributed;
mod evolving;
mod expiry_cap;
mod flash;
#[cfg(feature = "fuzzing")]
mod fuzz_corpus;
mod hardening;
mod ktor_digest;
mod lifecycle;
#[cfg(feature = "metrics")]
mod metrics;
mod properties;
#[cfg(unix)]
mod random;
mod storage;
mod support;
mod users;
