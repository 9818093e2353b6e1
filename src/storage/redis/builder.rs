//! [`RedisStorageBuilder`]: the options of a [`RedisStorage`] and the connection to its
//! server or Cluster.

use std::sync::Arc;
use std::time::Duration;

use super::cache::{ClientSideCache, LocalCache};
use super::connection::{Conn, storage_error};
use super::keeper;
use super::keys::Keys;
use super::record::RecentPrincipals;
use super::target::Target;
use super::{DEFAULT_PREFIX, RedisStorage};
use crate::storage::DEFAULT_CALL_TIMEOUT;
use crate::storage::StorageError;

/// Options for a [`RedisStorage`]: the key prefix, the time limit of each call, and
/// client-side caching.
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
    cache: Option<ClientSideCache>,
}

impl Default for RedisStorageBuilder {
    fn default() -> Self {
        RedisStorageBuilder {
            prefix: DEFAULT_PREFIX.into(),
            timeout: DEFAULT_CALL_TIMEOUT,
            cache: None,
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
    /// [`Unavailable`](crate::storage::StorageErrorKind::Unavailable). All the commands of one
    /// call share it; a repair that ends some paths (ending again a session that an update
    /// found ended, restoring a principal, taking back the new key of a failed id change
    /// between Cluster hash slots) gets one more. So the storage's
    /// [`call_bound`](crate::storage::SessionStorage::call_bound) is twice this, and with the
    /// default the sessions layer's own timeout (5 s) arms no second timer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Turns on client-side caching (off by default): loads of sessions this process has
    /// read or written are answered from a bounded local cache, which Redis keeps correct by
    /// telling the process about every change made elsewhere. See [`ClientSideCache`] for how,
    /// what it costs, and how stale a session can be.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), typed_sessions::storage::StorageError> {
    /// use typed_sessions::storage::RedisStorage;
    /// use typed_sessions::storage::redis::ClientSideCache;
    ///
    /// let storage = RedisStorage::builder()
    ///     .client_side_cache(ClientSideCache::new().capacity(50_000))
    ///     .connect("redis+cluster://10.0.0.1:7001,10.0.0.2:7002")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn client_side_cache(mut self, cache: ClientSideCache) -> Self {
        self.cache = Some(cache);
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
        let cache = self
            .cache
            .as_ref()
            .map(|options| Arc::new(LocalCache::new(options, keys.clone())));
        let opening = async {
            let conn = Conn::open(
                target,
                self.timeout,
                cache.as_ref().map(|c| (c, self.prefix.as_str())),
            )
            .await?;
            if let (Conn::Cluster(_), Some(cache)) = (&conn, &cache) {
                keeper::audit(&mut conn.clone(), cache, &self.prefix).await?;
            }
            Ok::<Conn, ::redis::RedisError>(conn)
        };
        let conn = match tokio::time::timeout(self.timeout, opening).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return Err(storage_error("connect", error)),
            Err(_) => {
                return Err(StorageError::unavailable(format!(
                    "Redis connect: no answer within {:?}",
                    self.timeout
                )));
            }
        };
        match (&conn, &cache) {
            (Conn::Tracked(tracked), _) => keeper::spawn_single(tracked, self.timeout),
            (Conn::Cluster(_), Some(cache)) => {
                keeper::spawn_cluster(conn.clone(), cache, self.prefix.clone());
            }
            _ => {}
        }
        Ok(RedisStorage {
            conn,
            keys,
            timeout: self.timeout,
            cache,
            recent: Arc::new(RecentPrincipals::new()),
        })
    }
}
