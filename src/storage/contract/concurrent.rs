//! The concurrency cases of the contract: many tasks on one storage at once.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::Barrier;

use super::{Case, Ctx, HOUR, SECOND, key};
use crate::storage::{Created, Record, SessionId, SessionStorage};

type Storage = Arc<dyn SessionStorage>;

pub(super) async fn run(ctx: &Ctx, storage: Storage) {
    match ctx.case {
        Case::ConcurrentCreate => concurrent_create(ctx, storage).await,
        Case::ConcurrentDeleteWins => concurrent_delete_wins(ctx, storage).await,
        Case::ConcurrentChangeId => concurrent_change_id(ctx, storage).await,
        Case::ConcurrentMixed => concurrent_mixed(ctx, storage).await,
        _ => ctx.fail("not a concurrency case"),
    }
}

/// Runs `tasks` copies of `task` (given their index) at once, after a common start, and
/// returns their results in order. A panic in a task is re-raised.
async fn together<T, Fut>(tasks: usize, task: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|n| {
            let barrier = Arc::clone(&barrier);
            let work = task(n);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks);
    for handle in handles {
        match handle.await {
            Ok(result) => results.push(result),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("storage contract: a task was cancelled: {error}"),
        }
    }
    results
}

/// The record task `task` writes at step `step`: its data names both and has a length and
/// filler derived from them, so a load can tell whether it got a whole record some writer
/// wrote.
fn written(ctx: &Ctx, task: usize, step: usize) -> Record {
    let seed = task * 31 + step * 17;
    let filler = char::from(b'a' + (seed % 26) as u8);
    let len = 64 + (seed % 9) * 300;
    let data = format!("{task}:{step}:{}", filler.to_string().repeat(len));
    super::deterministic(Record::new(
        data,
        ctx.at(task as u64),
        ctx.base + HOUR + SECOND * step as u32,
    ))
}

/// Whether `record` is exactly what some task wrote at some step.
fn is_whole(ctx: &Ctx, record: &Record) -> bool {
    let text = String::from_utf8_lossy(&record.data);
    let mut parts = text.splitn(3, ':');
    let (Some(task), Some(step)) = (parts.next(), parts.next()) else {
        return false;
    };
    match (task.parse(), step.parse()) {
        (Ok(task), Ok(step)) => ctx.matches(record, &written(ctx, task, step)),
        _ => false,
    }
}

async fn concurrent_create(ctx: &Ctx, storage: Storage) {
    for _round in 0..4 {
        let id = SessionId::generate();
        let ctx_copy = *ctx;
        let results = together(ctx.tasks, |n| {
            let (storage, id) = (Arc::clone(&storage), id.clone());
            async move {
                let record = written(&ctx_copy, n, 0);
                ctx_copy.ok(
                    "create",
                    storage.create(key(&id), &record, ctx_copy.base).await,
                )
            }
        })
        .await;
        let winners: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == Created::Inserted)
            .map(|(n, _)| n)
            .collect();
        let &[winner] = winners.as_slice() else {
            ctx.fail(&format!(
                "{} of {} racing creates of one id were Inserted, expected exactly 1",
                winners.len(),
                ctx.tasks
            ));
        };
        let got = ctx.ok("load", storage.load(key(&id), ctx.base).await);
        ctx.expect(
            "load after racing creates (the winner's record)",
            got,
            Some(&written(ctx, winner, 0)),
        );
    }
}

