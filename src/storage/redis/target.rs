//! Where the Redis storage connects to: one server, or the seed nodes of a Cluster, from a URL
//! or a list of node URLs.

use redis::{ConnectionInfo, IntoConnectionInfo};

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
