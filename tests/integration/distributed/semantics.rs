//! Every distributed backend runs the crate's public storage contract
//! (`typed_sessions::storage::contract`), plus two checks specific to these backends:
//! millisecond expiry boundaries (the precision they store) and large payloads.
//!
//! Times are the real time (whole milliseconds, the backends' precision) so that Redis, which
//! also expires keys by its own clock, holds every record for the hour the tests give it;
//! "expired" is tested by passing a later `now`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use typed_sessions::storage::{Created, Record, SessionId, SessionStorage};

use crate::common::session_key;

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
    Record::new(data, created_at, created_at + lifetime)
}

pub async fn load_unknown_created_expired(s: &dyn SessionStorage) {
    let t = base();
    let id = SessionId::generate();
    assert_eq!(
        s.load(session_key(&id), t).await.unwrap(),
        None,
        "unknown id"
    );
    let r = record(r#"{"userId":"u1","cart":[]}"#, t, HOUR);
    assert_eq!(
        s.create(session_key(&id), &r, t).await.unwrap(),
        Created::Inserted
    );
    assert_eq!(
        s.load(session_key(&id), t).await.unwrap(),
        Some(r.clone()),
        "created"
    );
    assert_eq!(
        s.load(session_key(&id), t + HOUR - MS).await.unwrap(),
        Some(r.clone()),
        "a millisecond before expiry"
    );
    assert_eq!(
        s.load(session_key(&id), t + HOUR).await.unwrap(),
        None,
        "at expiry"
    );
    assert_eq!(
        s.load(session_key(&id), t + HOUR * 5).await.unwrap(),
        None,
        "after expiry"
    );
    // Expiry at `now` is not deletion: an earlier clock still sees it.
    assert_eq!(s.load(session_key(&id), t).await.unwrap(), Some(r));
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
            s.delete(session_key(&id)).await.unwrap();
            let r = record(data, t, HOUR);
            assert_eq!(
                s.create(session_key(&id), &r, t).await.unwrap(),
                Created::Inserted
            );
            assert_eq!(
                s.load(session_key(&id), t).await.unwrap(),
                Some(r),
                "{:.40}",
                data
            );
        }
    }
}

/// The contract and the backend extras, as tests of the calling module. `fresh(test)` makes a
/// new, empty storage on the shared server (`None` when the user opted out of server tests);
/// `sweeps` says whether `delete_expired` removes anything (Redis expires keys by itself and
/// its sweep is a no-op).
macro_rules! storage_semantics {
    ($fresh:path, sweeps = $sweeps:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn keeps_the_contract() {
            use typed_sessions::storage::contract::{Case, Suite};
            if $fresh("contract probe").await.is_none() {
                return;
            }
            let suite =
                Suite::new(|| async { $fresh("contract").await.expect("the server is up") });
            let suite = if $sweeps {
                suite
            } else {
                suite.skip(&[Case::DeleteExpired, Case::DeleteExpiredBatch])
            };
            suite.run().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn expiry_at_millisecond_boundaries() {
            let Some(storage) = $fresh("expiry_at_millisecond_boundaries").await else {
                return;
            };
            crate::distributed::semantics::load_unknown_created_expired(&storage).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn payloads_round_trip() {
            let Some(storage) = $fresh("payloads_round_trip").await else {
                return;
            };
            crate::distributed::semantics::payloads_round_trip(&storage).await;
        }
    };
}
