//! [`StorageError`]: what a storage backend reports.

use std::fmt;

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
