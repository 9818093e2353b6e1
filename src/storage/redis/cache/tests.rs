use std::time::{Duration, SystemTime};

use redis::{PushInfo, PushKind, Value};

use super::*;
use crate::storage::{Namespace, SessionId};

const HOUR: Duration = Duration::from_secs(3600);

fn cache(options: ClientSideCache) -> LocalCache {
    let cache = LocalCache::new(&options, Keys::new("p:", false).unwrap());
    let generation = cache.reset();
    assert!(cache.confirm(generation));
    cache
}

fn session() -> (Key, Vec<u8>) {
    let ns = Namespace::new("s");
    let id = SessionId::generate();
    let digest = ns.key(&id).digest();
    let mut redis_key = b"p:".to_vec();
    redis_key.extend_from_slice(hex::encode(digest).as_bytes());
    (LocalCache::key(digest), redis_key)
}

fn record(data: &str) -> Record {
    let now = SystemTime::now();
    Record::new(data, now, now + HOUR)
}

fn hit(cache: &LocalCache, key: Key) -> Option<Record> {
    match cache.lookup(key, SystemTime::now()) {
        Lookup::Hit(record) => Some(record),
        Lookup::Miss(_) => None,
    }
}

fn ticket(cache: &LocalCache, key: Key) -> ReadTicket {
    match cache.lookup(key, SystemTime::now()) {
        Lookup::Miss(ticket) => ticket,
        Lookup::Hit(_) => panic!("expected a miss"),
    }
}

fn invalidate(cache: &LocalCache, redis_keys: &[&[u8]]) {
    let keys = redis_keys
        .iter()
        .map(|k| Value::BulkString(k.to_vec()))
        .collect();
    cache.on_push(&PushInfo {
        kind: PushKind::Invalidate,
        data: vec![Value::Array(keys)],
    });
}

#[test]
fn a_read_fills_and_an_invalidation_empties() {
    let cache = cache(ClientSideCache::new());
    let (key, redis_key) = session();
    let now = SystemTime::now();
    cache.fill_read(ticket(&cache, key), record("v1"), now);
    assert_eq!(hit(&cache, key).map(|r| r.data), Some(b"v1".to_vec()));
    // Another storage's key, and keys that are not records, change nothing.
    invalidate(&cache, &[b"other:0123", b"p:principal:abc"]);
    assert!(hit(&cache, key).is_some());
    invalidate(&cache, &[&redis_key]);
    assert_eq!(hit(&cache, key), None);
    assert_eq!(cache.stats().invalidations, 1);
}

#[test]
fn a_read_that_raced_an_invalidation_or_a_write_is_not_cached() {
    let cache = cache(ClientSideCache::new());
    let (key, redis_key) = session();
    let now = SystemTime::now();
    // The invalidation arrives while the read is in flight (before or after its reply).
    let read = ticket(&cache, key);
    invalidate(&cache, &[&redis_key]);
    cache.fill_read(read, record("old"), now);
    assert_eq!(hit(&cache, key), None);
    // A write of this process begins while the read is in flight ...
    let read = ticket(&cache, key);
    let write = cache.begin_write(key);
    cache.fill_read(read, record("old"), now);
    assert_eq!(hit(&cache, key), None);
    // ... or began before the read and is still in flight when it completes.
    let read = ticket(&cache, key);
    cache.fill_read(read, record("old"), now);
    assert_eq!(hit(&cache, key), None);
    drop(write);
    // ... or ended while the read was in flight.
    let read = ticket(&cache, key);
    cache.begin_write(key).written(record("new"), true, now);
    cache.fill_read(read, record("old"), now);
    assert_eq!(hit(&cache, key).map(|r| r.data), Some(b"new".to_vec()));
}

#[test]
fn overlapping_writes_of_one_session_cache_neither() {
    let cache = cache(ClientSideCache::new());
    let (key, _) = session();
    let now = SystemTime::now();
    // Redis may apply them in either order: neither knows what is left.
    let first = cache.begin_write(key);
    let second = cache.begin_write(key);
    second.written(record("second"), true, now);
    first.written(record("first"), true, now);
    assert_eq!(hit(&cache, key), None);
    // One after the other: the last is cached.
    cache.begin_write(key).written(record("a"), true, now);
    cache.begin_write(key).written(record("b"), true, now);
    assert_eq!(hit(&cache, key).map(|r| r.data), Some(b"b".to_vec()));
    // A write that begins removes what was cached; a dropped ticket (an error, an unknown
    // outcome) leaves nothing, and lets the next read fill again.
    let failed = cache.begin_write(key);
    assert_eq!(hit(&cache, key), None);
    drop(failed);
    cache.fill_read(ticket(&cache, key), record("c"), now);
    assert_eq!(hit(&cache, key).map(|r| r.data), Some(b"c".to_vec()));
}

