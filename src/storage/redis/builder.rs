//! [`RedisStorageBuilder`]: the options of a [`RedisStorage`] and the connection to its
//! server or Cluster.

use std::time::Duration;

use super::connection::{Conn, Target, storage_error};
use super::keys::Keys;
use super::{DEFAULT_PREFIX, RedisStorage};
use crate::storage::DEFAULT_CALL_TIMEOUT;
use crate::storage::StorageError;

/// Options for a [`RedisStorage`]: the key prefix and the time limit of each call.
///
/// ```no_run
/// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
/// use std::time::Duration;
/// use typed_sessions::storage::RedisStorage;
///
/// let storage = RedisStorage::builder()
///     .prefix("myapp:sessions:")
///     .timeout(Duration::from_millis(500))
///     .connect("redis://:password@redis.internal:6379/1")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `connect` is awaited"]
pub struct RedisStorageBuilder {
    prefix: String,
    timeout: Duration,
}

impl Default for RedisStorageBuilder {
    fn default() -> Self {
        RedisStorageBuilder {
            prefix: DEFAULT_PREFIX.into(),
            timeout: DEFAULT_CALL_TIMEOUT,
        }
    }
}

impl RedisStorageBuilder {
    /// The text every key starts with (default [`DEFAULT_PREFIX`]). Give each application
    /// sharing a Redis database its own prefix. Braces make a Cluster hash tag that puts every
    /// session in one slot (see the [module documentation](super)); a Cluster prefix with a `{`
    /// but no whole tag is refused at `connect`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest one storage call may take, connecting included (default
    /// [`DEFAULT_CALL_TIMEOUT`]). A call that takes longer fails as
    /// [`Unavailable`](crate::storage::StorageErrorKind::Unavailable).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects to the server or Cluster that `url` names:
    ///
    /// * `redis://[user[:password]@]host[:port][/db]`, `rediss://...` (TLS, feature
    ///   `rustls`), `redis+unix:///path/to/socket[?db=N]`;
    /// * a Cluster: `redis+cluster://[user[:password]@]host1:port1,host2:port2,...` (or
    ///   `rediss+cluster://` for TLS); any reachable node is enough to find the others.
    ///
    /// Fails with [`Unavailable`](crate::storage::StorageErrorKind::Unavailable) if the
    /// server cannot be reached within the timeout, and with
    /// [`Backend`](crate::storage::StorageErrorKind::Backend) for a malformed URL (the message
    /// never repeats the URL, which may hold a password).
    pub async fn connect(self, url: &str) -> Result<RedisStorage, StorageError> {
        let target = Target::parse(url).map_err(StorageError::backend)?;
        self.open(target).await
    }

    /// Connects to a Redis Cluster through its seed nodes (`redis://host:port` or
    /// `rediss://host:port` each).
    pub async fn connect_cluster<I, S>(self, nodes: I) -> Result<RedisStorage, StorageError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let target = Target::cluster(nodes).map_err(StorageError::backend)?;
        self.open(target).await
    }

    async fn open(self, target: Target) -> Result<RedisStorage, StorageError> {
        let keys = Keys::new(&self.prefix, target.is_cluster())
            .map_err(|error| StorageError::backend(error.to_string()).with_source(error))?;
        let conn = match tokio::time::timeout(self.timeout, Conn::open(target, self.timeout)).await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return Err(storage_error("connect", error)),
            Err(_) => {
                return Err(StorageError::unavailable(format!(
                    "Redis connect: no answer within {:?}",
                    self.timeout
                )));
            }
        };
        Ok(RedisStorage {
            conn,
            keys,
            timeout: self.timeout,
        })
    }
}
