//! The library's error types.
//!
//! There are three main ones, each for a different moment in a session's life:
//!
//! * [`ConfigError`]: a mistake in the configuration, returned by
//!   [`SessionsConfig::build`](crate::SessionsConfig::build). It never happens per request.
//! * [`SessionError`]: what a handler can get back from [`Sessions`](crate::Sessions) while it
//!   serves a request. With the `axum` feature it is an `IntoResponse`: a storage outage maps to
//!   `503 Service Unavailable`, everything else to `500`, both with a generic body; the detail goes
//!   to `tracing`, never to the client.
//! * [`StorageError`]: what a storage backend reports (also exported as
//!   [`storage::StorageError`]). It reaches handlers wrapped in
//!   [`SessionError::Storage`].
//!
//! The [`Sessions`](crate::Sessions) extractor's only failure has a type of its own,
//! [`MissingSessionsLayer`], as axum's extractors have theirs; it converts into
//! [`SessionError::LayerMissing`] for handlers that return a `SessionError`.
//!
//! Bad input from a client is **not** an error: a tampered, malformed, expired or unknown session
//! value reads as "no session" (`Ok(None)`), and the response clears the client's copy.
//!
//! [`SerializerError`] and [`TransformError`] are what a serializer or a transformer of yours
//! reports (exported from [`serializer`](crate::serializer) and
//! [`transform`](crate::transform)); they reach handlers inside [`SessionError::Serialize`]
//! and [`SessionError::Transform`].

mod config;
mod session;
mod storage;
mod value;

pub use config::ConfigError;
pub use session::{MissingSessionsLayer, SessionError};
pub use storage::{StorageError, StorageErrorKind};
pub use value::{SerializerError, TransformError};