#[test]
fn a_reset_empties_and_pauses_until_confirmed() {
    let cache = cache(ClientSideCache::new());
    let (key, _) = session();
    let now = SystemTime::now();
    cache.fill_read(ticket(&cache, key), record("v"), now);
    let read = ticket(&cache, session().0);
    let write = cache.begin_write(session().0);
    let generation = cache.reset();
    assert!(!cache.is_on());
    assert_eq!(hit(&cache, key), None, "nothing of before is served");
    // Reads and writes begun before the reset, or while paused, fill nothing.
    cache.fill_read(read, record("x"), now);
    write.written(record("y"), true, now);
    cache.fill_read(ticket(&cache, key), record("v"), now);
    assert_eq!(cache.stats().entries, 0);
    assert!(cache.confirm(generation));
    assert!(
        !cache.confirm(generation - 1),
        "an old generation is not switched on"
    );
    cache.fill_read(ticket(&cache, key), record("v"), now);
    assert!(hit(&cache, key).is_some());
    // A lost connection (the client's notice) is a reset too.
    cache.on_push(&PushInfo {
        kind: PushKind::Disconnection,
        data: vec![],
    });
    assert_eq!(hit(&cache, key), None);
    assert!(!cache.stats().serving);
}

#[test]
fn a_flush_empties_without_pausing() {
    let cache = cache(ClientSideCache::new());
    let (key, _) = session();
    let now = SystemTime::now();
    cache.fill_read(ticket(&cache, key), record("v"), now);
    let read = ticket(&cache, session().0);
    cache.on_push(&PushInfo {
        kind: PushKind::Invalidate,
        data: vec![Value::Nil],
    });
    assert_eq!(hit(&cache, key), None);
    assert!(cache.is_on());
    cache.fill_read(read, record("x"), now);
    assert_eq!(cache.stats().entries, 0, "a read begun before the flush");
    cache.fill_read(ticket(&cache, key), record("v"), now);
    assert!(hit(&cache, key).is_some());
}

#[test]
fn expired_records_are_neither_cached_nor_served() {
    let cache = cache(ClientSideCache::new());
    let (key, _) = session();
    let now = SystemTime::now();
    let short = Record::new("short", now, now + Duration::from_millis(50));
    cache.fill_read(ticket(&cache, key), short.clone(), now);
    assert!(hit(&cache, key).is_some());
    // Expired at the caller's clock.
    assert!(matches!(
        cache.lookup(key, now + Duration::from_secs(1)),
        Lookup::Miss(_)
    ));
    cache.fill_read(ticket(&cache, key), short.clone(), now);
    // Expired at the real time, whatever the caller's clock says (Redis drops the key then).
    std::thread::sleep(Duration::from_millis(60));
    assert!(matches!(cache.lookup(key, now), Lookup::Miss(_)));
    cache.fill_read(ticket(&cache, key), short, now);
    assert_eq!(cache.stats().entries, 0);
}

#[test]
fn entries_are_served_only_for_the_bound_after_their_confirmation() {
    let bound = Duration::from_millis(80);
    let cache = cache(ClientSideCache::new().max_unconfirmed(bound));
    let (key, _) = session();
    let now = SystemTime::now();
    cache.fill_read(ticket(&cache, key), record("v"), now);
    assert!(hit(&cache, key).is_some());
    std::thread::sleep(bound + Duration::from_millis(20));
    assert_eq!(hit(&cache, key), None);
    // A write confirms again.
    cache.begin_write(key).written(record("w"), true, now);
    assert!(hit(&cache, key).is_some());
}

#[test]
fn the_cache_never_holds_more_than_its_capacity() {
    let cache = cache(ClientSideCache::new().capacity(64));
    let now = SystemTime::now();
    let keys: Vec<Key> = (0..1000).map(|_| session().0).collect();
    for key in &keys {
        cache.begin_write(*key).written(record("v"), false, now);
        assert!(cache.stats().entries <= 64);
    }
    assert!(cache.stats().entries > 32);
    assert!(cache.stats().evictions >= 1000 - 64);
    // The members of a principal's ends are forgotten by their hex storage keys.
    let (key, redis_key) = session();
    cache.begin_write(key).written(record("v"), true, now);
    let member = redis_key[2..].to_vec();
    cache.invalidate_members(&[member, b"not hex".to_vec()]);
    assert_eq!(hit(&cache, key), None);
}
