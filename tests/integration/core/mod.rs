//! Issue 2, the core: configuration, transports, the per-request handle, write rules,
//! serializers, by-id tracking, bad input, route scoping, errors, and Ktor's own cases.

mod bad_input;
mod by_id;
mod config;
mod cookie;
mod handle;
mod header;
mod ktor_cases;
mod scoped;
