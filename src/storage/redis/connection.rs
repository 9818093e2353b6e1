//! Where the Redis storage connects to, and the connection it holds.
//!
//! A single node is reached through a redis-rs [`ConnectionManager`]: one multiplexed
//! connection (many requests in flight on one socket, no pool to size) that reconnects by
//! itself after the server went away. A Cluster is reached through a redis-rs
//! [`ClusterConnection`]: one multiplexed connection per node, routed by hash slot, that
//! follows `MOVED`/`ASK` redirections and refreshes its slot map.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{
    Cmd, ConnectionInfo, ErrorKind, IntoConnectionInfo, Pipeline, RedisError, RedisFuture,
    RedisResult, ServerErrorKind, Value,
};

use crate::storage::StorageError;

/// What a URL names: one server, or the seed nodes of a Cluster.
pub(crate) enum Target {
    Single(Box<ConnectionInfo>),
    Cluster(Vec<ConnectionInfo>),
}

impl Target {
    /// Parses `redis://`, `rediss://`, `redis+unix://`, `unix://`, and the Cluster forms
    /// `redis+cluster://host1:port1,host2:port2` and `rediss+cluster://...`.
    ///
    /// The error never repeats the URL (it may hold a password).
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            "a Redis URL starts with redis://, rediss:// or redis+cluster://".to_owned()
        })?;
        let scheme = scheme.to_ascii_lowercase();
        check_tls(&scheme)?;
        match scheme.as_str() {
            "redis+cluster" | "rediss+cluster" => {
                let nodes = cluster_nodes(&scheme, rest)?;
                Ok(Target::Cluster(nodes))
            }
            "redis" | "rediss" | "redis+unix" | "unix" | "valkey" | "valkeys" => {
                Ok(Target::Single(Box::new(info(url)?)))
            }
            other => Err(format!("`{other}` is not a Redis URL scheme")),
        }
    }

    /// Seed-node URLs of a Cluster, each `redis://` or `rediss://`.
    pub(crate) fn cluster<I, S>(nodes: I) -> Result<Target, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let nodes = nodes
            .into_iter()
            .map(|url| {
                let url = url.as_ref();
                if let Some((scheme, _)) = url.split_once("://") {
                    check_tls(&scheme.to_ascii_lowercase())?;
                }
                info(url)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.is_empty() {
            return Err("a Redis Cluster needs at least one node URL".into());
        }
        Ok(Target::Cluster(nodes))
    }

    /// Whether this names a Cluster.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Target::Cluster(_))
    }
}

fn info(url: &str) -> Result<ConnectionInfo, String> {
    url.into_connection_info().map_err(|e| {
        format!(
            "invalid Redis URL: {}",
            e.detail().unwrap_or("cannot be parsed")
        )
    })
}

/// `rediss` needs the `rustls` feature; say so instead of redis-rs's generic message.
fn check_tls(scheme: &str) -> Result<(), String> {
    let tls = scheme.starts_with("rediss") || scheme.starts_with("valkeys");
    if tls && !cfg!(feature = "rustls") {
        return Err(format!(
            "`{scheme}://` (TLS) needs the `rustls` feature of typed-sessions"
        ));
    }
    Ok(())
}

/// `[user[:password]@]host:port,host:port[/][?query]` → one URL per node.
fn cluster_nodes(scheme: &str, rest: &str) -> Result<Vec<ConnectionInfo>, String> {
    let node_scheme = if scheme.starts_with("rediss") {
        "rediss"
    } else {
        "redis"
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let tail = tail.strip_prefix('/').unwrap_or(tail);
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    if !(path.is_empty() || path == "0") {
        return Err("a Redis Cluster has only database 0".into());
    }
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
        None => (String::new(), authority),
    };
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let nodes = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|host| info(&format!("{node_scheme}://{userinfo}{host}{query}")))
        .collect::<Result<Vec<_>, _>>()?;
    if nodes.is_empty() {
        return Err(
            "a redis+cluster URL names its nodes: redis+cluster://host1:port1,host2:port2".into(),
        );
    }
    Ok(nodes)
}

/// The connection a storage holds; clones share it.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conn::Single(_) => "single node",
            Conn::Cluster(_) => "cluster",
        })
    }
}

impl Conn {
    /// Connects, waiting at most `timeout` for each attempt.
    pub(crate) async fn open(target: Target, timeout: Duration) -> Result<Conn, RedisError> {
        #[cfg(feature = "rustls")]
        {
            // redis-rs builds its rustls configuration from the process-wide provider; make
            // sure there is one (ring), whatever else the application links.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        match target {
            Target::Single(info) => {
                let client = redis::Client::open(*info)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    // Reconnect promptly once the server is back: few, short retries (each
                    // request that finds the connection down starts a new round).
                    .set_number_of_retries(2)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(Duration::from_millis(250));
                Ok(Conn::Single(
                    ConnectionManager::new_with_config(client, config).await?,
                ))
            }
            Target::Cluster(nodes) => {
                let client = ClusterClient::builder(nodes)
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(2)
                    .min_retry_wait(20)
                    .max_retry_wait(250)
                    .build()?;
                Ok(Conn::Cluster(client.get_async_connection().await?))
            }
        }
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
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/2"),
            Ok(Target::Single(_))
        ));
        let Ok(Target::Cluster(nodes)) =
            Target::parse("redis+cluster://user:secret@10.0.0.1:7001,10.0.0.2:7002/")
        else {
            panic!("cluster URL not parsed");
        };
        assert_eq!(nodes.len(), 2);
        for bad in [
            "127.0.0.1:6379",
            "http://localhost",
            "redis+cluster://",
            "redis+cluster://h:1/3",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        let err = Target::parse("redis://user:hunter2@host:notaport")
            .err()
            .unwrap_or_default();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(Target::cluster(Vec::<String>::new()).is_err());
        assert!(Target::cluster(["redis://a:1", "redis://b:2"]).is_ok());
    }

    #[cfg(not(feature = "rustls"))]
    #[test]
    fn tls_without_the_feature_says_which_feature() {
        let err = Target::parse("rediss://host:6380")
            .err()
            .unwrap_or_default();
        assert!(err.contains("`rustls` feature"), "{err}");
    }
}
