//! Redis Cluster: three primaries, keys spread over hash slots.

use std::sync::Arc;
use std::time::Duration;

use typed_sessions::storage::{RedisStorage, SessionId, SessionStorage};

use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
use crate::support::servers::{self, RedisCluster};

/// A fresh, empty storage on the shared cluster: its own key prefix (no hash tag, so
/// sessions spread over the nodes and id changes cross slots).
pub async fn fresh(test: &str) -> Option<RedisStorage> {
    open(test, None).await
}

async fn open(test: &str, timeout: Option<Duration>) -> Option<RedisStorage> {
    let cluster = servers::redis_cluster(test)?;
    let mut builder = RedisStorage::builder().prefix(format!("test:{}:", unique()));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    let storage = builder.connect_cluster(cluster.urls()).await.unwrap();
    assert!(storage.is_cluster());
    Some(storage)
}

storage_semantics!(fresh, sweeps = false);

/// [`fresh`] with the [`PATIENT`](crate::support::PATIENT) call timeout.
pub async fn patient(test: &str) -> Option<RedisStorage> {
    open(test, Some(crate::support::PATIENT)).await
}

/// The same rules with a hash-tag prefix: every key in one slot, id changes in one script.
mod hash_tag {
    use super::*;

    pub async fn fresh(test: &str) -> Option<RedisStorage> {
        let cluster = servers::redis_cluster(test)?;
        Some(
            RedisStorage::builder()
                .prefix(format!("{{test-{}}}:", unique()))
                .connect(&cluster.url())
                .await
                .unwrap(),
        )
    }

    storage_semantics!(fresh, sweeps = false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_spread_over_the_nodes_under_hashed_keys() {
    let Some(cluster) = servers::redis_cluster("sessions_spread") else {
        return;
    };
    let storage = fresh("sessions_spread").await.unwrap();
    let t = base();
    let ids: Vec<SessionId> = (0..30).map(|_| SessionId::generate()).collect();
    for id in &ids {
        storage
            .create(session_key(id), &record("{}", t, HOUR), t)
            .await
            .unwrap();
    }
    let mut nodes_used = 0;
    let mut found = 0;
    for node in &cluster.nodes {
        let keys = node
            .command(&format!("KEYS {}*", storage.prefix()))
            .unwrap();
        for id in &ids {
            assert!(!keys.contains(id.as_str()), "a raw id is a key");
            found += usize::from(keys.contains(&session_key(id).storage_key()));
        }
        nodes_used += usize::from(keys.contains(storage.prefix()));
    }
    assert_eq!(found, ids.len(), "every session is on some node");
    assert!(nodes_used >= 2, "30 sessions all landed on one node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_round_trip() {
    let Some(storage) = fresh("cluster http_round_trip").await else {
        return;
    };
    super::http::round_trip(Arc::new(storage)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_url_and_node_list_reach_the_same_sessions() {
    let Some(cluster) = servers::redis_cluster("cluster url") else {
        return;
    };
    let prefix = format!("test:{}:", unique());
    let by_list = RedisStorage::builder()
        .prefix(prefix.clone())
        .connect_cluster(cluster.urls())
        .await
        .unwrap();
    let by_url = RedisStorage::builder()
        .prefix(prefix)
        .connect(&cluster.url())
        .await
        .unwrap();
    let t = base();
    let id = SessionId::generate();
    let x = record("x", t, HOUR);
    by_list.create(session_key(&id), &x, t).await.unwrap();
    assert_eq!(by_url.load(session_key(&id), t).await.unwrap(), Some(x));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_is_503_and_the_same_cookie_works_after_a_restart() {
    if servers::skipped("redis", "redis cluster outage") {
        return;
    }
    let cluster = RedisCluster::start();
    let timeout = Duration::from_secs(1);
    let storage = RedisStorage::builder()
        .timeout(timeout)
        .connect(&cluster.url())
        .await
        .unwrap();
    super::http::outage_and_recovery(
        Arc::new(storage),
        timeout,
        || cluster.stop(),
        || cluster.restart(),
    )
    .await;
}
