//! The Redis principal index beyond the contract: it expires with its sessions and nothing
//! accumulates, and a principal's keys share one hash slot in a Cluster.

use std::time::Duration;

use typed_sessions::storage::redis::MisplacedSession;
use typed_sessions::storage::{
    Namespace, RedisStorage, SessionId, SessionStorage, StorageErrorKind,
};

use super::semantics::{HOUR, base, record};
use crate::common::session_key;
use crate::support::servers::{self, Redis, RedisCluster};

/// The namespace of [`session_key`].
pub fn ns() -> Namespace {
    Namespace::new("s")
}

/// A new id for a session of `principal`, as the sessions layer makes it.
pub fn id_of(storage: &RedisStorage, principal: &str) -> SessionId {
    let id = SessionId::generate();
    match storage.principal_id_prefix(&ns(), principal) {
        Some(prefix) => SessionId::parse(&format!("{prefix}{}", &id.as_str()[4..])).unwrap(),
        None => id,
    }
}

/// The servers a storage lives on, to inspect its keys.
enum Place<'a> {
    Single(&'a Redis),
    Cluster(&'a RedisCluster),
}

impl Place<'_> {
    /// `command` about `key`, sent to the node that holds `key`.
    fn on(&self, key: &str, command: &str) -> String {
        let nodes: Vec<&Redis> = match self {
            Place::Single(server) => vec![server],
            Place::Cluster(cluster) => cluster.nodes.iter().collect(),
        };
        for node in nodes {
            let reply = node.command(&format!("{command} {key}")).unwrap();
            if !reply.starts_with("-MOVED") {
                return reply;
            }
        }
        panic!("no node holds {key}");
    }

    /// An integer reply of `command` about `key`.
    fn int(&self, key: &str, command: &str) -> i64 {
        let reply = self.on(key, command);
        reply.trim().trim_start_matches(':').parse().unwrap()
    }

    /// How many keys start with `prefix`, on every node.
    fn count(&self, prefix: &str) -> usize {
        let nodes: Vec<&Redis> = match self {
            Place::Single(server) => vec![server],
            Place::Cluster(cluster) => cluster.nodes.iter().collect(),
        };
        nodes
            .iter()
            .map(|node| {
                let reply = node.command(&format!("KEYS {prefix}*")).unwrap();
                let first = reply.lines().next().unwrap();
                first.trim_start_matches('*').parse::<usize>().unwrap()
            })
            .sum()
    }
}

