//! Typed HTTP sessions for tower and axum, after Ktor's `Sessions` plugin.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod clock;
pub mod config;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod id;
mod layer;
mod random;
pub mod serializer;
mod sessions;
mod state;
pub mod storage;
mod tracker;
pub mod transform;
pub mod transport;

pub use config::{SessionBuilder, SessionData, SessionsConfig};
pub use error::{ConfigError, SessionError};
pub use id::{LogTag, SessionId};
pub use layer::{ResponseFuture, SessionsLayer, SessionsService};
pub use sessions::Sessions;
pub use transform::{Encrypt, Key, KeyRing, Sign};
pub use transport::{CookieConfig, CookieEncoding, SameSite};
