//! Redis values and commands beyond the contract: values of the earlier format still load,
//! a load stays one `GET` and an update one `SET` that never touches the principal index.

use typed_sessions::storage::{RedisStorage, Revision, SessionId, SessionStorage, Updated};

use super::semantics::{HOUR, base, record};
use crate::common::session_key;
use crate::support::servers::{self, Redis};

/// How many times `server` ran `command` (lowercase) since its last `CONFIG RESETSTAT`.
pub fn calls(server: &Redis, command: &str) -> u64 {
    let stats = server.command("INFO commandstats").unwrap();
    let line = format!("cmdstat_{command}:calls=");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

/// What a load, an update and a conditional update send, counted by the server itself (a
/// server of its own, so no other test's commands count).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_is_one_get_and_an_update_one_set_that_never_touches_the_index() {
    if servers::skipped("redis", "command counts") {
        return;
    }
    let server = Redis::start();
    let storage = RedisStorage::connect(&server.url()).await.unwrap();
    let t = base();
    let id = SessionId::generate();
    let created = record("v1", t, HOUR).with_principal("ada");
    storage.create(session_key(&id), &created, t).await.unwrap();
    // Load the conditional update's script (its first call meets NOSCRIPT and loads it).
    let other = SessionId::generate();
    let warm_up = record("w", t, HOUR);
    storage
        .create(session_key(&other), &warm_up, t)
        .await
        .unwrap();
    let again = record("w2", t, HOUR);
    let written = storage
        .update_if(session_key(&other), &again, warm_up.revision, t)
        .await;
    assert_eq!(written.unwrap(), Updated::Written);
    let count = |command: &str| calls(&server, command);
    assert!(
        server
            .command("CONFIG RESETSTAT")
            .unwrap()
            .starts_with("+OK")
    );
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!((count("get"), count("evalsha"), count("set")), (1, 0, 0));
    let updated = record("v2", t, HOUR).with_principal("ada");
    assert!(storage.update(session_key(&id), &updated, t).await.unwrap());
    let index = ["zadd", "zrem", "zremrangebyscore", "pexpireat"];
    assert_eq!(
        (count("set"), count("evalsha")),
        (1, 0),
        "an update is one SET"
    );
    assert_eq!(index.map(count), [0; 4], "an update touches no index");
    let third = record("v3", t, HOUR).with_principal("ada");
    let written = storage
        .update_if(session_key(&id), &third, updated.revision, t)
        .await
        .unwrap();
    assert_eq!(written, Updated::Written);
    assert_eq!(
        (count("evalsha"), count("set")),
        (1, 2),
        "one script, one SET in it"
    );
    assert_eq!(
        index.map(count),
        [0; 4],
        "a conditional update touches no index"
    );
}

/// `bytes` as a double-quoted argument of an inline command.
fn quoted(bytes: &[u8]) -> String {
    let escaped: String = bytes.iter().map(|b| format!("\\x{b:02x}")).collect();
    format!("\"{escaped}\"")
}

/// A value written by the earlier format: version 1, created, expires, data.
fn format_1(created_ms: u64, expires_ms: u64, data: &[u8]) -> Vec<u8> {
    let mut value = vec![1u8];
    value.extend_from_slice(&created_ms.to_be_bytes());
    value.extend_from_slice(&expires_ms.to_be_bytes());
    value.extend_from_slice(data);
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_of_the_earlier_format_still_load_and_update() {
    let Some(server) = servers::redis("format 1") else {
        return;
    };
    let storage = super::redis::fresh("format 1").await.unwrap();
    let t = base();
    let ms = |time: std::time::SystemTime| {
        time.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let id = SessionId::generate();
    let key = storage.record_key(session_key(&id));
    let value = format_1(ms(t), ms(t + HOUR), b"{\"cart\":[1,2]}");
    let set = server
        .command(&format!("SET {key} {}", quoted(&value)))
        .unwrap();
    assert!(set.starts_with("+OK"), "{set}");
    let loaded = storage.load(session_key(&id), t).await.unwrap().unwrap();
    assert_eq!(loaded.data, b"{\"cart\":[1,2]}");
    assert_eq!((loaded.created_at, loaded.expires_at), (t, t + HOUR));
    assert_eq!(loaded.revision, Revision::from_u64(0));
    assert_eq!((loaded.meta.principal, loaded.meta.last_seen), (None, t));
    assert_eq!(loaded.meta.lifetime_ends_at, t + HOUR);
    assert_eq!(
        storage.load(session_key(&id), t + HOUR).await.unwrap(),
        None
    );
    // A conditional update over the revision it read rewrites it in the new format.
    let next = record("{\"cart\":[1,2,3]}", t, HOUR);
    let outcome = storage
        .update_if(session_key(&id), &next, loaded.revision, t)
        .await
        .unwrap();
    assert_eq!(outcome, Updated::Written);
    assert_eq!(
        server.command(&format!("GETRANGE {key} 0 0")).unwrap(),
        "$1\r\n\x02\r\n"
    );
    assert_eq!(storage.load(session_key(&id), t).await.unwrap(), Some(next));
    // Timestamps that overflow every clock load (as a session that never ends) and update.
    let other = SessionId::generate();
    let key = storage.record_key(session_key(&other));
    let value = format_1(u64::MAX, u64::MAX, b"{}");
    server
        .command(&format!("SET {key} {}", quoted(&value)))
        .unwrap();
    let loaded = storage.load(session_key(&other), t).await.unwrap().unwrap();
    assert!(loaded.expires_at > t + HOUR * 24 * 365 * 1000);
    assert!(
        storage
            .update(session_key(&other), &record("x", t, HOUR), t)
            .await
            .unwrap()
    );
    let ttl = server.command(&format!("PTTL {key}")).unwrap();
    let ttl: i64 = ttl.trim().trim_start_matches(':').parse().unwrap();
    assert!(
        (1..=3_600_000).contains(&ttl),
        "the update set its expiry: {ttl}"
    );
}