/// The index follows create, delete and change_id, trims passed entries on every addition,
/// expires with its last session, and nothing is left once every session has ended.
async fn index_expires_and_nothing_accumulates(storage: &RedisStorage, place: &Place<'_>) {
    let t = base();
    let (ada, bob) = (
        storage.principal_key(&ns(), "ada"),
        storage.principal_key(&ns(), "bob"),
    );
    let short = Duration::from_millis(1000);
    let long = Duration::from_millis(2500);
    // Two sessions: the set expires at the later end of lifetime.
    let first = id_of(storage, "ada");
    let record_a = record("a", t, short).with_principal("ada");
    storage
        .create(session_key(&first), &record_a, t)
        .await
        .unwrap();
    assert_eq!(place.int(&ada, "ZCARD"), 1);
    let ttl = place.int(&ada, "PTTL");
    assert!(
        (1..=1000).contains(&ttl),
        "the index expires with its session: {ttl}"
    );
    let second = id_of(storage, "ada");
    let record_b = record("b", t, long).with_principal("ada");
    storage
        .create(session_key(&second), &record_b, t)
        .await
        .unwrap();
    assert_eq!(place.int(&ada, "ZCARD"), 2);
    let ttl = place.int(&ada, "PTTL");
    assert!((1000..=2500).contains(&ttl), "the highest score: {ttl}");
    // An anonymous session is in no index.
    let anonymous = SessionId::generate();
    let record_c = record("c", t, short);
    storage
        .create(session_key(&anonymous), &record_c, t)
        .await
        .unwrap();
    // A delete removes the entry; a login moves an anonymous session under bob.
    let third = id_of(storage, "ada");
    let record_d = record("d", t, long).with_principal("ada");
    storage
        .create(session_key(&third), &record_d, t)
        .await
        .unwrap();
    assert!(storage.delete(session_key(&third)).await.unwrap());
    assert_eq!(place.int(&ada, "ZCARD"), 2);
    let login = id_of(storage, "bob");
    let record_e = record("e", t, short).with_principal("bob");
    assert!(
        storage
            .change_id(session_key(&anonymous), session_key(&login), &record_e, t)
            .await
            .unwrap()
    );
    assert_eq!(place.int(&bob, "ZCARD"), 1);
    // Once the first session's lifetime has passed, the next addition trims it, although the
    // set itself lives on until the second's.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let now = base();
    assert_eq!(
        place.int(&ada, "ZCARD"),
        2,
        "not trimmed before an addition"
    );
    let fourth = id_of(storage, "ada");
    let record_f = record("f", now, Duration::from_millis(500)).with_principal("ada");
    storage
        .create(session_key(&fourth), &record_f, now)
        .await
        .unwrap();
    assert_eq!(place.int(&ada, "ZCARD"), 2, "the passed entry was trimmed");
    let listed = storage.sessions_of(&ns(), "ada", now).await.unwrap();
    assert_eq!(listed.len(), 2);
    // When every session has ended (and, in a Cluster, the login's tombstone, which lasts
    // the storage's timeout and a second), no key of the storage is left.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        place.count(storage.prefix()),
        0,
        "keys left after every session ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_expires_with_its_sessions_and_nothing_accumulates() {
    let Some(server) = servers::redis("index expiry") else {
        return;
    };
    let storage = super::redis::fresh("index expiry").await.unwrap();
    index_expires_and_nothing_accumulates(&storage, &Place::Single(server)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_index_expires_with_its_sessions_and_nothing_accumulates() {
    let Some(cluster) = servers::redis_cluster("cluster index expiry") else {
        return;
    };
    let storage = super::redis_cluster::fresh("cluster index expiry")
        .await
        .unwrap();
    index_expires_and_nothing_accumulates(&storage, &Place::Cluster(cluster)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_s_sessions_and_index_share_one_cluster_slot() {
    let Some(cluster) = servers::redis_cluster("cluster slots") else {
        return;
    };
    let place = Place::Cluster(cluster);
    let storage = super::redis_cluster::fresh("cluster slots").await.unwrap();
    let slot = |key: &str| -> i64 {
        let reply = cluster.nodes[0]
            .command(&format!("CLUSTER KEYSLOT {key}"))
            .unwrap();
        reply.trim().trim_start_matches(':').parse().unwrap()
    };
    let t = base();
    let mut slots = std::collections::BTreeSet::new();
    for principal in ["ada", "bob", "carol", "dave"] {
        let index = storage.principal_key(&ns(), principal);
        slots.insert(slot(&index));
        let prefix = storage.principal_id_prefix(&ns(), principal).unwrap();
        assert_eq!(prefix.len(), 4);
        assert!(index.contains(&format!("{{{prefix}}}")));
        for n in 0..4 {
            let id = id_of(&storage, principal);
            let data = format!("{principal}{n}");
            let r = record(&data, t, HOUR).with_principal(principal);
            if n == 0 {
                // A login: an anonymous session (any slot) moved under the principal.
                let anonymous = SessionId::generate();
                storage
                    .create(session_key(&anonymous), &record("a", t, HOUR), t)
                    .await
                    .unwrap();
                let moved = storage
                    .change_id(session_key(&anonymous), session_key(&id), &r, t)
                    .await
                    .unwrap();
                assert!(moved);
            } else {
                storage.create(session_key(&id), &r, t).await.unwrap();
            }
            let key = storage.record_key(session_key(&id));
            assert_eq!(slot(&key), slot(&index), "{principal}'s session {n}");
            // The record and the index are on one node: the one that answers for both.
            assert_eq!(place.on(&key, "EXISTS"), ":1\r\n");
            assert!(!key.contains(id.as_str()) && !index.contains(principal));
        }
        assert_eq!(place.int(&index, "ZCARD"), 4);
        let listed = storage.sessions_of(&ns(), principal, t).await.unwrap();
        assert_eq!(listed.len(), 4);
    }
    assert!(slots.len() > 1, "four principals in one slot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_refuses_a_principal_s_session_outside_its_slot() {
    let Some(_) = servers::redis_cluster("misplaced") else {
        return;
    };
    let storage = super::redis_cluster::fresh("misplaced").await.unwrap();
    let prefix = storage.principal_id_prefix(&ns(), "ada").unwrap();
    let mut id = SessionId::generate();
    while id.as_str().starts_with(&prefix) {
        id = SessionId::generate();
    }
    let t = base();
    let r = record("{}", t, HOUR).with_principal("ada");
    let refused = |error: typed_sessions::storage::StorageError| {
        assert_eq!(error.kind(), StorageErrorKind::Backend, "{error}");
        let source = std::error::Error::source(&error).unwrap();
        assert!(
            source.downcast_ref::<MisplacedSession>().is_some(),
            "{source}"
        );
    };
    refused(storage.create(session_key(&id), &r, t).await.unwrap_err());
    assert_eq!(storage.load(session_key(&id), t).await.unwrap(), None);
    let anonymous = SessionId::generate();
    storage
        .create(session_key(&anonymous), &record("a", t, HOUR), t)
        .await
        .unwrap();
    refused(
        storage
            .update(session_key(&anonymous), &r, t)
            .await
            .unwrap_err(),
    );
    let moved = storage
        .change_id(session_key(&anonymous), session_key(&id), &r, t)
        .await;
    refused(moved.unwrap_err());
    assert!(
        storage
            .load(session_key(&anonymous), t)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        storage
            .sessions_of(&ns(), "ada", t)
            .await
            .unwrap()
            .is_empty()
    );
    // With a hash tag in the prefix every key shares one slot: any id will do.
    let cluster = servers::redis_cluster("misplaced").unwrap();
    let one_slot = RedisStorage::builder()
        .prefix(format!("{{test-{}}}:", super::unique()))
        .connect(&cluster.url())
        .await
        .unwrap();
    assert_eq!(one_slot.principal_id_prefix(&ns(), "ada"), None);
    one_slot.create(session_key(&id), &r, t).await.unwrap();
    assert_eq!(
        one_slot.sessions_of(&ns(), "ada", t).await.unwrap().len(),
        1
    );
    // A prefix with a stray brace cannot place keys: refused at connect.
    let stray = RedisStorage::builder()
        .prefix("{}:")
        .connect(&cluster.url())
        .await;
    let error = stray.unwrap_err();
    assert_eq!(error.kind(), StorageErrorKind::Backend);
    assert!(error.to_string().contains("hash tag"), "{error}");
}

/// Reads of a logged-in session share its principal's text: the storage keeps the principals
/// it read lately (its clones too), so a user's requests do not allocate it again. The text is
/// always the record's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_a_principal_s_sessions_share_its_text() {
    let Some(storage) = super::redis::fresh("principal reads").await else {
        return;
    };
    let t = base();
    let mut ids = Vec::new();
    for principal in ["ada", "ada", "bob"] {
        let id = id_of(&storage, principal);
        let r = record("{}", t, HOUR).with_principal(principal);
        storage.create(session_key(&id), &r, t).await.unwrap();
        ids.push((id, principal));
    }
    let clone = storage.clone();
    let mut read = Vec::new();
    for (id, principal) in ids.iter().chain(&ids) {
        for s in [&storage, &clone] {
            let loaded = s.load(session_key(id), t).await.unwrap().unwrap();
            let text = loaded.meta.principal.unwrap();
            assert_eq!(&*text, *principal);
            read.push(text);
        }
    }
    // Ada's two sessions, read four times in a row: one text.
    let first = &read[0];
    assert!(
        read[..4].iter().all(|p| std::sync::Arc::ptr_eq(p, first)),
        "every read of ada's two sessions shares one text"
    );
    assert!(!std::sync::Arc::ptr_eq(&read[4], first));
    assert!(std::sync::Arc::ptr_eq(&read[4], &read[5]));
    // Read again after bob: both are still shared, each its own.
    assert!(read[6..10].iter().all(|p| std::sync::Arc::ptr_eq(p, first)));
    assert!(
        read[10..]
            .iter()
            .all(|p| std::sync::Arc::ptr_eq(p, &read[4]))
    );
}
