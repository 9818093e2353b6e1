//! The cases about what a record holds: bytes, metadata, revisions and conditional updates.

use std::sync::Arc;

use tokio::sync::Barrier;

use super::{CONTRACT, Case, Ctx, HOUR, key, principal_id};
use crate::storage::{
    Created, Metadata, Revision, SessionId, SessionStorage, StorageErrorKind, Updated,
};

pub(super) async fn run(ctx: &Ctx, s: Arc<dyn SessionStorage>) {
    match ctx.case {
        Case::BinaryPayload => binary_payload(ctx, &*s).await,
        Case::Metadata => metadata(ctx, &*s).await,
        Case::ConditionalUpdate => conditional_update(ctx, &*s).await,
        Case::ConcurrentConditionalUpdates => concurrent_conditional_updates(ctx, s).await,
        _ => ctx.fail("not a record case"),
    }
}

/// Every byte value, and data that is not UTF-8, round-trip.
async fn binary_payload(ctx: &Ctx, s: &dyn SessionStorage) {
    let mut data: Vec<u8> = (0..=255u8).collect();
    data.extend([0xff, 0xfe, 0x00, 0xc3, 0x28]); // invalid UTF-8 sequences
    let record = ctx.live_bytes(data);
    let id = SessionId::generate();
    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load of binary data", got, Some(&record));
    let updated = ctx.live_bytes(vec![0u8; 3]);
    ctx.ok("update", s.update(key(&id), &updated, ctx.base).await);
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load after a binary update", got, Some(&updated));
}

/// A record's revision and metadata come back exactly as written, through create, update and
/// change_id.
async fn metadata(ctx: &Ctx, s: &dyn SessionStorage) {
    let mut meta = Metadata::new(ctx.at(5), ctx.base + HOUR * 24);
    meta.principal = Some("ädä lovelace <ada@example.org>".into());
    meta.version = Some(3);
    meta.device = Some("Firefox on Linux".into());
    meta.address = Some("192.0.2.0/24".into());
    let record = ctx.live("{}").with_meta(meta.clone());
    let principal = meta.principal.as_deref().unwrap_or_default();
    let (id, moved) = (principal_id(s, &CONTRACT, principal), SessionId::generate());
    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load with metadata", got, Some(&record));
    // An update writes a new revision and new metadata (the same principal).
    let mut later = meta.clone();
    later.last_seen = ctx.at(60);
    later.version = Some(4);
    later.device = None;
    later.address = None;
    let second = ctx.live("{\"v\":2}").with_meta(later);
    ctx.check(
        second.revision != record.revision,
        "two records got the same revision",
    );
    ctx.ok("update", s.update(key(&id), &second, ctx.at(1)).await);
    let got = ctx.ok("load", s.load(key(&id), ctx.at(1)).await);
    ctx.expect("load after an update with metadata", got, Some(&second));
    let third = ctx
        .live("{\"v\":3}")
        .with_meta(Metadata::new(ctx.at(2), ctx.base + HOUR));
    let done = ctx.ok(
        "change_id",
        s.change_id(key(&id), key(&moved), &third, ctx.at(2)).await,
    );
    ctx.check(done, "change_id of a live record failed");
    let got = ctx.ok("load", s.load(key(&moved), ctx.at(2)).await);
    ctx.expect("load after change_id with metadata", got, Some(&third));
}

