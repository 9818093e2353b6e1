//! The storage rules every distributed backend must keep, written once and run against each
//! backend by [`storage_semantics!`].
//!
//! Times are the real time (whole milliseconds, the backends' precision) so that Redis, which
//! also expires keys by its own clock, holds every record for the hour the tests give it;
//! "expired" is tested by passing a later `now`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use typed_sessions::storage::{Created, Record, SessionId, SessionStorage};

pub const HOUR: Duration = Duration::from_secs(3600);
pub const MS: Duration = Duration::from_millis(1);

/// The real time, rounded down to the millisecond.
pub fn base() -> SystemTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
}

pub fn record(data: &str, created_at: SystemTime, lifetime: Duration) -> Record {
    Record {
        data: data.into(),
        created_at,
        expires_at: created_at + lifetime,
    }
}

pub async fn load_unknown_created_expired(s: &dyn SessionStorage) {
    let t = base();
    let id = SessionId::generate();
    assert_eq!(s.load(&id, t).await.unwrap(), None, "unknown id");
    let r = record(r#"{"userId":"u1","cart":[]}"#, t, HOUR);
    assert_eq!(s.create(&id, &r, t).await.unwrap(), Created::Inserted);
    assert_eq!(s.load(&id, t).await.unwrap(), Some(r.clone()), "created");
    assert_eq!(
        s.load(&id, t + HOUR - MS).await.unwrap(),
        Some(r.clone()),
        "a millisecond before expiry"
    );
    assert_eq!(s.load(&id, t + HOUR).await.unwrap(), None, "at expiry");
    assert_eq!(
        s.load(&id, t + HOUR * 5).await.unwrap(),
        None,
        "after expiry"
    );
    // Expiry at `now` is not deletion: an earlier clock still sees it.
    assert_eq!(s.load(&id, t).await.unwrap(), Some(r));
}

pub async fn payloads_round_trip(s: &dyn SessionStorage) {
    let t = base();
    let big = format!("{{\"blob\":\"{}\"}}", "x".repeat(100 * 1024));
    for data in [
        "",
        "{}",
        "ünïcödé ✓ 😀",
        "line\nbreak\r\n\ttab \"quotes\" 'single' \\ back",
        "'; DROP TABLE typed_sessions; --",
        big.as_str(),
    ] {
        for id in [
            SessionId::generate(),
            SessionId::parse_custom("custom-ID_1").unwrap(),
        ] {
            s.delete(&id).await.unwrap();
            let r = record(data, t, HOUR);
            assert_eq!(s.create(&id, &r, t).await.unwrap(), Created::Inserted);
            assert_eq!(s.load(&id, t).await.unwrap(), Some(r), "{:.40}", data);
        }
    }
}

pub async fn create_collision_never_overwrites(s: &dyn SessionStorage) {
    let t = base();
    let id = SessionId::generate();
    let first = record("first", t, HOUR);
    assert_eq!(s.create(&id, &first, t).await.unwrap(), Created::Inserted);
    let second = record("second", t + MS, HOUR * 2);
    assert_eq!(
        s.create(&id, &second, t + MS).await.unwrap(),
        Created::Collision
    );
    assert_eq!(s.load(&id, t + MS).await.unwrap(), Some(first));
}

pub async fn expired_record_does_not_block_create(s: &dyn SessionStorage) {
    let t = base();
    let id = SessionId::generate();
    s.create(&id, &record("old", t, HOUR), t).await.unwrap();
    // The application's clock says the old record has expired, even if the backend still
    // holds it (Redis removes it at its own PXAT).
    let later = t + HOUR * 2;
    let new = record("new", later, HOUR);
    assert_eq!(s.create(&id, &new, later).await.unwrap(), Created::Inserted);
    assert_eq!(s.load(&id, later).await.unwrap(), Some(new.clone()));
    assert_eq!(
        s.create(&id, &record("third", later, HOUR), later)
            .await
            .unwrap(),
        Created::Collision,
        "the replacement is live"
    );
    assert_eq!(s.load(&id, later).await.unwrap(), Some(new));
}

pub async fn update_absent_or_expired_is_false_and_creates_nothing(s: &dyn SessionStorage) {
    let t = base();
    let absent = SessionId::generate();
    assert!(!s.update(&absent, &record("x", t, HOUR), t).await.unwrap());
    assert_eq!(s.load(&absent, t).await.unwrap(), None);
    assert_eq!(
        s.create(&absent, &record("y", t, HOUR), t).await.unwrap(),
        Created::Inserted,
        "update left nothing behind"
    );

    let expired = SessionId::generate();
    s.create(&expired, &record("v1", t, HOUR), t).await.unwrap();
    let later = t + HOUR * 2;
    assert!(
        !s.update(&expired, &record("revived", t, HOUR * 3), later)
            .await
            .unwrap(),
        "update of an expired record"
    );
    assert_eq!(s.load(&expired, later).await.unwrap(), None, "not revived");
}

pub async fn update_present_replaces(s: &dyn SessionStorage) {
    let t = base();
    let id = SessionId::generate();
    s.create(&id, &record("v1", t, HOUR), t).await.unwrap();
    for (n, data) in ["v2", "a much longer third version", "v4"]
        .iter()
        .enumerate()
    {
        let now = t + Duration::from_secs(n as u64 + 1);
        let r = Record {
            data: (*data).into(),
            created_at: t,
            expires_at: now + HOUR,
        };
        assert!(s.update(&id, &r, now).await.unwrap());
        assert_eq!(s.load(&id, now).await.unwrap(), Some(r));
    }
}

pub async fn delete_is_idempotent_and_never_resurrected(s: &dyn SessionStorage) {
    let t = base();
    let (id, other) = (SessionId::generate(), SessionId::generate());
    s.create(&id, &record("doomed", t, HOUR), t).await.unwrap();
    s.create(&other, &record("other", t, HOUR), t)
        .await
        .unwrap();
    s.delete(&id).await.unwrap();
    s.delete(&id).await.unwrap();
    s.delete(&SessionId::generate()).await.unwrap();
    assert_eq!(s.load(&id, t).await.unwrap(), None);
    assert!(
        !s.update(&id, &record("stale write-back", t, HOUR), t)
            .await
            .unwrap(),
        "update after delete"
    );
    assert_eq!(s.load(&id, t).await.unwrap(), None, "no resurrection");
    assert_eq!(
        s.load(&other, t).await.unwrap(),
        Some(record("other", t, HOUR))
    );
}

pub async fn change_id_moves_and_kills_the_old_id(s: &dyn SessionStorage) {
    let t = base();
    let (old, new) = (SessionId::generate(), SessionId::generate());
    s.create(&old, &record("before", t, HOUR), t).await.unwrap();
    let moved = Record {
        data: "after".into(),
        created_at: t,
        expires_at: t + HOUR * 2,
    };
    assert!(s.change_id(&old, &new, &moved, t + MS).await.unwrap());
    assert_eq!(s.load(&old, t + MS).await.unwrap(), None, "old id dead");
    assert_eq!(s.load(&new, t + MS).await.unwrap(), Some(moved.clone()));
    assert!(
        !s.update(&old, &record("stale", t, HOUR), t + MS)
            .await
            .unwrap(),
        "old id cannot be written back"
    );
    assert_eq!(s.load(&old, t + MS).await.unwrap(), None);
    assert_eq!(s.load(&new, t + MS).await.unwrap(), Some(moved));
}

pub async fn change_id_refusals(s: &dyn SessionStorage) {
    let t = base();
    // The old record is gone.
    let (gone, new) = (SessionId::generate(), SessionId::generate());
    assert!(
        !s.change_id(&gone, &new, &record("x", t, HOUR), t)
            .await
            .unwrap()
    );
    assert_eq!(s.load(&new, t).await.unwrap(), None, "nothing created");

    // The new id is taken: nothing changes on either side.
    let (old, taken) = (SessionId::generate(), SessionId::generate());
    let old_record = record("old", t, HOUR);
    let taken_record = record("taken", t, HOUR);
    s.create(&old, &old_record, t).await.unwrap();
    s.create(&taken, &taken_record, t).await.unwrap();
    assert!(
        !s.change_id(&old, &taken, &record("moved", t, HOUR), t)
            .await
            .unwrap()
    );
    assert_eq!(s.load(&old, t).await.unwrap(), Some(old_record));
    assert_eq!(s.load(&taken, t).await.unwrap(), Some(taken_record));

    // The old record has expired.
    let (expired, new) = (SessionId::generate(), SessionId::generate());
    s.create(&expired, &record("e", t, HOUR), t).await.unwrap();
    let later = t + HOUR * 2;
    assert!(
        !s.change_id(&expired, &new, &record("revived", later, HOUR), later)
            .await
            .unwrap()
    );
    assert_eq!(s.load(&new, later).await.unwrap(), None);

    // An expired record under the new id does not block the move.
    let (old, stale) = (SessionId::generate(), SessionId::generate());
    s.create(&stale, &record("stale", t, HOUR), t)
        .await
        .unwrap();
    s.create(&old, &record("old", t, HOUR * 3), t)
        .await
        .unwrap();
    let moved = record("moved", t, HOUR * 3);
    assert!(s.change_id(&old, &stale, &moved, later).await.unwrap());
    assert_eq!(s.load(&stale, later).await.unwrap(), Some(moved));
    assert_eq!(s.load(&old, later).await.unwrap(), None);
}

/// `sweeps`: whether the backend removes expired records in `delete_expired` (SQL), or
/// leaves that to the server's own expiry and returns 0 (Redis).
pub async fn delete_expired_counts(s: &dyn SessionStorage, sweeps: bool) {
    let t = base();
    let ids: Vec<SessionId> = (0..4).map(|_| SessionId::generate()).collect();
    for (n, id) in ids.iter().enumerate() {
        let r = record(&format!("{}h", n + 1), t, HOUR * (n as u32 + 1));
        s.create(id, &r, t).await.unwrap();
    }
    let now = t + HOUR * 2;
    let removed = s.delete_expired(now).await.unwrap();
    assert_eq!(removed, if sweeps { 2 } else { 0 }, "delete_expired at +2h");
    for (n, id) in ids.iter().enumerate() {
        let gone = sweeps && n < 2;
        assert_eq!(
            s.load(id, t).await.unwrap().is_some(),
            !gone,
            "record {n} loaded with the earlier clock"
        );
        assert_eq!(
            s.load(id, now).await.unwrap().is_some(),
            n >= 2,
            "record {n} at +2h"
        );
    }
    assert_eq!(s.delete_expired(now).await.unwrap(), 0, "second sweep");
}

const TASKS: usize = 24;

pub async fn concurrent_create_has_one_winner(s: Arc<dyn SessionStorage>) {
    let t = base();
    let id = SessionId::generate();
    let tasks: Vec<_> = (0..TASKS)
        .map(|n| {
            let (s, id) = (s.clone(), id.clone());
            tokio::spawn(async move {
                let r = record(&format!("creator {n}"), t, HOUR);
                (s.create(&id, &r, t).await.unwrap(), r)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (created, r) = task.await.unwrap();
        if created == Created::Inserted {
            winners.push(r);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    assert_eq!(s.load(&id, t).await.unwrap(), winners.pop());
}

pub async fn concurrent_delete_wins(s: Arc<dyn SessionStorage>) {
    let t = base();
    let id = SessionId::generate();
    s.create(&id, &record("v0", t, HOUR), t).await.unwrap();
    let deleted_at: Arc<OnceLock<Instant>> = Arc::default();
    let late_successes: Arc<Mutex<Vec<String>>> = Arc::default();
    let writers: Vec<_> = (0..TASKS)
        .map(|n| {
            let (s, id, deleted_at, late) = (
                s.clone(),
                id.clone(),
                deleted_at.clone(),
                late_successes.clone(),
            );
            tokio::spawn(async move {
                for round in 0..15 {
                    let data = format!("writer {n} round {round}");
                    let started = Instant::now();
                    let after_delete = deleted_at.get().is_some_and(|d| *d <= started);
                    let updated = s.update(&id, &record(&data, t, HOUR), t).await.unwrap();
                    if updated && after_delete {
                        late.lock().unwrap().push(data);
                    }
                }
            })
        })
        .collect();
    let deleter = {
        let (s, id, deleted_at) = (s.clone(), id.clone(), deleted_at.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            s.delete(&id).await.unwrap();
            deleted_at.set(Instant::now()).unwrap();
        })
    };
    deleter.await.unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(
        late_successes.lock().unwrap().as_slice(),
        &[] as &[String],
        "updates that started after the delete succeeded (resurrection)"
    );
    assert_eq!(s.load(&id, t).await.unwrap(), None, "the delete won");
}

pub async fn concurrent_change_id_has_one_winner(s: Arc<dyn SessionStorage>) {
    let t = base();
    let old = SessionId::generate();
    s.create(&old, &record("shared", t, HOUR), t).await.unwrap();
    let news: Vec<SessionId> = (0..TASKS).map(|_| SessionId::generate()).collect();
    let tasks: Vec<_> = news
        .iter()
        .cloned()
        .map(|new| {
            let (s, old) = (s.clone(), old.clone());
            tokio::spawn(async move {
                s.change_id(&old, &new, &record("moved", t, HOUR), t)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1, "exactly one move wins");
    assert_eq!(s.load(&old, t).await.unwrap(), None);
    let mut live = 0;
    for new in &news {
        live += usize::from(s.load(new, t).await.unwrap().is_some());
    }
    assert_eq!(live, 1, "exactly one new id holds the session");
}

pub async fn concurrent_mixed_loses_nothing(s: Arc<dyn SessionStorage>) {
    let t = base();
    let shared = SessionId::generate();
    s.create(&shared, &record("shared initial", t, HOUR), t)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..TASKS)
        .map(|n| {
            let (s, shared) = (s.clone(), shared.clone());
            tokio::spawn(async move {
                let own = SessionId::generate();
                let mut last = record(&format!("own {n} v0"), t, HOUR);
                assert_eq!(s.create(&own, &last, t).await.unwrap(), Created::Inserted);
                let mut written = HashSet::new();
                for round in 1..=10 {
                    let next = record(&format!("own {n} v{round}"), t, HOUR);
                    assert!(s.update(&own, &next, t).await.unwrap(), "own update lost");
                    last = next;
                    assert_eq!(s.load(&own, t).await.unwrap(), Some(last.clone()));
                    let data = format!("shared {n} {round}");
                    assert!(s.update(&shared, &record(&data, t, HOUR), t).await.unwrap());
                    written.insert(data);
                    let seen = s.load(&shared, t).await.unwrap().expect("shared session");
                    assert!(
                        seen.data.starts_with("shared ") && seen.created_at == t,
                        "a torn or foreign shared record: {seen:?}"
                    );
                }
                (own, last)
            })
        })
        .collect();
    for task in tasks {
        let (own, last) = task.await.unwrap();
        assert_eq!(s.load(&own, t).await.unwrap(), Some(last), "lost update");
    }
    assert!(s.load(&shared, t).await.unwrap().is_some());
}

/// One `#[tokio::test]` per rule for the backend whose fresh, empty storage `$fresh(test)`
/// returns (`None` when the backend's tests are skipped).
macro_rules! storage_semantics {
    ($fresh:path, sweeps = $sweeps:expr) => {
        storage_semantics!(@each $fresh;
            load_unknown_created_expired,
            payloads_round_trip,
            create_collision_never_overwrites,
            expired_record_does_not_block_create,
            update_absent_or_expired_is_false_and_creates_nothing,
            update_present_replaces,
            delete_is_idempotent_and_never_resurrected,
            change_id_moves_and_kills_the_old_id,
            change_id_refusals
        );
        storage_semantics!(@shared $fresh;
            concurrent_create_has_one_winner,
            concurrent_delete_wins,
            concurrent_change_id_has_one_winner,
            concurrent_mixed_loses_nothing
        );
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn delete_expired_counts() {
            let Some(storage) = $fresh("delete_expired_counts").await else {
                return;
            };
            crate::distributed::semantics::delete_expired_counts(&storage, $sweeps).await;
        }
    };
    (@each $fresh:path; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(storage) = $fresh(stringify!($case)).await else {
                    return;
                };
                crate::distributed::semantics::$case(&storage).await;
            }
        )*
    };
    (@shared $fresh:path; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let Some(storage) = $fresh(stringify!($case)).await else {
                    return;
                };
                crate::distributed::semantics::$case(std::sync::Arc::new(storage)).await;
            }
        )*
    };
}
