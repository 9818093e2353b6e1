//! Lost replies: a proxy between the storage and Redis forwards a command, lets the server run
//! it, then drops the reply and closes the connection, as a network failure at the worst
//! moment would. The storage (and, in a Cluster, the client library itself) sends the command
//! again on a new connection; every write must recognise its own earlier effect instead of
//! reporting a collision (a custom-id create answered with a 500), a missing session (a login
//! that logs the user out), or undoing its own move (a Cluster id change that destroys the
//! session).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use typed_sessions::storage::{
    Created, RedisStorage, SessionHandle, SessionId, SessionStorage, Updated,
};

use super::redis_index::{id_of, ns};
use super::semantics::{HOUR, base, record};
use super::unique;
use crate::common::session_key;
use crate::support::servers::{self, RedisCluster};

/// Which reply the proxies drop: the one to the `skip + 1`-th command holding `pattern` that
/// the server runs (an error reply, such as `NOSCRIPT`, means it did not run: it passes).
#[derive(Default)]
struct Trigger {
    armed: Mutex<Option<(Vec<u8>, usize)>>,
    fired: AtomicUsize,
}

impl Trigger {
    fn arm(&self, pattern: &[u8], skip: usize) {
        *self.armed.lock().unwrap() = Some((pattern.to_vec(), skip));
    }

    fn fired(&self) -> usize {
        self.fired.load(Ordering::SeqCst)
    }

    /// Whether a command (a chunk from the client) is one to watch.
    fn matches(&self, command: &[u8]) -> bool {
        self.armed
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|(pattern, _)| command.windows(pattern.len()).any(|w| w == pattern))
    }

    /// Whether to drop `reply`, the server's answer to a watched command.
    fn drops(&self, reply: &[u8]) -> bool {
        if reply.starts_with(b"-") {
            return false;
        }
        let mut armed = self.armed.lock().unwrap();
        match armed.as_mut() {
            Some((_, skip)) if *skip > 0 => {
                *skip -= 1;
                false
            }
            Some(_) => {
                *armed = None;
                self.fired.fetch_add(1, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}

/// A TCP proxy to the Redis server on `upstream`, on a port of its own.
async fn proxy(upstream: u16, trigger: Arc<Trigger>) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(forward(client, upstream, Arc::clone(&trigger)));
        }
    });
    port
}

