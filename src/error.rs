//! The library's error types.
//!
//! There are three, each for a different moment in a session's life:
//!
//! * [`ConfigError`]: a mistake in the configuration, returned by
//!   [`SessionsConfig::build`](crate::SessionsConfig::build). It never happens per request.
//! * [`SessionError`]: what a handler can get back from [`Sessions`](crate::Sessions) while it
//!   serves a request. With the `axum` feature it is an `IntoResponse`: a storage outage maps to
//!   `503 Service Unavailable`, everything else to `500`, both with a generic body; the detail goes
//!   to `tracing`, never to the client.
//! * [`StorageError`]: what a storage backend reports (also exported as
//!   [`storage::StorageError`](crate::storage::StorageError)). It reaches handlers wrapped in
//!   [`SessionError::Storage`].
//!
//! Bad input from a client is **not** an error: a tampered, malformed, expired or unknown session
//! value reads as "no session" (`Ok(None)`), and the response clears the client's copy.

use std::borrow::Cow;
use std::fmt;

/// A configuration mistake, reported by [`SessionsConfig::build`](crate::SessionsConfig::build).
///
/// Every variant names the session it concerns and says what is wrong, so the message alone
/// is enough to fix the configuration.
///
/// ```
/// use typed_sessions::{ConfigError, SessionsConfig};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct A;
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct B;
/// let err = SessionsConfig::new()
///     .cookie::<A>("s", |c| c.unprotected())
///     .cookie::<B>("s", |c| c.unprotected())
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, ConfigError::DuplicateName { .. }));
/// assert_eq!(err.to_string(), "a session named `s` is already registered");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two sessions share one name.
    #[error("a session named `{name}` is already registered")]
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// Two sessions share one Rust type.
    #[error(
        "a session of type `{type_name}` is already registered (as `{existing}`); each type can be registered once"
    )]
    DuplicateType {
        /// The repeated type.
        type_name: String,
        /// The name it was first registered under.
        existing: String,
    },
    /// More sessions than one configuration can serve (128; stack a second layer for more).
    #[error(
        "{count} sessions are registered; one configuration holds at most {limit} (stack a second layer for more)"
    )]
    TooManySessions {
        /// How many were registered.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The cookie name is not a valid RFC 6265 cookie name.
    #[error("`{name}` is not a valid cookie name: {reason}")]
    InvalidCookieName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The header name is not a valid HTTP header name.
    #[error("`{name}` is not a valid header name: {reason}")]
    InvalidHeaderName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A cookie attribute value cannot be rendered safely (it would break the `Set-Cookie` line).
    #[error("session `{name}`: invalid cookie attribute `{attribute}`: {reason}")]
    InvalidAttribute {
        /// The session name.
        name: String,
        /// The attribute.
        attribute: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A combination of cookie attributes that browsers reject or that is unsafe.
    #[error("session `{name}`: {reason}")]
    InvalidCombination {
        /// The session name.
        name: String,
        /// What is wrong.
        reason: Cow<'static, str>,
    },
    /// A session carried by value has no transformer, so the client could read and forge it,
    /// and its registration does not say that this is intended.
    #[error(
        "session `{name}` is carried by value without a transformer, so the client can read \
         and forge it; add `.transform(Encrypt::new(key))` (or `Sign`), or, if that is really \
         meant (Ktor parity, data that is neither secret nor trusted), say so with \
         `.unprotected()`"
    )]
    Unprotected {
        /// The session name.
        name: String,
    },
    /// A transformer or key could not be set up.
    #[error("session `{name}`: {reason}")]
    InvalidTransformer {
        /// The session name.
        name: String,
        /// What is wrong.
        reason: Cow<'static, str>,
    },
    /// Any other invalid setting.
    #[error("session `{name}`: {reason}")]
    Invalid {
        /// The session name.
        name: String,
        /// What is wrong.
        reason: Cow<'static, str>,
    },
    /// An invalid setting of the CSRF protection (`csrf::CsrfConfig::build`).
    #[error("CSRF protection: {reason}")]
    Csrf {
        /// What is wrong.
        reason: Cow<'static, str>,
    },
}