/// `update_if` writes only over the revision it expects; deletion and expiry win. A storage
/// that does not support it says so and refuses with `Unsupported`.
async fn conditional_update(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    let first = ctx.live("v1");
    ctx.ok("create", s.create(key(&id), &first, ctx.base).await);
    let second = ctx.live("v2");
    let outcome = s
        .update_if(key(&id), &second, first.revision, ctx.base)
        .await;
    if !s.supports_conditional_updates() {
        match outcome {
            Err(error) if error.kind() == StorageErrorKind::Unsupported => return,
            other => ctx.fail(&format!(
                "a storage without conditional updates must refuse with Unsupported, got {other:?}"
            )),
        }
    }
    ctx.check(
        ctx.ok("update_if", outcome) == Updated::Written,
        "update_if with the current revision was not written",
    );
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load after update_if", got, Some(&second));
    // The revision read before `second` is stale now.
    let stale = ctx.live("v3");
    let outcome = ctx.ok(
        "update_if",
        s.update_if(key(&id), &stale, first.revision, ctx.base)
            .await,
    );
    ctx.check(
        outcome == Updated::Conflict,
        &format!("update_if with a stale revision gave {outcome:?}, not Conflict"),
    );
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load after a conflict", got, Some(&second));
    // A plain update writes another revision: the one read before it conflicts too.
    let third = ctx.live("v4");
    ctx.ok("update", s.update(key(&id), &third, ctx.base).await);
    let outcome = ctx.ok(
        "update_if",
        s.update_if(key(&id), &stale, second.revision, ctx.base)
            .await,
    );
    ctx.check(
        outcome == Updated::Conflict,
        "update_if over a plain update was not a Conflict",
    );
    // Deletion wins.
    ctx.ok("delete", s.delete(key(&id)).await);
    let outcome = ctx.ok(
        "update_if",
        s.update_if(key(&id), &stale, third.revision, ctx.base)
            .await,
    );
    ctx.check(
        outcome == Updated::Gone,
        "update_if of a deleted record was not Gone",
    );
    ctx.expect(
        "load after update_if of a deleted record",
        ctx.ok("load", s.load(key(&id), ctx.base).await),
        None,
    );
    // Expiry wins, and unknown ids are gone.
    let short = SessionId::generate();
    let dying = ctx.record("dying", super::SECOND * 10);
    ctx.ok("create", s.create(key(&short), &dying, ctx.base).await);
    let outcome = ctx.ok(
        "update_if",
        s.update_if(key(&short), &stale, dying.revision, ctx.at(10))
            .await,
    );
    ctx.check(
        outcome == Updated::Gone,
        "update_if of an expired record was not Gone",
    );
    let never = SessionId::generate();
    let outcome = ctx.ok(
        "update_if",
        s.update_if(key(&never), &stale, Revision::new(), ctx.base)
            .await,
    );
    ctx.check(
        outcome == Updated::Gone,
        "update_if of an unknown id was not Gone",
    );
    ctx.expect(
        "load after update_if of an unknown id",
        ctx.ok("load", s.load(key(&never), ctx.base).await),
        None,
    );
}

/// Many tasks each add one item to one record with read, modify, `update_if`, retrying on a
/// conflict: no item is lost.
async fn concurrent_conditional_updates(ctx: &Ctx, s: Arc<dyn SessionStorage>) {
    if !s.supports_conditional_updates() {
        return conditional_update(ctx, &*s).await;
    }
    let id = Arc::new(SessionId::generate());
    let empty = ctx.live("");
    let created = ctx.ok("create", s.create(key(&id), &empty, ctx.base).await);
    ctx.check(created == Created::Inserted, "create failed");
    let tasks = ctx.tasks;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let (s, id, barrier, ctx) = (Arc::clone(&s), Arc::clone(&id), Arc::clone(&barrier), *ctx);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            loop {
                let Some(current) = ctx.ok("load", s.load(key(&id), ctx.base).await) else {
                    ctx.fail("the record disappeared");
                };
                let mut data = current.data.clone();
                data.extend_from_slice(format!("{task};").as_bytes());
                let next = ctx.live_bytes(data).with_meta(current.meta.clone());
                match ctx.ok(
                    "update_if",
                    s.update_if(key(&id), &next, current.revision, ctx.base)
                        .await,
                ) {
                    Updated::Written => return,
                    Updated::Conflict => tokio::task::yield_now().await,
                    Updated::Gone => ctx.fail("update_if said Gone for a live record"),
                }
            }
        }));
    }
    for handle in handles {
        if handle.await.is_err() {
            ctx.fail("a task panicked");
        }
    }
    let Some(last) = ctx.ok("load", s.load(key(&id), ctx.base).await) else {
        ctx.fail("the record disappeared");
    };
    let text = String::from_utf8_lossy(&last.data);
    let mut items: Vec<usize> = text
        .split(';')
        .filter(|t| !t.is_empty())
        .filter_map(|t| t.parse().ok())
        .collect();
    items.sort_unstable();
    ctx.check(
        items == (0..tasks).collect::<Vec<_>>(),
        &format!(
            "{} of {tasks} conditional updates are in the record (lost or repeated updates)",
            items.len()
        ),
    );
}
