//! A property test: whatever order the storage calls of concurrent updates, plain sets,
//! regenerations and logouts of one session take, a logout that deleted the session is final.
//! Nothing written afterwards brings it back, under its id or a new one.
//!
//! The storage is a memory storage behind a gate: every call waits until the test lets it
//! through, one at a time, in an order proptest chooses. The clock is tokio's paused clock,
//! so the random back-off of conflicting updates costs no real time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use proptest::prelude::*;
use tokio::sync::oneshot;
use typed_sessions::storage::{
    Created, MemoryStorage, Record, Revision, SessionKey, SessionStorage, StorageError, Updated,
};

use super::updates::cart_app;
use crate::common::get as get_path;

/// Holds every storage call until the test releases it; logs what each call did.
#[derive(Debug, Default)]
struct Gate {
    armed: AtomicBool,
    waiting: Mutex<Vec<oneshot::Sender<()>>>,
    log: Mutex<Vec<Step>>,
}

/// A storage call that changed something, in the order they happened.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    /// A delete that removed the session.
    Deleted,
    /// A write that left a live record: a create, an update, a conditional update or a move.
    Wrote(&'static str),
}

impl Gate {
    async fn pass(&self) {
        if !self.armed.load(Ordering::SeqCst) {
            return;
        }
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().push(tx);
        let _ = rx.await;
    }

    fn log(&self, step: Step) {
        self.log.lock().unwrap().push(step);
    }
}

#[derive(Debug)]
struct Gated {
    inner: MemoryStorage,
    gate: Arc<Gate>,
}

#[async_trait]
impl SessionStorage for Gated {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        self.gate.pass().await;
        self.inner.load(key, now).await
    }
    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        self.gate.pass().await;
        let created = self.inner.create(key, record, now).await?;
        if created == Created::Inserted {
            self.gate.log(Step::Wrote("create"));
        }
        Ok(created)
    }
    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.gate.pass().await;
        let updated = self.inner.update(key, record, now).await?;
        if updated {
            self.gate.log(Step::Wrote("update"));
        }
        Ok(updated)
    }
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        self.gate.pass().await;
        let updated = self.inner.update_if(key, record, expected, now).await?;
        if updated == Updated::Written {
            self.gate.log(Step::Wrote("update_if"));
        }
        Ok(updated)
    }
    fn supports_conditional_updates(&self) -> bool {
        true
    }
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.gate.pass().await;
        let deleted = self.inner.delete(key).await?;
        if deleted {
            self.gate.log(Step::Deleted);
        }
        Ok(deleted)
    }
    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.gate.pass().await;
        let moved = self.inner.change_id(old, new, record, now).await?;
        if moved {
            self.gate.log(Step::Wrote("change_id"));
        }
        Ok(moved)
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        self.inner.delete_expired(now).await
    }
}

/// What one of the concurrent requests does.
#[derive(Debug, Clone, Copy)]
enum Request {
    Update,
    Set,
    Clear,
    Regenerate,
    Read,
}

impl Request {
    fn path(self, i: usize) -> String {
        match self {
            Request::Update => format!("/add/u{i}"),
            Request::Set => format!("/set/s{i}"),
            Request::Clear => "/clear".into(),
            Request::Regenerate => "/regenerate".into(),
            Request::Read => "/items".into(),
        }
    }
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        3 => Just(Request::Update),
        1 => Just(Request::Set),
        2 => Just(Request::Clear),
        2 => Just(Request::Regenerate),
        1 => Just(Request::Read),
    ]
}

/// Runs `requests` at once on one session, letting storage calls through in the order
/// `choices` picks; the storage's log of changes and the number of live records at the end.
fn run(requests: &[Request], choices: &[usize]) -> (Vec<Step>, usize, Vec<u16>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let gate = Arc::new(Gate::default());
        let storage = Arc::new(Gated {
            inner: MemoryStorage::new(),
            gate: gate.clone(),
        });
        let app = cart_app(storage.clone());
        let cookie = get_path(&app, "/start", None)
            .await
            .cookie_pair("cart")
            .unwrap();
        gate.armed.store(true, Ordering::SeqCst);

        let tasks: Vec<_> = requests
            .iter()
            .enumerate()
            .map(|(i, request)| {
                let app = app.clone();
                let cookie = cookie.clone();
                let path = request.path(i);
                tokio::spawn(
                    async move { get_path(&app, &path, Some(&cookie)).await.status.as_u16() },
                )
            })
            .collect();
        let mut released = 0;
        while !tasks.iter().all(|t| t.is_finished()) {
            // Everything runs until it waits at the gate (or in a back-off, shorter than this).
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut waiting = gate.waiting.lock().unwrap();
            if !waiting.is_empty() {
                let pick = choices[released % choices.len()] % waiting.len();
                let _ = waiting.remove(pick).send(());
                released += 1;
            }
            assert!(released < 10_000, "the requests never finish");
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        let log = gate.log.lock().unwrap().clone();
        (log, storage.inner.len(), statuses)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_deleted_session_stays_deleted_in_any_interleaving(
        requests in prop::collection::vec(request(), 2..=5),
        choices in prop::collection::vec(any::<usize>(), 1..48),
    ) {
        let (log, live, statuses) = run(&requests, &choices);
        prop_assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
        if let Some(deleted) = log.iter().position(|step| *step == Step::Deleted) {
            let after: Vec<_> = log[deleted + 1..].to_vec();
            prop_assert!(
                after.is_empty(),
                "written after the logout deleted the session: {after:?} (log {log:?})"
            );
            prop_assert_eq!(live, 0, "a record outlived the logout");
        } else {
            prop_assert_eq!(live, 1, "no logout deleted it: the session (moved or not) is there");
        }
    }
}