/// An error a handler can get while it uses sessions.
///
/// Client input never produces this error: invalid session values read as `Ok(None)`.
/// These are programming mistakes (an unregistered type, no session layer, a `set` after the
/// response left), storage failures, and values the library refuses to send (too large).
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum_core::response::IntoResponse;
/// use typed_sessions::{SessionError, storage::StorageError};
///
/// let outage = SessionError::Storage(StorageError::unavailable("connection refused"));
/// assert_eq!(outage.into_response().status(), 503);
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The type was never registered with [`SessionsConfig`](crate::SessionsConfig).
    #[error(
        "session type `{type_name}` is not registered with the sessions layer that serves this request"
    )]
    NotRegistered {
        /// The type asked for.
        type_name: String,
    },
    /// The request did not pass through a sessions layer.
    #[error(
        "no sessions layer serves this request: add the `SessionsLayer` from `SessionsConfig::build` to the router (or to the nested router) that holds this handler"
    )]
    LayerMissing,
    /// `set`, `clear` or `regenerate` ran after the response was sent.
    #[error("too late to change session `{name}`: the response has already been sent")]
    TooLate {
        /// The session name.
        name: String,
    },
    /// An id operation on a session that is carried by value.
    #[error("session `{name}` is carried by value, not by id; it has no id")]
    NotById {
        /// The session name.
        name: String,
    },
    /// The storage failed (unreachable, timed out, refused). Maps to `503`.
    #[error("session storage failed")]
    Storage(#[from] StorageError),
    /// An earlier storage failure in this request makes the session state unknown, so it is
    /// neither replaced nor cleared (the client's cookie is kept). Maps to `503`.
    #[error("session `{name}` could not be loaded because the storage failed; it is left as it is")]
    Unavailable {
        /// The session name.
        name: String,
    },
    /// A conditional update ([`Sessions::modify`](crate::Sessions::modify)) kept losing the
    /// race: the session changed between each read and write, `attempts` times in a row.
    #[error("session `{name}` changed under {attempts} conditional updates in a row; giving up")]
    Conflict {
        /// The session name.
        name: String,
        /// How many times it was read and written.
        attempts: u32,
    },
    /// A login would give its user more sessions than the configuration allows, and the
    /// configuration says to refuse it ([`OnLimit::Refuse`](crate::storage::OnLimit::Refuse)).
    #[error("session `{name}`: this user already has {limit} sessions, the most allowed")]
    SessionLimit {
        /// The session name.
        name: String,
        /// The limit.
        limit: usize,
    },
    /// The session value could not be serialized.
    #[error("session `{name}` could not be serialized: {reason}")]
    Serialize {
        /// The session name.
        name: String,
        /// The serializer's message.
        reason: String,
    },
    /// The value could not be protected (signing or encryption failed).
    #[error("session `{name}` could not be protected: {reason}")]
    Transform {
        /// The session name.
        name: String,
        /// What failed.
        reason: String,
    },
    /// The finished cookie or header would be larger than a browser accepts.
    #[error("session `{name}` is too large: {size} bytes, the limit is {limit}")]
    TooLarge {
        /// The session name.
        name: String,
        /// The size it would have had.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A handler asked for the principal of a session authentication that does not protect
    /// its route.
    #[error(
        "no session authentication producing a principal of type `{principal}` protects this route: add `SessionAuth` to it with `route_layer`"
    )]
    NotAuthenticated {
        /// The principal type asked for.
        principal: String,
    },
    /// A handler asked for a CSRF token on a route that no CSRF layer serves.
    #[error(
        "no CSRF layer serves this request: add the `CsrfLayer` from `CsrfConfig::build` inside the sessions layer, around the routes that render forms"
    )]
    CsrfLayerMissing,
    /// A session id is not valid: one given to [`clear_by_id`](crate::Sessions::clear_by_id),
    /// or one a custom id generator produced. The message never contains the id.
    #[error("invalid session id: {0}")]
    InvalidId(String),
}

impl SessionError {
    /// The HTTP status this error maps to: `503` for storage failures and update conflicts,
    /// `403` for a login refused by the limit of sessions per user, `500` otherwise.
    pub fn status(&self) -> http::StatusCode {
        match self {
            // An operation the storage does not offer is a configuration mistake, not an outage.
            SessionError::Storage(error) if error.kind() == StorageErrorKind::Unsupported => {
                http::StatusCode::INTERNAL_SERVER_ERROR
            }
            SessionError::Storage(_)
            | SessionError::Unavailable { .. }
            | SessionError::Conflict { .. } => http::StatusCode::SERVICE_UNAVAILABLE,
            SessionError::SessionLimit { .. } => http::StatusCode::FORBIDDEN,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A generic body text for the status, which never carries detail (the `IntoResponse`
    /// body).
    #[cfg(feature = "axum")]
    pub(crate) fn public_message(&self) -> &'static str {
        match self.status() {
            http::StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
            http::StatusCode::FORBIDDEN => "Forbidden",
            _ => "Internal Server Error",
        }
    }
}

/// A storage failure: the backend is unreachable, timed out, refused, or returned something it
/// should not have. Handlers see it as [`SessionError::Storage`](crate::SessionError::Storage),
/// which maps to `503`; the client's cookie is kept.
///
/// The message never contains a session id, a key or a session value.
///
/// ```
/// use typed_sessions::storage::{StorageError, StorageErrorKind};
///
/// let io = std::io::Error::other("disk on fire");
/// let error = StorageError::unavailable("cannot write the session file").with_source(io);
/// assert_eq!(error.kind(), StorageErrorKind::Unavailable);
/// assert_eq!(error.to_string(), "session storage unavailable: cannot write the session file");
/// assert!(std::error::Error::source(&error).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct StorageError {
    kind: StorageErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The kind of a [`StorageError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// The backend cannot be reached or did not answer in time (a full disk, a lost
    /// connection, a permission change).
    Unavailable,
    /// The backend answered, but with something that cannot be used (a record that could not
    /// be removed, a schema mismatch, a failed background task).
    Backend,
    /// The storage does not offer the operation (a conditional update, the principal index).
    Unsupported,
    /// The storage holds as many sessions as it may ([`QuotaStorage`](crate::storage::QuotaStorage)):
    /// no new session until some end.
    Full,
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageErrorKind::Unavailable => "session storage unavailable",
            StorageErrorKind::Backend => "session storage error",
            StorageErrorKind::Unsupported => "not supported by this session storage",
            StorageErrorKind::Full => "session storage full",
        })
    }
}

impl StorageError {
    /// The backend cannot be reached or timed out.
    pub fn unavailable(message: impl Into<String>) -> StorageError {
        StorageError {
            kind: StorageErrorKind::Unavailable,
            message: message.into(),
            source: None,
        }
    }

    /// The backend answered with an error.
    pub fn backend(message: impl Into<String>) -> StorageError {
        StorageError {
            kind: StorageErrorKind::Backend,
            message: message.into(),
            source: None,
        }
    }

    /// The storage holds as many sessions as it may.
    pub fn full(message: impl Into<String>) -> StorageError {
        StorageError {
            kind: StorageErrorKind::Full,
            message: message.into(),
            source: None,
        }
    }

    /// The storage does not offer the operation.
    pub fn unsupported(message: impl Into<String>) -> StorageError {
        StorageError {
            kind: StorageErrorKind::Unsupported,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }
}
