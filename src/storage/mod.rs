//! Storages: where the payload of a by-id session lives.
//!
//! The client holds only an id; the serialized session is a [`Record`] in a [`SessionStorage`].
//! The contract every storage keeps:
//!
//! * [`load`](SessionStorage::load) returns `Ok(None)` for an id that is unknown **or expired**,
//!   whether or not a sweep has run;
//! * [`create`](SessionStorage::create) inserts only if the id is free, and says so when it is
//!   not (a collision never overwrites another session);
//! * [`update`](SessionStorage::update) changes only a record that still exists, so a request
//!   that read a session before a concurrent logout deleted it can never bring it back;
//! * [`delete`](SessionStorage::delete) always wins and is idempotent;
//! * errors are [`StorageError`]s, never "not found": an outage must not look like a logout.
//!
//! Ids reach a storage only after validation ([`SessionId`]), so they are safe as keys, file
//! names and SQL parameters.

mod memory;
#[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
mod millis;
mod open;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub mod sql;

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

pub use crate::id::SessionId;
pub use memory::MemoryStorage;
pub use open::{OpenError, open_url};
#[cfg(feature = "redis")]
pub use redis::{RedisStorage, RedisStorageBuilder};
#[cfg(feature = "postgres")]
pub use sql::{PostgresStorage, PostgresStorageBuilder};
#[cfg(feature = "sqlite")]
pub use sql::{SqliteStorage, SqliteStorageBuilder};

/// One stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The serialized session (the serializer's output, JSON by default).
    pub data: String,
    /// When the session was created; absolute lifetimes count from here.
    pub created_at: SystemTime,
    /// When the record stops being valid. A storage must treat it as absent from then on.
    pub expires_at: SystemTime,
}

impl Record {
    /// Whether the record has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at <= now
    }
}

/// Whether [`SessionStorage::create`] inserted the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The id was free and now holds the record.
    Inserted,
    /// The id was already taken by a live session; nothing was written.
    Collision,
}

/// A storage failure: the backend is unreachable, timed out, refused, or returned something it
/// should not have. Handlers see it as [`SessionError::Storage`](crate::SessionError::Storage),
/// which maps to `503`.
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
    /// The backend cannot be reached or did not answer in time.
    Unavailable,
    /// The backend answered, but with something that cannot be used (a corrupt record that
    /// could not be removed, a schema mismatch).
    Backend,
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageErrorKind::Unavailable => "session storage unavailable",
            StorageErrorKind::Backend => "session storage error",
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

/// The storage behind by-id sessions. Async and object-safe: sessions hold it as
/// `Arc<dyn SessionStorage>`.
///
/// Implement it for your own backend; run the contract suite
/// (`typed_sessions::storage::contract`, feature `test-support`) to check the implementation.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::SystemTime;
/// use typed_sessions::storage::{Created, Record, SessionId, SessionStorage, StorageError};
///
/// /// A minimal storage: one mutex around a map.
/// #[derive(Debug, Default)]
/// struct MapStorage(Mutex<HashMap<String, Record>>);
///
/// impl MapStorage {
///     fn map(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Record>>, StorageError> {
///         self.0.lock().map_err(|_| StorageError::backend("poisoned"))
///     }
/// }
///
/// #[async_trait::async_trait]
/// impl SessionStorage for MapStorage {
///     async fn load(&self, id: &SessionId, now: SystemTime) -> Result<Option<Record>, StorageError> {
///         Ok(self.map()?.get(id.as_str()).filter(|r| !r.is_expired(now)).cloned())
///     }
///     async fn create(&self, id: &SessionId, record: &Record, now: SystemTime) -> Result<Created, StorageError> {
///         let mut map = self.map()?;
///         if map.get(id.as_str()).is_some_and(|r| !r.is_expired(now)) {
///             return Ok(Created::Collision);
///         }
///         map.insert(id.as_str().to_owned(), record.clone());
///         Ok(Created::Inserted)
///     }
///     async fn update(&self, id: &SessionId, record: &Record, now: SystemTime) -> Result<bool, StorageError> {
///         let mut map = self.map()?;
///         match map.get_mut(id.as_str()) {
///             Some(r) if !r.is_expired(now) => { *r = record.clone(); Ok(true) }
///             _ => Ok(false),
///         }
///     }
///     async fn delete(&self, id: &SessionId) -> Result<(), StorageError> {
///         self.map()?.remove(id.as_str());
///         Ok(())
///     }
///     async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
///         let mut map = self.map()?;
///         let before = map.len();
///         map.retain(|_, r| !r.is_expired(now));
///         Ok((before - map.len()) as u64)
///     }
/// }
/// ```
#[async_trait]
pub trait SessionStorage: fmt::Debug + Send + Sync + 'static {
    /// The live record for `id`, or `None` if there is none or it has expired at `now`.
    async fn load(&self, id: &SessionId, now: SystemTime) -> Result<Option<Record>, StorageError>;

    /// Inserts `record` under `id` only if no live record has that id.
    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError>;

    /// Replaces the record under `id` only if a live one exists; `Ok(false)` if it does not.
    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError>;

    /// Removes the record under `id`, if any.
    async fn delete(&self, id: &SessionId) -> Result<(), StorageError>;

    /// Moves the live record from `old` to `new` with `record` as its content, and removes
    /// `old`. Returns `Ok(false)` (and changes nothing) if `old` is gone, and
    /// `Ok(false)` too if `new` is taken.
    ///
    /// The default creates `new`, then deletes `old`; backends that can do both at once
    /// (a transaction, a script) override it.
    async fn change_id(
        &self,
        old: &SessionId,
        new: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        if self.load(old, now).await?.is_none() {
            return Ok(false);
        }
        if self.create(new, record, now).await? == Created::Collision {
            return Ok(false);
        }
        self.delete(old).await?;
        Ok(true)
    }

    /// Removes every record that has expired at `now`, and returns how many it removed.
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError>;
}

#[async_trait]
impl<S: SessionStorage + ?Sized> SessionStorage for std::sync::Arc<S> {
    async fn load(&self, id: &SessionId, now: SystemTime) -> Result<Option<Record>, StorageError> {
        (**self).load(id, now).await
    }
    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        (**self).create(id, record, now).await
    }
    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        (**self).update(id, record, now).await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StorageError> {
        (**self).delete(id).await
    }
    async fn change_id(
        &self,
        old: &SessionId,
        new: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        (**self).change_id(old, new, record, now).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        (**self).delete_expired(now).await
    }
}
