//! The core: configuration, transports, the per-request handle, write rules and the commit,
//! serializers, by-id tracking and its storage timeout, bad input, route scoping, errors, and
//! Ktor's own cases.

mod bad_input;
mod by_id;
mod config;
mod cookie;
mod errors;
mod handle;
mod header;
mod ktor_cases;
mod scoped;
mod storage_timeout;
mod write_out;
