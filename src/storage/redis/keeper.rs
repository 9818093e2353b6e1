//! Keeping tracking alive for a storage with a client-side cache: the tracking command, the
//! check that a Cluster's node connections all run it, and the background task that checks
//! once a second (and at once after a lost connection) until the storage is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::{Cmd, RedisResult, Value};

use super::cache::{LocalCache, SharedCache};
use super::connection::Conn;
use super::tracked::{Tracked, TrackedInner};

/// How often the keeper checks the connections.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(1);

/// `CLIENT TRACKING ON BCAST PREFIX <prefix> NOLOOP`: an invalidation for every change of a
/// key under `prefix` by any other client.
pub(super) fn tracking_command(prefix: &str) -> Cmd {
    let mut cmd = redis::cmd("CLIENT");
    cmd.arg("TRACKING")
        .arg("ON")
        .arg("BCAST")
        .arg("PREFIX")
        .arg(prefix)
        .arg("NOLOOP");
    cmd
}

/// Checks a `PING` on a single server's tracking connection every [`HEARTBEAT`] (a silent
/// failure surfaces as the ping's timeout, which drops the connection and empties the cache),
/// until the storage is gone.
pub(super) fn spawn_single(tracked: &Tracked, timeout: Duration) {
    let weak: Weak<TrackedInner> = tracked.downgrade();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(HEARTBEAT).await;
            let Some(tracked) = Tracked::upgrade(&weak) else {
                return;
            };
            match tokio::time::timeout(timeout, tracked.ping()).await {
                Ok(true) => {}
                Ok(false) => tracing::debug!("Redis client-side cache: heartbeat failed"),
                Err(_) => {
                    tracing::debug!("Redis client-side cache: heartbeat unanswered");
                    tracked.trouble();
                }
            }
        }
    });
}

/// Checks every [`HEARTBEAT`], and whenever the cache reports a lost connection, that every
/// primary of the Cluster tracks (see [`audit`]), until the storage is gone.
pub(super) fn spawn_cluster(conn: Conn, cache: &SharedCache, prefix: String) {
    let weak = Arc::downgrade(cache);
    tokio::spawn(async move {
        let mut conn = conn;
        loop {
            let Some(cache) = weak.upgrade() else {
                return;
            };
            tokio::select! {
                () = tokio::time::sleep(HEARTBEAT) => {}
                () = cache.woken() => {}
            }
            // The keeper holds the last reference: the storage is gone.
            if Arc::strong_count(&cache) == 1 {
                return;
            }
            if let Err(error) = audit(&mut conn, &cache, &prefix).await {
                tracing::debug!(%error, "Redis client-side cache: tracking check failed");
            }
        }
    });
}

/// Makes sure every primary's connection tracks `prefix`, then switches the cache on.
///
/// `CLIENT TRACKINGINFO` on each primary; where tracking is off (a connection the client
/// library opened since the last check, without a disconnection notice, or one whose notice
/// is still on its way), tracking is switched on and the cache emptied, and the check runs
/// again. A check that finds every connection tracking and no lost connection since it began
/// switches the cache on. A failure empties the cache and leaves it off until a later check
/// succeeds.
pub(super) async fn audit(conn: &mut Conn, cache: &LocalCache, prefix: &str) -> RedisResult<()> {
    let result = audit_once(conn, cache, prefix).await;
    if result.is_err() && cache.is_on() {
        cache.reset();
    }
    result
}

async fn audit_once(conn: &mut Conn, cache: &LocalCache, prefix: &str) -> RedisResult<()> {
    let info = {
        let mut cmd = redis::cmd("CLIENT");
        cmd.arg("TRACKINGINFO");
        cmd
    };
    let tracking = tracking_command(prefix);
    // Two passes at most in the usual case: one that switches tracking on, one that finds it
    // on everywhere. More only if connections keep changing.
    for _ in 0..8 {
        let generation = cache.generation();
        let mut switched_on = false;
        for node in &conn.primaries().await? {
            let reply = conn.on_node(node.as_ref(), &info).await?.extract_error()?;
            if !tracks(&reply, prefix) {
                conn.on_node(node.as_ref(), &tracking)
                    .await?
                    .extract_error()?;
                switched_on = true;
            }
        }
        if switched_on {
            tracing::debug!("Redis client-side cache: tracking switched on for a node; emptied");
            cache.reset();
            continue;
        }
        if cache.generation() == generation {
            cache.confirm(generation);
        }
        return Ok(());
    }
    Err(redis::RedisError::from((
        redis::ErrorKind::Client,
        "Redis Cluster connections keep changing; client-side cache paused",
    )))
}

/// Whether a `CLIENT TRACKINGINFO` reply says: broadcast mode, no loop, `prefix` among the
/// prefixes.
pub(super) fn tracks(reply: &Value, prefix: &str) -> bool {
    let (mut bcast, mut noloop, mut prefixed) = (false, false, false);
    for (field, value) in fields(reply) {
        match field.as_deref() {
            Some(b"flags") => {
                for flag in items(value) {
                    bcast |= flag == b"bcast";
                    noloop |= flag == b"noloop";
                }
            }
            Some(b"prefixes") => prefixed = items(value).any(|p| p == prefix.as_bytes()),
            _ => {}
        }
    }
    bcast && noloop && prefixed
}

/// The fields of a map reply (RESP3), or of a flat array of alternating names and values.
fn fields(reply: &Value) -> Vec<(Option<Vec<u8>>, &Value)> {
    match reply {
        Value::Map(pairs) => pairs.iter().map(|(k, v)| (bytes(k), v)).collect(),
        Value::Array(flat) => flat
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [k, v] => Some((bytes(k), v)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The strings in a set or array reply.
fn items(value: &Value) -> impl Iterator<Item = Vec<u8>> + '_ {
    let list: &[Value] = match value {
        Value::Set(items) | Value::Array(items) => items,
        _ => &[],
    };
    list.iter().filter_map(bytes)
}

fn bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn trackinginfo_replies_are_read_in_both_protocols() {
        let resp3 = Value::Map(vec![
            (
                s("flags"),
                Value::Set(vec![
                    Value::SimpleString("on".into()),
                    s("bcast"),
                    s("noloop"),
                ]),
            ),
            (s("redirect"), Value::Int(0)),
            (s("prefixes"), Value::Array(vec![s("app:")])),
        ]);
        assert!(tracks(&resp3, "app:"));
        assert!(!tracks(&resp3, "other:"));
        let off = Value::Array(vec![
            s("flags"),
            Value::Array(vec![s("off")]),
            s("redirect"),
            Value::Int(-1),
            s("prefixes"),
            Value::Array(vec![]),
        ]);
        assert!(!tracks(&off, "app:"));
        let looping = Value::Map(vec![
            (s("flags"), Value::Set(vec![s("on"), s("bcast")])),
            (s("prefixes"), Value::Array(vec![s("app:")])),
        ]);
        assert!(!tracks(&looping, "app:"), "without NOLOOP");
        assert!(!tracks(&Value::Nil, "app:"));
    }
}