/// Forwards one connection both ways; drops a watched reply and closes both sides.
async fn forward(mut client: TcpStream, upstream: u16, trigger: Arc<Trigger>) {
    let Ok(mut server) = TcpStream::connect((Ipv4Addr::LOCALHOST, upstream)).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.split();
    let (mut from_server, mut to_server) = server.split();
    let (mut up, mut down) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let mut watching = false;
    loop {
        tokio::select! {
            read = from_client.read(&mut up) => {
                let Ok(n @ 1..) = read else { return };
                watching |= trigger.matches(&up[..n]);
                if to_server.write_all(&up[..n]).await.is_err() {
                    return;
                }
            }
            read = from_server.read(&mut down) => {
                let Ok(n @ 1..) = read else { return };
                if std::mem::take(&mut watching) && trigger.drops(&down[..n]) {
                    return; // the server ran the command; its reply is lost with the connection
                }
                if to_client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The handles `sessions_of` lists for `principal`.
async fn listed(storage: &RedisStorage, principal: &str) -> Vec<SessionHandle> {
    let sessions = storage.sessions_of(&ns(), principal, base()).await.unwrap();
    sessions.into_iter().map(|s| s.handle).collect()
}

/// A fresh storage on the shared server, through a proxy.
async fn single(test: &str) -> Option<(Arc<Trigger>, RedisStorage)> {
    let server = servers::redis(test)?;
    let trigger = Arc::new(Trigger::default());
    let port = proxy(server.port, Arc::clone(&trigger)).await;
    let storage = RedisStorage::builder()
        .prefix(format!("test:{}:", unique()))
        .connect(&format!("redis://127.0.0.1:{port}"))
        .await
        .unwrap();
    Some((trigger, storage))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_whose_reply_is_lost_keeps_the_user_logged_in() {
    let Some((trigger, storage)) = single("lost reply: login").await else {
        return;
    };
    let t = base();
    let anonymous = SessionId::generate();
    storage
        .create(session_key(&anonymous), &record("{}", t, HOUR), t)
        .await
        .unwrap();
    let login = id_of(&storage, "ada");
    let r = record("{\"user\":\"ada\"}", t, HOUR).with_principal("ada");
    trigger.arm(b"EVALSHA", 0);
    let moved = storage
        .change_id(session_key(&anonymous), session_key(&login), &r, t)
        .await;
    assert_eq!(trigger.fired(), 1, "the reply was not dropped");
    assert!(
        moved.unwrap(),
        "the retried id change reported the session gone"
    );
    assert_eq!(storage.load(session_key(&login), t).await.unwrap(), Some(r));
    assert_eq!(
        storage.load(session_key(&anonymous), t).await.unwrap(),
        None
    );
    assert_eq!(
        listed(&storage, "ada").await,
        [SessionHandle::of(session_key(&login))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_id_create_whose_reply_is_lost_is_inserted() {
    let Some((trigger, storage)) = single("lost reply: custom create").await else {
        return;
    };
    let t = base();
    let id = SessionId::parse_custom("order-4711").unwrap();
    let r = record("{\"order\":4711}", t, HOUR);
    trigger.arm(b"\r\nNX\r\n", 0);
    let created = storage.create(session_key(&id), &r, t).await.unwrap();
    assert_eq!(trigger.fired(), 1, "the reply was not dropped");
    assert_eq!(
        created,
        Created::Inserted,
        "the retried create collided with itself"
    );
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(r.clone())
    );
    // Another create of the id is still a collision.
    let other = record("{\"order\":1}", t, HOUR);
    let again = storage.create(session_key(&id), &other, t).await.unwrap();
    assert_eq!(again, Created::Collision);
    assert_eq!(storage.load(session_key(&id), t).await.unwrap(), Some(r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_create_and_a_conditional_update_whose_replies_are_lost_succeed() {
    let Some((trigger, storage)) = single("lost reply: scripts").await else {
        return;
    };
    let t = base();
    let id = id_of(&storage, "ada");
    let first = record("v1", t, HOUR).with_principal("ada");
    trigger.arm(b"EVALSHA", 0);
    let created = storage.create(session_key(&id), &first, t).await.unwrap();
    assert_eq!(trigger.fired(), 1, "the create's reply was not dropped");
    assert_eq!(
        created,
        Created::Inserted,
        "the retried create collided with itself"
    );
    assert_eq!(
        listed(&storage, "ada").await,
        [SessionHandle::of(session_key(&id))]
    );
    let second = record("v2", t, HOUR).with_principal("ada");
    trigger.arm(b"EVALSHA", 0);
    let outcome = storage
        .update_if(session_key(&id), &second, first.revision, t)
        .await
        .unwrap();
    assert_eq!(trigger.fired(), 2, "the update's reply was not dropped");
    assert_eq!(
        outcome,
        Updated::Written,
        "the retried update conflicted with itself"
    );
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(second)
    );
}

/// A Cluster of its own whose nodes announce the proxies' ports, so that every connection
/// the client makes (after the slot map) goes through a proxy.
async fn cluster_through_proxies() -> Option<(RedisCluster, Arc<Trigger>, RedisStorage)> {
    if servers::skipped("redis", "lost reply: cluster") {
        return None;
    }
    let cluster = RedisCluster::start();
    let trigger = Arc::new(Trigger::default());
    let mut ports = Vec::new();
    for node in &cluster.nodes {
        let port = proxy(node.port, Arc::clone(&trigger)).await;
        let set = node
            .command(&format!("CONFIG SET cluster-announce-port {port}"))
            .unwrap();
        assert!(set.starts_with("+OK"), "{set}");
        ports.push(port);
    }
    let until = Instant::now() + Duration::from_secs(20);
    while !cluster.nodes.iter().all(|node| {
        let slots = node.command("CLUSTER SLOTS").unwrap_or_default();
        ports.iter().all(|p| slots.contains(&format!(":{p}\r\n")))
    }) {
        assert!(
            Instant::now() < until,
            "the nodes never announced the proxies"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    let storage = RedisStorage::builder()
        .prefix(format!("test:{}:", unique()))
        .connect_cluster(urls)
        .await
        .unwrap();
    Some((cluster, trigger, storage))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_id_change_whose_replies_are_lost_keeps_the_session() {
    let Some((_cluster, trigger, storage)) = cluster_through_proxies().await else {
        return;
    };
    let t = base();
    // An anonymous session whose id has another tag than ada's: the move crosses slots.
    let prefix = storage.principal_id_prefix(&ns(), "ada").unwrap();
    let anonymous = |n: usize| loop {
        let id = SessionId::generate();
        if !id.as_str().starts_with(&prefix) {
            break (id, record(&format!("anonymous {n}"), t, HOUR));
        }
    };
    // Lost: the reply to the second step (the script that ends the old record), then to the
    // first (the create of the new one, with its index entry).
    for skip in [1, 0] {
        let (old, before) = anonymous(skip);
        storage.create(session_key(&old), &before, t).await.unwrap();
        let login = id_of(&storage, "ada");
        let r = record(&format!("ada {skip}"), t, HOUR).with_principal("ada");
        trigger.arm(b"EVALSHA", skip);
        let moved = storage
            .change_id(session_key(&old), session_key(&login), &r, t)
            .await;
        assert_eq!(trigger.fired(), 2 - skip, "the reply was not dropped");
        assert!(
            moved.unwrap(),
            "the retried move undid itself (skip {skip})"
        );
        assert_eq!(storage.load(session_key(&login), t).await.unwrap(), Some(r));
        assert_eq!(storage.load(session_key(&old), t).await.unwrap(), None);
        assert!(
            listed(&storage, "ada")
                .await
                .contains(&SessionHandle::of(session_key(&login)))
        );
    }
    // A new id for an anonymous session (create with SET NX, then the script).
    let (old, before) = anonymous(2);
    storage.create(session_key(&old), &before, t).await.unwrap();
    let (new, after) = anonymous(3);
    trigger.arm(b"EVALSHA", 0);
    let moved = storage
        .change_id(session_key(&old), session_key(&new), &after, t)
        .await;
    assert_eq!(trigger.fired(), 3, "the reply was not dropped");
    assert!(moved.unwrap(), "the retried move undid itself");
    assert_eq!(
        storage.load(session_key(&new), t).await.unwrap(),
        Some(after)
    );
    assert_eq!(listed(&storage, "ada").await.len(), 2);
}
