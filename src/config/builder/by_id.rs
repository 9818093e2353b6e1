//! The settings of sessions carried by id: lifetimes, the storage, users and devices.

use std::sync::Arc;
use std::time::Duration;

use super::SessionBuilder;
use crate::config::kind;
use crate::id::RequestInfo;
use crate::serializer::{BinaryCodec, BinarySerializer};
use crate::storage::OnLimit;
use crate::tracker::by_id::Limit;

/// Users and their devices: the principal index of sessions carried by id.
impl<T: Send + Sync + 'static, K: kind::ById> SessionBuilder<T, K> {
    /// Files each session under the user (the principal) its value names, in the storage's
    /// principal index, so that a user's sessions can be listed and ended
    /// ([`Sessions::devices`](crate::Sessions::devices),
    /// [`Principals`](crate::storage::Principals)). The index follows the session in the same
    /// atomic operation as every write; when the principal changes (a login), the session gets
    /// a new id. Also records each session's device (see
    /// [`device_metadata`](Self::device_metadata)). The storage must keep a principal index
    /// ([`supports_principals`](crate::storage::SessionStorage::supports_principals)); every
    /// storage of this crate does but the Ktor-compatible directory layout.
    ///
    /// ```
    /// use typed_sessions::{SessionsConfig, storage::MemoryStorage};
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct Account { user: Option<String> }
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie_with_storage::<Account, _>("account", MemoryStorage::new(), |c| {
    ///         c.principal(|account: &Account| account.user.clone())
    ///     })
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn principal(mut self, of: impl Fn(&T) -> Option<String> + Send + Sync + 'static) -> Self {
        self.draft.principal = Some(std::sync::Arc::new(move |value| {
            value.downcast_ref::<T>().and_then(&of)
        }));
        self
    }
}

/// The binary format of sessions carried by id.
impl<T: Send + Sync + 'static, K: kind::ById> SessionBuilder<T, K> {
    /// Stores the session in a binary format of yours (the record holds bytes, so a compact
    /// format needs no base64). JSON stays the default.
    ///
    /// ```
    /// use typed_sessions::serializer::{BinarySerializer, SerializerError};
    /// use typed_sessions::{SessionsConfig, storage::MemoryStorage};
    ///
    /// // Registration asks for serde as for every session type; `Compact` does not use it.
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct Visits(u64);
    /// struct Compact;
    /// impl BinarySerializer<Visits> for Compact {
    ///     fn serialize(&self, v: &Visits) -> Result<Vec<u8>, SerializerError> {
    ///         Ok(v.0.to_le_bytes().to_vec())
    ///     }
    ///     fn deserialize(&self, bytes: &[u8]) -> Result<Visits, SerializerError> {
    ///         let bytes = bytes.try_into().map_err(|_| SerializerError::new("not 8 bytes"))?;
    ///         Ok(Visits(u64::from_le_bytes(bytes)))
    ///     }
    /// }
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie_with_storage::<Visits, _>("visits", MemoryStorage::new(), |c| {
    ///         c.binary_serializer(Compact)
    ///     })
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn binary_serializer<S: BinarySerializer<T>>(mut self, serializer: S) -> Self {
        self.codec = Box::new(BinaryCodec::<T, S>::new(serializer));
        self
    }
}

/// Settings of sessions carried by id.
impl<T, K: kind::ById> SessionBuilder<T, K> {
    /// The absolute lifetime of a session, counted from its creation and enforced by the
    /// server whatever the client sends. Default: the cookie's max age, or 7 days when there
    /// is none.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.draft.lifetime = Some(lifetime);
        self
    }

    /// The idle timeout: a session not used for this long expires, on the server. Using it
    /// renews it (see [`renew_after`](Self::renew_after)). None by default.
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.draft.idle_timeout = Some(idle_timeout);
        self
    }

    /// Which part of the idle window must have passed since the last renewal before a read
    /// renews the session (default `0.25`). Higher values write less often; `0.0` renews on
    /// every use.
    pub fn renew_after(mut self, fraction: f64) -> Self {
        self.draft.renew_fraction = fraction;
        self
    }

    /// How long one storage call may take before it counts as an outage: the request then gets
    /// `503` instead of waiting. Default
    /// [`DEFAULT_STORAGE_TIMEOUT`](super::DEFAULT_STORAGE_TIMEOUT) (5 s), for every storage: a
    /// stuck lock, a dead network mount or a storage of your own that never answers cannot
    /// hang a request. `None` turns it off, for a storage that bounds its own calls.
    ///
    /// The timer starts only for a call that does not finish at once, so storages that answer
    /// immediately (the memory storage, a warm cache) never arm one. A storage that bounds its
    /// own calls within this timeout
    /// ([`SessionStorage::call_bound`](crate::storage::SessionStorage::call_bound): the Redis
    /// storage, with its default timeout) is not timed a second time. It needs a tokio runtime
    /// with timers enabled (`#[tokio::main]` and `#[tokio::test]` enable them; a runtime built
    /// by hand needs `enable_time` or `enable_all`), or `None` here.
    ///
    /// ```
    /// use std::time::Duration;
    /// use typed_sessions::{SessionsConfig, storage::MemoryStorage};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Api;
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie_with_storage::<Cart, _>("cart", MemoryStorage::new(), |c| c
    ///         .storage_timeout(Duration::from_millis(500)))
    ///     .header_with_storage::<Api, _>("x-api", MemoryStorage::new(), |h| h
    ///         .storage_timeout(None)) // no timeout: the storage bounds its own calls
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn storage_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.draft.storage_timeout = timeout.into();
        self
    }

    /// At most `max` live sessions per principal (Spring Security's "maximum sessions"): a login
    /// beyond it ends the least recently used sessions ([`OnLimit::EndOldest`]) or is refused
    /// with [`SessionError::SessionLimit`](crate::SessionError::SessionLimit)
    /// ([`OnLimit::Refuse`]). Concurrent logins of one user can briefly exceed it by the number
    /// of logins in flight.
    pub fn max_sessions_per_principal(mut self, max: usize, overflow: OnLimit) -> Self {
        self.draft.principal_limit = Some(Limit {
            max: max.max(1),
            overflow,
        });
        self
    }

    /// The longest lifetime a handler may choose for one session with
    /// [`Sessions::set_lifetime`](crate::Sessions::set_lifetime) ("remember me"). Default: the
    /// session's [`lifetime`](Self::lifetime).
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.draft.max_lifetime = Some(max);
        self
    }

    /// Whether each session records a short description of its device (browser and operating
    /// system family, parsed from the `User-Agent` when the session is created; the raw header
    /// is never stored). On for sessions with a [`principal`](Self::principal), off otherwise.
    pub fn device_metadata(mut self, enabled: bool) -> Self {
        self.draft.devices = Some(enabled);
        self
    }

    /// A custom id generator (Ktor's `identity { call -> ... }`). Its ids must still be
    /// 1 to 128 characters from `[A-Za-z0-9_-]`: the `set` that starts a session with an id
    /// that is not fails with [`SessionError::InvalidCustomId`](crate::SessionError::InvalidCustomId),
    /// and with one another live session already has, with
    /// [`SessionError::IdTaken`](crate::SessionError::IdTaken) (a generated id would be drawn
    /// again; a custom one is not).
    pub fn identity(
        mut self,
        generator: impl Fn(&RequestInfo) -> String + Send + Sync + 'static,
    ) -> Self {
        self.draft.identity = Some(Arc::new(generator));
        self
    }
}
