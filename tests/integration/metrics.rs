//! A full request cycle updates the metrics as `typed_sessions::metrics` documents them.

use std::time::Duration;

use axum::routing::get as route;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use typed_sessions::clock::ManualClock;
use typed_sessions::storage::MemoryStorage;
use typed_sessions::transform::{Encrypt, Key};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, TestUserSession, get, user_routes};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Prefs {
    theme: String,
}

/// Running totals of everything recorded (a snapshot drains what it returns).
struct Totals {
    snapshotter: Snapshotter,
    seen: std::cell::RefCell<Vec<(CompositeKey, u64)>>,
}

impl Totals {
    fn new(snapshotter: Snapshotter) -> Totals {
        Totals {
            snapshotter,
            seen: Default::default(),
        }
    }

    /// The total of the counter `name` (or the number of values of the histogram `name`) over
    /// every series whose labels include all of `labels`.
    fn total(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> u64 {
        let mut seen = self.seen.borrow_mut();
        for (key, _, _, value) in self.snapshotter.snapshot().into_vec() {
            let n = match value {
                DebugValue::Counter(n) => n,
                DebugValue::Histogram(values) => values.len() as u64,
                DebugValue::Gauge(_) => 0,
            };
            match seen.iter_mut().find(|(k, _)| *k == key) {
                Some((_, total)) => *total += n,
                None => seen.push((key, n)),
            }
        }
        seen.iter()
            .filter(|(key, _)| {
                key.kind() == kind
                    && key.key().name() == name
                    && labels
                        .iter()
                        .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
            })
            .map(|(_, n)| n)
            .sum()
    }
}

fn counter(totals: &Totals, name: &str, labels: &[(&str, &str)]) -> u64 {
    totals.total(MetricKind::Counter, name, labels)
}

fn histogram_len(totals: &Totals, name: &str, labels: &[(&str, &str)]) -> u64 {
    totals.total(MetricKind::Histogram, name, labels)
}

#[test]
fn a_request_cycle_updates_the_documented_metrics() {
    let recorder = DebuggingRecorder::new();
    let totals = Totals::new(recorder.snapshotter());
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(scenario(&totals));
    });
}

async fn scenario(m: &Totals) {
    let clock = ManualClock::new();
    let layer = SessionsConfig::new()
        .metrics(true)
        .clock(clock.clone())
        .cookie_with_storage::<TestUserSession, _>("s", MemoryStorage::new(), |c| c)
        .cookie::<Prefs>("prefs", |c| {
            c.ttl(Duration::from_secs(60))
                .transform(Encrypt::new(Key::generate()))
        })
        .build()
        .unwrap();
    let router = user_routes()
        .route(
            "/regenerate",
            route(|s: Sessions| async move {
                s.regenerate::<TestUserSession>().await?;
                Ok::<_, SessionError>("ok")
            }),
        )
        .route(
            "/prefs",
            route(|s: Sessions| async move {
                let theme = s.get::<Prefs>().await?.map(|p| p.theme);
                s.set(Prefs {
                    theme: "dark".into(),
                })?;
                Ok::<_, SessionError>(format!("{theme:?}"))
            }),
        )
        .layer(layer);
    let s = [("session", "s")];

    get(&router, "/get", None).await;
    assert_eq!(
        counter(
            m,
            "typed_sessions_loaded_total",
            &[("session", "s"), ("outcome", "absent")]
        ),
        1
    );

    let id = get(&router, "/set/a", None)
        .await
        .cookie_value("s")
        .unwrap();
    assert_eq!(counter(m, "typed_sessions_created_total", &s), 1);
    let cookie = format!("s={id}");
    get(&router, "/get", Some(&cookie)).await;
    assert_eq!(
        counter(
            m,
            "typed_sessions_loaded_total",
            &[("session", "s"), ("outcome", "valid")]
        ),
        1
    );
    get(&router, "/set/b", Some(&cookie)).await;
    assert_eq!(counter(m, "typed_sessions_updated_total", &s), 1);
    let regenerated = get(&router, "/regenerate", Some(&cookie))
        .await
        .cookie_value("s")
        .unwrap();
    assert_eq!(counter(m, "typed_sessions_regenerated_total", &s), 1);

    // Invalid values, by reason.
    get(&router, "/get", Some(&cookie)).await; // the old id is gone
    get(&router, "/get", Some("s=not-an-id")).await;
    assert_eq!(
        counter(
            m,
            "typed_sessions_loaded_total",
            &[("session", "s"), ("outcome", "invalid")]
        ),
        2
    );
    assert_eq!(
        counter(
            m,
            "typed_sessions_rejected_total",
            &[("session", "s"), ("reason", "unknown_id")]
        ),
        1
    );
    assert_eq!(
        counter(
            m,
            "typed_sessions_rejected_total",
            &[("session", "s"), ("reason", "malformed_id")]
        ),
        1
    );

    get(&router, "/clear", Some(&format!("s={regenerated}"))).await;
    assert_eq!(counter(m, "typed_sessions_cleared_total", &s), 1);

    // Storage calls are timed, labelled by backend and operation.
    for operation in ["load", "create", "update", "change_id", "delete"] {
        let labels = [
            ("session", "s"),
            ("backend", "memory"),
            ("operation", operation),
        ];
        assert!(
            histogram_len(m, "typed_sessions_storage_seconds", &labels) >= 1,
            "{operation}"
        );
    }
    assert_eq!(counter(m, "typed_sessions_storage_errors_total", &s), 0);

    // A by-value value past its ttl: expired, and rejected for that reason.
    let prefs = get(&router, "/prefs", None)
        .await
        .cookie_pair("prefs")
        .unwrap();
    assert_eq!(
        counter(m, "typed_sessions_created_total", &[("session", "prefs")]),
        1
    );
    clock.advance(Duration::from_secs(61));
    assert_eq!(get(&router, "/prefs", Some(&prefs)).await.body, "None");
    assert_eq!(
        counter(m, "typed_sessions_expired_total", &[("session", "prefs")]),
        1
    );
    assert_eq!(
        counter(
            m,
            "typed_sessions_rejected_total",
            &[("session", "prefs"), ("reason", "expired")]
        ),
        1
    );
}

