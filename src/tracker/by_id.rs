//! By id: the transported string is a session id; the session is a record in a storage.
//!
//! Lifetimes are enforced here and in the storage, never by the client: a record expires at the
//! earlier of `created_at + lifetime` and, with an idle timeout, `last use + idle_timeout`.
//! Using a session renews the idle deadline, but only once `renew_fraction` of the idle window
//! has passed since the last renewal, so a busy session is not rewritten on every request.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Invalid, Loaded, Outcome, Provider, Stored, Valid};
use crate::config::RequestInfo;
use crate::config::builder::IdentityFn;
use crate::error::SessionError;
use crate::id::SessionId;
use crate::storage::{Created, Record, SessionStorage, StorageError};

/// How many fresh ids to try when a generated id collides (it never should: 256 random bits).
const CREATE_ATTEMPTS: usize = 3;

/// The by-id settings of one session.
pub(crate) struct ById {
    /// The session's name (a metrics label).
    pub(crate) session: String,
    pub(crate) metrics: crate::metrics::Metrics,
    pub(crate) storage: Arc<dyn SessionStorage>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) lifetime: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) renew_fraction: f64,
    pub(crate) identity: Option<IdentityFn>,
}

impl fmt::Debug for ById {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ById")
            .field("storage", &self.storage)
            .field("timeout", &self.timeout)
            .field("lifetime", &self.lifetime)
            .field("idle_timeout", &self.idle_timeout)
            .field("renew_fraction", &self.renew_fraction)
            .field("custom_identity", &self.identity.is_some())
            .finish()
    }
}

impl ById {
    /// Runs one storage call, with the configured timeout if there is one: a backend that does
    /// not answer in time is an outage (`503`), never a hung request.
    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let started = self.metrics.timing().then(std::time::Instant::now);
        let result = match self.timeout {
            None => call.await,
            Some(timeout) => match tokio::time::timeout(timeout, call).await {
                Ok(result) => result,
                Err(_) => Err(StorageError::unavailable(format!(
                    "session storage {operation} timed out after {} ms",
                    timeout.as_millis()
                ))),
            },
        };
        if let Some(started) = started {
            self.metrics.storage(
                &self.session,
                self.storage.as_ref().backend(),
                operation,
                started.elapsed().as_secs_f64(),
                result.is_err(),
            );
        }
        result
    }

    /// Deletes a session (timed).
    pub(crate) async fn delete(&self, id: &SessionId) -> Result<bool, StorageError> {
        self.timed("delete", self.storage.as_ref().delete(id)).await
    }

    /// Moves a session to a new id (timed).
    pub(crate) async fn change_id(
        &self,
        old: &SessionId,
        new: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.timed(
            "change_id",
            self.storage.as_ref().change_id(old, new, record, now),
        )
        .await
    }

    /// Parses an unwrapped incoming id with the rule that fits the id generator.
    pub(crate) fn parse_id(&self, text: &str) -> Option<SessionId> {
        if self.identity.is_some() {
            SessionId::parse_custom(text)
        } else {
            SessionId::parse(text)
        }
    }

    /// Looks the session up.
    pub(crate) async fn load(
        &self,
        provider: &Provider,
        text: &str,
        now: SystemTime,
    ) -> Result<Loaded, StorageError> {
        let Some(id) = self.parse_id(text) else {
            return Ok(Loaded::invalid(Invalid::MalformedId, None));
        };
        let Some(record) = self
            .timed("load", self.storage.as_ref().load(&id, now))
            .await?
        else {
            tracing::debug!(session = %provider.name, id = %id.log_tag(), "unknown or expired session id");
            return Ok(Loaded::invalid(Invalid::UnknownId, None));
        };
        if record.is_expired(now) {
            return Ok(Loaded::invalid(Invalid::UnknownId, Some(id)));
        }
        match provider.codec.deserialize(&record.data) {
            Ok(value) => Ok(Loaded {
                value: Some(value),
                outcome: Outcome::Valid(Valid {
                    serialized: record.data,
                    stored: Some(Stored {
                        id,
                        created_at: record.created_at,
                        expires_at: record.expires_at,
                    }),
                    stale_key: false,
                    value_expires_at: None,
                }),
            }),
            Err(_) => {
                tracing::debug!(session = %provider.name, id = %id.log_tag(), "stored session could not be deserialized; it is removed");
                Ok(Loaded::invalid(Invalid::Undecodable, Some(id)))
            }
        }
    }

    /// The expiry of a record created at `created_at` and used at `now`.
    pub(crate) fn expiry(&self, created_at: SystemTime, now: SystemTime) -> SystemTime {
        let absolute = created_at
            .checked_add(self.lifetime)
            .unwrap_or(created_at + crate::config::FOREVER);
        match self.idle_timeout.and_then(|idle| now.checked_add(idle)) {
            Some(idle) if idle < absolute => idle,
            _ => absolute,
        }
    }

    /// Whether a session read at `now` is due for renewal of its idle deadline.
    pub(crate) fn due_for_renewal(&self, stored: &Stored, now: SystemTime) -> bool {
        let Some(idle) = self.idle_timeout else {
            return false;
        };
        let renewed = self.expiry(stored.created_at, now);
        if renewed <= stored.expires_at {
            return false; // capped by the absolute lifetime: nothing to gain
        }
        let gained = renewed
            .duration_since(stored.expires_at)
            .unwrap_or(Duration::ZERO);
        gained.as_secs_f64() >= idle.as_secs_f64() * self.renew_fraction && !gained.is_zero()
    }

    /// A new id from the configured generator, validated.
    pub(crate) fn new_id(
        &self,
        name: &str,
        request: Option<&RequestInfo>,
    ) -> Result<SessionId, SessionError> {
        let (Some(identity), Some(request)) = (&self.identity, request) else {
            return Ok(SessionId::generate());
        };
        let text = identity(request);
        SessionId::parse_custom(&text).ok_or_else(|| {
            tracing::warn!(session = %name, "the custom id generator produced an invalid id");
            SessionError::InvalidId(format!(
                "the id generator of session `{name}` produced an id that is not 1 to 128 characters from [A-Za-z0-9_-]"
            ))
        })
    }

    /// Stores a new session under `id` (or, for generated ids, a fresh one if `id` collides).
    /// Returns the id it was stored under.
    pub(crate) async fn create(
        &self,
        name: &str,
        mut id: SessionId,
        data: String,
        now: SystemTime,
    ) -> Result<SessionId, SessionError> {
        let record = Record {
            data,
            created_at: now,
            expires_at: self.expiry(now, now),
        };
        for _ in 0..CREATE_ATTEMPTS {
            match self
                .timed("create", self.storage.as_ref().create(&id, &record, now))
                .await?
            {
                Created::Inserted => return Ok(id),
                Created::Collision if self.identity.is_none() => {
                    tracing::warn!(session = %name, "session id collision; trying a new id");
                    id = SessionId::generate();
                }
                Created::Collision => break,
            }
        }
        Err(SessionError::InvalidId(format!(
            "session `{name}`: the id is already taken by another live session"
        )))
    }

    /// Replaces the data of a live session. `Ok(false)` if it no longer exists (a concurrent
    /// logout): the session is then not recreated.
    pub(crate) async fn update(
        &self,
        stored: &Stored,
        data: String,
        now: SystemTime,
    ) -> Result<bool, SessionError> {
        let record = Record {
            data,
            created_at: stored.created_at,
            expires_at: self.expiry(stored.created_at, now),
        };
        Ok(self
            .timed(
                "update",
                self.storage.as_ref().update(&stored.id, &record, now),
            )
            .await?)
    }
}
