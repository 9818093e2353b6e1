//! The connection a Redis storage holds.
//!
//! A single node is reached through a redis-rs [`ConnectionManager`]: one multiplexed
//! connection (many requests in flight on one socket, no pool to size) that reconnects by
//! itself after the server went away; with a client-side cache, through a [`Tracked`]
//! connection instead (one multiplexed RESP3 connection that runs `CLIENT TRACKING` before it
//! is used). A Cluster is reached through a redis-rs [`ClusterConnection`]: one multiplexed
//! connection per node, routed by hash slot, that follows `MOVED`/`ASK` redirections and
//! refreshes its slot map; with a client-side cache it speaks RESP3 and hands its push messages
//! to the cache.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, FromRedisValue, Pipeline, ProtocolVersion, PushInfo,
    RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};

use super::cache::SharedCache;
use super::keeper::tracking_command;
pub(crate) use super::target::Target;
use super::tracked::Tracked;
use crate::storage::StorageError;

/// The connection a storage holds; clones share it.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Tracked(Tracked),
    Cluster(ClusterConnection),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conn::Single(_) | Conn::Tracked(_) => "single node",
            Conn::Cluster(_) => "cluster",
        })
    }
}

impl Conn {
    /// Connects, waiting at most `timeout` for each attempt. With `cache`, every connection
    /// speaks RESP3 and tracks the keys under `prefix` for it (a Cluster's nodes are checked
    /// by the caller, see [`keeper::audit`](super::keeper::audit)).
    pub(crate) async fn open(
        target: Target,
        timeout: Duration,
        cache: Option<(&SharedCache, &str)>,
    ) -> Result<Conn, RedisError> {
        #[cfg(feature = "rustls")]
        {
            // redis-rs builds its rustls configuration from the process-wide provider; make
            // sure there is one (ring), whatever else the application links.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        match (target, cache) {
            (Target::Single(info), None) => {
                let client = redis::Client::open(*info)?;
                // No response timeout of the connection's own: every call runs under the
                // storage's deadline already, and redis-rs would arm a second timer per
                // command, whose registration can wake the runtime's driver (an `eventfd`
                // write). Its expiry would not reconnect either: a timeout is not a lost
                // connection.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(None)
                    // Reconnect promptly once the server is back: few, short retries (each
                    // request that finds the connection down starts a new round).
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(Duration::from_millis(250));
                Ok(Conn::Single(
                    ConnectionManager::new_with_config(client, config).await?,
                ))
            }
            (Target::Single(info), Some((cache, prefix))) => {
                let settings = info
                    .redis_settings()
                    .clone()
                    .set_protocol(ProtocolVersion::RESP3);
                let client = redis::Client::open((*info).set_redis_settings(settings))?;
                // No response timeout of the connection's own: every call runs under the
                // storage's (one timer per call, not two), and a call that times out drops the
                // connection (see `RedisStorage::run`).
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(None);
                let tracked =
                    Tracked::open(client, config, tracking_command(prefix), Arc::clone(cache))
                        .await?;
                Ok(Conn::Tracked(tracked))
            }
            (Target::Cluster(nodes), cache) => {
                let mut builder = ClusterClient::builder(nodes)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(2)
                    .min_retry_wait(20)
                    .max_retry_wait(250);
                if let Some((cache, _)) = cache {
                    let weak = Arc::downgrade(cache);
                    builder = builder.use_protocol(ProtocolVersion::RESP3).push_sender(
                        move |push: PushInfo| {
                            if let Some(cache) = weak.upgrade() {
                                cache.on_push(&push);
                            }
                            Ok::<(), Infallible>(())
                        },
                    );
                }
                Ok(Conn::Cluster(
                    builder.build()?.get_async_connection().await?,
                ))
            }
        }
    }