async fn concurrent_delete_wins(ctx: &Ctx, storage: Storage) {
    for round in 0..4 {
        let id = SessionId::generate();
        ctx.ok(
            "create",
            storage
                .create(key(&id), &written(ctx, 0, 0), ctx.base)
                .await,
        );
        let deleted = Arc::new(AtomicBool::new(false));
        let late_successes = Arc::new(AtomicUsize::new(0));
        let ctx_copy = *ctx;
        together(ctx.tasks, |n| {
            let (storage, id) = (Arc::clone(&storage), id.clone());
            let (deleted, late) = (Arc::clone(&deleted), Arc::clone(&late_successes));
            async move {
                let ctx = ctx_copy;
                if n == 0 {
                    for _ in 0..(round * 3 + 1) {
                        tokio::task::yield_now().await;
                    }
                    let removed = ctx.ok("delete", storage.delete(key(&id)).await);
                    ctx.check(
                        removed,
                        "delete of the contested record reported no removal",
                    );
                    deleted.store(true, Ordering::SeqCst);
                    return;
                }
                for step in 1..=8 {
                    let after_delete = deleted.load(Ordering::SeqCst);
                    let record = written(&ctx, n, step);
                    let updated =
                        ctx.ok("update", storage.update(key(&id), &record, ctx.base).await);
                    if after_delete && updated {
                        late.fetch_add(1, Ordering::SeqCst);
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
        .await;
        let late = late_successes.load(Ordering::SeqCst);
        ctx.check(
            late == 0,
            &format!("{late} updates that started after the delete returned true"),
        );
        let got = ctx.ok("load", storage.load(key(&id), ctx.base).await);
        ctx.expect(
            "load after a delete raced by updates (resurrection)",
            got,
            None,
        );
    }
}

async fn concurrent_change_id(ctx: &Ctx, storage: Storage) {
    let old = SessionId::generate();
    let original = written(ctx, 0, 0);
    ctx.ok(
        "create",
        storage.create(key(&old), &original, ctx.base).await,
    );
    let new_ids: Vec<SessionId> = (0..ctx.tasks).map(|_| SessionId::generate()).collect();
    let ctx_copy = *ctx;
    let results = together(ctx.tasks, |n| {
        let storage = Arc::clone(&storage);
        let (old, new) = (old.clone(), new_ids.get(n).cloned());
        async move {
            let Some(new) = new else { return false };
            let record = written(&ctx_copy, n, 1);
            ctx_copy.ok(
                "change_id",
                storage
                    .change_id(key(&old), key(&new), &record, ctx_copy.base)
                    .await,
            )
        }
    })
    .await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, moved)| **moved)
        .map(|(n, _)| n)
        .collect();
    let &[winner] = winners.as_slice() else {
        ctx.fail(&format!(
            "{} of {} racing change_ids from one id succeeded, expected exactly 1",
            winners.len(),
            ctx.tasks
        ));
    };
    ctx.expect(
        "load of the old id after racing change_ids",
        ctx.ok("load", storage.load(key(&old), ctx.base).await),
        None,
    );
    for (n, id) in new_ids.iter().enumerate() {
        let got = ctx.ok("load", storage.load(key(id), ctx.base).await);
        let want = written(ctx, n, 1);
        let want = (n == winner).then_some(&want);
        ctx.expect("load of a new id after racing change_ids", got, want);
    }
}

/// A small deterministic generator, so a failing run can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below.max(1) as u64) as usize
    }
}

async fn concurrent_mixed(ctx: &Ctx, storage: Storage) {
    let shared: Arc<Vec<SessionId>> = Arc::new((0..8).map(|_| SessionId::generate()).collect());
    let ctx_copy = *ctx;
    let private_ids = together(ctx.tasks, |n| {
        let (storage, shared) = (Arc::clone(&storage), Arc::clone(&shared));
        async move {
            let ctx = ctx_copy;
            let now = ctx.base;
            let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1));
            let mine = SessionId::generate();
            let mut last = written(&ctx, n, 0);
            let created = ctx.ok("create", storage.create(key(&mine), &last, now).await);
            ctx.check(
                created == Created::Inserted,
                "create of a task's own id collided",
            );
            for step in 1..=ctx.ops_per_task {
                let record = written(&ctx, n, step);
                let Some(id) = shared.get(rng.next(shared.len())) else {
                    continue;
                };
                match rng.next(10) {
                    0..=2 => {
                        if let Some(got) = ctx.ok("load", storage.load(key(id), now).await) {
                            ctx.check(
                                is_whole(&ctx, &got),
                                "a load of a contested id returned a record no writer wrote",
                            );
                        }
                    }
                    3 | 4 => {
                        ctx.ok("create", storage.create(key(id), &record, now).await);
                    }
                    5 | 6 => {
                        ctx.ok("update", storage.update(key(id), &record, now).await);
                    }
                    7 => {
                        ctx.ok("delete", storage.delete(key(id)).await);
                    }
                    _ => {
                        let updated =
                            ctx.ok("update", storage.update(key(&mine), &record, now).await);
                        ctx.check(updated, "update of a task's own live record returned false");
                        last = record;
                        let got = ctx.ok("load", storage.load(key(&mine), now).await);
                        ctx.expect(
                            "load of a task's own record after its update",
                            got,
                            Some(&last),
                        );
                    }
                }
            }
            (mine, last)
        }
    })
    .await;
    for (id, last) in &private_ids {
        let got = ctx.ok("load", storage.load(key(id), ctx.base).await);
        ctx.expect(
            "load of a task's own record at the end (lost record)",
            got,
            Some(last),
        );
    }
    for id in shared.iter() {
        if let Some(got) = ctx.ok("load", storage.load(key(id), ctx.base).await) {
            ctx.check(
                is_whole(ctx, &got),
                "a contested id holds a record no writer wrote",
            );
        }
    }
}