#[test]
fn storage_errors_are_counted_and_nothing_is_recorded_when_off() {
    let recorder = DebuggingRecorder::new();
    let totals = Totals::new(recorder.snapshotter());
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let storage = ProbeStorage::default();
            let on = SessionsConfig::new()
                .metrics(true)
                .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
                .build()
                .unwrap();
            let off = SessionsConfig::new()
                .cookie_with_storage::<TestUserSession, _>("quiet", storage.clone(), |c| c)
                .build()
                .unwrap();
            storage.fail(true);
            let cookie = format!("s={}", typed_sessions::SessionId::generate().as_str());
            assert_eq!(
                get(&user_routes().layer(on), "/get", Some(&cookie))
                    .await
                    .status,
                503
            );
            let quiet = format!("quiet={}", typed_sessions::SessionId::generate().as_str());
            assert_eq!(
                get(&user_routes().layer(off), "/get", Some(&quiet))
                    .await
                    .status,
                503
            );
        });
    });
    let labels = [
        ("session", "s"),
        ("backend", "custom"),
        ("operation", "load"),
    ];
    assert_eq!(
        counter(&totals, "typed_sessions_storage_errors_total", &labels),
        1
    );
    assert!(
        counter(&totals, "typed_sessions_loaded_total", &[("session", "s")]) == 0,
        "the load failed"
    );
    assert!(
        totals.seen.borrow().iter().all(|(key, _)| {
            !key.key()
                .labels()
                .any(|l| l.key() == "session" && l.value() == "quiet")
        }),
        "a configuration without metrics(true) records nothing"
    );
}

/// Tasks a handler spawns may `get` the same session at the same time, on several threads: the
/// session is loaded for the request once, and counted once, whichever task gets there first
/// (a load that let two racing tasks each decode and count it fails this test).
#[test]
fn concurrent_gets_of_one_session_count_one_load() {
    const REQUESTS: u64 = 200;
    const TASKS: usize = 8;
    let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
    let totals = Totals::new(recorder.snapshotter());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        // Every worker records into this test's recorder for as long as it runs.
        .on_thread_start(move || std::mem::forget(metrics::set_default_local_recorder(recorder)))
        .build()
        .unwrap();
    let layer = SessionsConfig::new()
        .metrics(true)
        .cookie::<Prefs>("raced", |c| c.transform(Encrypt::new(Key::generate())))
        .build()
        .unwrap();
    let router = axum::Router::new()
        .route(
            "/set",
            route(|s: Sessions| async move {
                s.set(Prefs {
                    theme: "dark".into(),
                })?;
                Ok::<_, SessionError>("set")
            }),
        )
        .route(
            "/race",
            route(|s: Sessions| async move {
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let s = s.clone();
                        tokio::spawn(async move { s.get::<Prefs>().await })
                    })
                    .collect();
                let mut found = 0;
                for task in tasks {
                    if task.await.expect("a task panicked")?.is_some() {
                        found += 1;
                    }
                }
                Ok::<_, SessionError>(found.to_string())
            }),
        )
        .layer(layer);
    runtime.block_on(async {
        let cookie = get(&router, "/set", None)
            .await
            .cookie_pair("raced")
            .unwrap();
        for _ in 0..REQUESTS {
            let answer = get(&router, "/race", Some(&cookie)).await;
            assert_eq!(
                answer.body,
                TASKS.to_string(),
                "every task sees the session"
            );
        }
    });
    drop(runtime);
    assert_eq!(
        counter(
            &totals,
            "typed_sessions_loaded_total",
            &[("session", "raced"), ("outcome", "valid")]
        ),
        REQUESTS
    );
}