    /// Sends one command and reads its reply; the same as `req_packed_command`, one boxed
    /// future fewer on a tracked connection.
    pub(crate) async fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> RedisResult<T> {
        let reply = match self {
            Conn::Tracked(tracked) => tracked.send(cmd).await?,
            conn => conn.req_packed_command(cmd).await?,
        };
        Ok(redis::from_redis_value(reply.extract_error()?)?)
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    /// The nodes to visit to see every key: `[None]` (the server) for a single node, every
    /// primary of a Cluster (from `CLUSTER SLOTS`, each once) otherwise.
    pub(crate) async fn primaries(&mut self) -> RedisResult<Vec<Option<Node>>> {
        let Conn::Cluster(cluster) = self else {
            return Ok(vec![None]);
        };
        let slots = cluster
            .route_command(
                redis::cmd("CLUSTER").arg("SLOTS").clone(),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
            )
            .await?
            .extract_error()?;
        let mut nodes: Vec<Option<Node>> = Vec::new();
        let Value::Array(ranges) = slots else {
            return Err(unexpected("CLUSTER SLOTS"));
        };
        for range in ranges {
            // [start, end, [host, port, id, ...], replicas...]
            let Value::Array(parts) = range else {
                return Err(unexpected("CLUSTER SLOTS"));
            };
            let Some(Value::Array(primary)) = parts.into_iter().nth(2) else {
                return Err(unexpected("CLUSTER SLOTS"));
            };
            let mut fields = primary.into_iter();
            let (Some(host), Some(port)) = (fields.next(), fields.next()) else {
                return Err(unexpected("CLUSTER SLOTS"));
            };
            let node = Node {
                host: redis::from_redis_value(host)?,
                port: redis::from_redis_value(port)?,
            };
            if !nodes.iter().flatten().any(|n| *n == node) {
                nodes.push(Some(node));
            }
        }
        Ok(nodes)
    }

    /// Sends `cmd` to `node` of a Cluster, or to the server of a single node (`None`).
    pub(crate) async fn on_node(&mut self, node: Option<&Node>, cmd: &Cmd) -> RedisResult<Value> {
        match (self, node) {
            (Conn::Cluster(cluster), Some(node)) => {
                cluster
                    .route_command(cmd.clone(), RoutingInfo::SingleNode(node.routing()))
                    .await
            }
            (conn, _) => conn.req_packed_command(cmd).await,
        }
    }

    /// Sends the `count` commands of `pipeline` to `node` (see [`on_node`](Self::on_node));
    /// each reply may be an error of its own.
    pub(crate) async fn pipeline_on_node(
        &mut self,
        node: Option<&Node>,
        pipeline: &Pipeline,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        match (self, node) {
            (Conn::Cluster(cluster), Some(node)) => {
                cluster
                    .route_pipeline(pipeline.clone(), 0, count, node.routing())
                    .await
            }
            (conn, _) => conn.req_packed_commands(pipeline, 0, count).await,
        }
    }
}

/// A Cluster node, as `CLUSTER SLOTS` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    host: String,
    port: u16,
}

impl Node {
    fn routing(&self) -> SingleNodeRoutingInfo {
        SingleNodeRoutingInfo::ByAddress {
            host: self.host.clone(),
            port: self.port,
        }
    }
}

fn unexpected(what: &'static str) -> RedisError {
    RedisError::from((
        ErrorKind::UnexpectedReturnType,
        "unexpected reply",
        format!("{what} answered in an unexpected shape"),
    ))
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Tracked(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Tracked(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Tracked(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Whether `error` means the server (or the network to it) is down or busy, rather than a
/// refusal of the request itself.
pub(crate) fn is_unavailable(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        )
}

/// Whether a request that failed with `error` may be sent once more: the connection was lost
/// (and is being re-established), so the server most likely never saw it.
pub(crate) fn is_retryable(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.kind() == ErrorKind::ClusterConnectionNotFound
}

/// A [`StorageError`] for a failed Redis call.
pub(crate) fn storage_error(what: &str, error: RedisError) -> StorageError {
    if is_unavailable(&error) {
        StorageError::unavailable(format!("Redis {what}: the server is unreachable or busy"))
            .with_source(error)
    } else {
        StorageError::backend(format!("Redis {what} failed")).with_source(error)
    }
}
