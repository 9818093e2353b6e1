//! [`SessionError`]: what a handler can get while it uses sessions, and
//! [`MissingSessionsLayer`], the `Sessions` extractor's rejection.

use super::{SerializerError, StorageError, StorageErrorKind, TransformError};

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
    #[error("session `{name}` could not be serialized")]
    Serialize {
        /// The session name.
        name: String,
        /// The serializer's error.
        #[source]
        source: SerializerError,
    },
    /// The value could not be protected: a transformer of the chain failed.
    #[error("session `{name}` could not be protected")]
    Transform {
        /// The session name.
        name: String,
        /// The transformer's error.
        #[source]
        source: TransformError,
    },
    /// The value holds characters its transport cannot carry: a cookie with the
    /// [`Raw`](crate::CookieEncoding::Raw) or [`DoubleQuotes`](crate::CookieEncoding::DoubleQuotes)
    /// encoding, or a header session whose chain leaves characters a header cannot hold.
    #[error(
        "session `{name}` holds characters its cookie encoding or header cannot carry; use the default cookie encoding or a transformer"
    )]
    Unencodable {
        /// The session name.
        name: String,
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
    /// An id given to [`clear_by_id`](crate::Sessions::clear_by_id) is not an id of the
    /// session. The message never contains the id.
    #[error("not an id of session `{name}`")]
    InvalidId {
        /// The session name.
        name: String,
    },
    /// The id of a new session is already taken by another live session. Generated ids are
    /// drawn again; an id from a custom generator
    /// ([`identity`](crate::SessionBuilder::identity)) is not, so the new session is refused.
    #[error("session `{name}`: the new id is already taken by another live session")]
    IdTaken {
        /// The session name.
        name: String,
    },
    /// The custom id generator ([`identity`](crate::SessionBuilder::identity)) produced an id
    /// that is not 1 to 128 characters from `[A-Za-z0-9_-]`. The message never contains the id.
    #[error(
        "the id generator of session `{name}` produced an id that is not 1 to 128 characters from [A-Za-z0-9_-]"
    )]
    InvalidCustomId {
        /// The session name.
        name: String,
    },
    /// The custom id generator produced an id without the prefix the storage needs to keep a
    /// user's sessions together
    /// ([`principal_id_prefix`](crate::storage::SessionStorage::principal_id_prefix), Redis
    /// Cluster).
    #[error(
        "the storage of session `{name}` keeps a user's sessions together by the start of their ids, which the custom id generator does not produce"
    )]
    CustomIdWithoutPrefix {
        /// The session name.
        name: String,
    },
}

/// The request did not pass through a sessions layer: the rejection of the
/// [`Sessions`](crate::Sessions) extractor and the error of
/// [`Sessions::from_extensions`](crate::Sessions::from_extensions). A mistake in the router,
/// never the client's: with the `axum` feature it is a `500` with a generic body, like
/// [`SessionError::LayerMissing`], which it converts into.
///
/// ```
/// use typed_sessions::{MissingSessionsLayer, SessionError, Sessions};
///
/// let missing = Sessions::from_extensions(&http::Extensions::new()).unwrap_err();
/// assert_eq!(missing, MissingSessionsLayer);
/// assert!(matches!(SessionError::from(missing), SessionError::LayerMissing));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no sessions layer serves this request: add the `SessionsLayer` from `SessionsConfig::build` to the router (or to the nested router) that holds this handler"
)]
pub struct MissingSessionsLayer;

impl From<MissingSessionsLayer> for SessionError {
    fn from(_: MissingSessionsLayer) -> SessionError {
        SessionError::LayerMissing
    }
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
            SessionError::Storage(_) | SessionError::Conflict { .. } => {
                http::StatusCode::SERVICE_UNAVAILABLE
            }
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
