//! The sequential cases of the contract.

use super::{Case, Ctx, HOUR, SECOND, key};
use crate::storage::{Created, Namespace, SessionId, SessionStorage};

pub(super) async fn run(ctx: &Ctx, s: &dyn SessionStorage) {
    match ctx.case {
        Case::LoadUnknown => load_unknown(ctx, s).await,
        Case::CreateThenLoad => create_then_load(ctx, s).await,
        Case::EmptyPayload => empty_payload(ctx, s).await,
        Case::CreateCollision => create_collision(ctx, s).await,
        Case::CreateOverExpired => create_over_expired(ctx, s).await,
        Case::UpdateAbsent => update_absent(ctx, s).await,
        Case::UpdatePresent => update_present(ctx, s).await,
        Case::DeleteIdempotent => delete_idempotent(ctx, s).await,
        Case::DeleteThenUpdate => delete_then_update(ctx, s).await,
        Case::ExpiredReadsAbsent => expired_reads_absent(ctx, s).await,
        Case::UpdateExpired => update_expired(ctx, s).await,
        Case::DeleteExpired => delete_expired(ctx, s).await,
        Case::ChangeId => change_id(ctx, s).await,
        Case::ChangeIdRefusals => change_id_refusals(ctx, s).await,
        Case::Stats => stats(ctx, s).await,
        Case::DeleteExpiredBatch => delete_expired_batch(ctx, s).await,
        Case::Namespaces => namespaces(ctx, s).await,
        Case::ConcurrentCreate
        | Case::ConcurrentDeleteWins
        | Case::ConcurrentChangeId
        | Case::ConcurrentMixed
        | Case::BinaryPayload
        | Case::Metadata
        | Case::ConditionalUpdate
        | Case::ConcurrentConditionalUpdates
        | Case::PrincipalIndex
        | Case::PrincipalEnds
        | Case::ConcurrentPrincipal => ctx.fail("not a sequential case"),
    }
}

fn custom(text: &str) -> SessionId {
    match SessionId::parse_custom(text) {
        Some(id) => id,
        None => panic!("storage contract: {text:?} is not a valid custom id"),
    }
}

async fn load_unknown(ctx: &Ctx, s: &dyn SessionStorage) {
    for id in [SessionId::generate(), custom("never-stored")] {
        let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
        ctx.expect("load of an unknown id", got, None);
        let removed = ctx.ok("delete", s.delete(key(&id)).await);
        ctx.check(!removed, "delete of an unknown id reported a removal");
    }
}

async fn create_then_load(ctx: &Ctx, s: &dyn SessionStorage) {
    let big = format!("{{\"blob\":\"{}\"}}", "x".repeat(64 * 1024));
    let payloads = [
        r#"{"userID":"123","productIDs":[1,3,7]}"#.to_owned(),
        "ünïcödé € 𝄞 \"quotes\" \\ back\\slash\nnew line\ttab".to_owned(),
        big,
    ];
    let long_custom = "a".repeat(crate::id::MAX_CUSTOM_ID_LEN);
    let ids = [
        SessionId::generate(),
        SessionId::generate(),
        SessionId::generate(),
        custom("user-42"),
        custom("x"),
        custom(&long_custom),
    ];
    for (n, id) in ids.iter().enumerate() {
        let data = payloads
            .get(n % payloads.len())
            .map_or("{}", String::as_str);
        let record = ctx.live(data);
        let created = ctx.ok("create", s.create(key(id), &record, ctx.base).await);
        ctx.check(
            created == Created::Inserted,
            "create of a fresh id was not Inserted",
        );
        let got = ctx.ok("load", s.load(key(id), ctx.base).await);
        ctx.expect("load after create", got, Some(&record));
    }
    // Each id kept its own record.
    for (n, id) in ids.iter().enumerate() {
        let data = payloads
            .get(n % payloads.len())
            .map_or("{}", String::as_str);
        let got = ctx.ok("load", s.load(key(id), ctx.at(60)).await);
        ctx.expect("load of one of several records", got, Some(&ctx.live(data)));
    }
}

async fn empty_payload(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    let record = ctx.live("");
    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load of an empty payload", got, Some(&record));
}

async fn create_collision(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    let first = ctx.live("first");
    let second = ctx.record("second", HOUR * 2);
    ctx.ok("create", s.create(key(&id), &first, ctx.base).await);
    let again = ctx.ok(
        "second create",
        s.create(key(&id), &second, ctx.at(1)).await,
    );
    ctx.check(
        again == Created::Collision,
        "create of a taken id was not a Collision",
    );
    let got = ctx.ok("load", s.load(key(&id), ctx.at(1)).await);
    ctx.expect("load after a collision", got, Some(&first));
}

async fn create_over_expired(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = custom("reused-custom-id");
    let old = ctx.live("old");
    ctx.ok("create", s.create(key(&id), &old, ctx.base).await);
    let later = ctx.base + HOUR * 2;
    let new = super::super::Record::new("new", later, later + HOUR);
    let created = ctx.ok("create over expired", s.create(key(&id), &new, later).await);
    ctx.check(
        created == Created::Inserted,
        "create over an expired record was not Inserted",
    );
    let got = ctx.ok("load", s.load(key(&id), later).await);
    ctx.expect("load after create over expired", got, Some(&new));
}

async fn update_absent(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    let record = ctx.live("never");
    let updated = ctx.ok("update", s.update(key(&id), &record, ctx.base).await);
    ctx.check(!updated, "update of an absent id returned true");
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load after update of an absent id", got, None);
    let created = ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
    ctx.check(
        created == Created::Inserted,
        "update of an absent id left something behind (create collided)",
    );
}

async fn update_present(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    ctx.ok(
        "create",
        s.create(key(&id), &ctx.live("v1"), ctx.base).await,
    );
    for (n, data) in ["v2", "a much longer third version of the record", "v4"]
        .iter()
        .enumerate()
    {
        let now = ctx.at(n as u64 + 1);
        let record = super::super::Record::new(*data, ctx.base, now + HOUR);
        let updated = ctx.ok("update", s.update(key(&id), &record, now).await);
        ctx.check(updated, "update of a live record returned false");
        let got = ctx.ok("load", s.load(key(&id), now).await);
        ctx.expect("load after update", got, Some(&record));
    }
}

async fn delete_idempotent(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    let other = SessionId::generate();
    ctx.ok(
        "create",
        s.create(key(&id), &ctx.live("doomed"), ctx.base).await,
    );
    ctx.ok(
        "create",
        s.create(key(&other), &ctx.live("other"), ctx.base).await,
    );
    ctx.check(
        ctx.ok("delete", s.delete(key(&id)).await),
        "delete of a live record reported no removal",
    );
    ctx.expect(
        "load after delete",
        ctx.ok("load", s.load(key(&id), ctx.base).await),
        None,
    );
    ctx.check(
        !ctx.ok("second delete", s.delete(key(&id)).await),
        "a second delete reported a removal",
    );
    ctx.expect(
        "load of another id after a delete",
        ctx.ok("load", s.load(key(&other), ctx.base).await),
        Some(&ctx.live("other")),
    );
}

async fn delete_then_update(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    ctx.ok(
        "create",
        s.create(key(&id), &ctx.live("v1"), ctx.base).await,
    );
    ctx.ok("delete", s.delete(key(&id)).await);
    let updated = ctx.ok(
        "update",
        s.update(key(&id), &ctx.live("stale"), ctx.at(1)).await,
    );
    ctx.check(!updated, "update after delete returned true");
    let got = ctx.ok("load", s.load(key(&id), ctx.at(1)).await);
    ctx.expect("load after delete and update (resurrection)", got, None);
}

async fn expired_reads_absent(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    let record = ctx.live("short-lived");
    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
    let just_before = ctx.base + HOUR - SECOND;
    let got = ctx.ok("load", s.load(key(&id), just_before).await);
    ctx.expect("load a second before expiry", got, Some(&record));
    for now in [ctx.base + HOUR, ctx.base + HOUR * 2] {
        let got = ctx.ok("load", s.load(key(&id), now).await);
        ctx.expect("load at or after expiry (no sweep ran)", got, None);
    }
}

async fn update_expired(ctx: &Ctx, s: &dyn SessionStorage) {
    let id = SessionId::generate();
    ctx.ok(
        "create",
        s.create(key(&id), &ctx.live("v1"), ctx.base).await,
    );
    let later = ctx.base + HOUR * 2;
    let revived = super::super::Record::new("revived", ctx.base, later + HOUR);
    let updated = ctx.ok("update", s.update(key(&id), &revived, later).await);
    ctx.check(!updated, "update of an expired record returned true");
    let got = ctx.ok("load", s.load(key(&id), later).await);
    ctx.expect("load after update of an expired record", got, None);

    let new = SessionId::generate();
    let moved = ctx.ok(
        "change_id",
        s.change_id(key(&id), key(&new), &revived, later).await,
    );
    ctx.check(!moved, "change_id of an expired record returned true");
    let got = ctx.ok("load", s.load(key(&new), later).await);
    ctx.expect(
        "load of the new id after change_id of an expired record",
        got,
        None,
    );
}

async fn delete_expired(ctx: &Ctx, s: &dyn SessionStorage) {
    let lifetimes = [1u32, 2, 3, 4];
    let ids: Vec<SessionId> = lifetimes.iter().map(|_| SessionId::generate()).collect();
    for (id, hours) in ids.iter().zip(lifetimes) {
        let record = ctx.record(&format!("{hours}h"), HOUR * hours);
        ctx.ok("create", s.create(key(id), &record, ctx.base).await);
    }
    let now = ctx.base + HOUR * 2;
    let removed = ctx.ok("delete_expired", s.delete_expired(now).await);
    ctx.check(
        removed == 2,
        &format!("delete_expired at +2h removed {removed} records, expected 2 (those expiring at +1h and +2h)"),
    );
    for (id, hours) in ids.iter().zip(lifetimes) {
        // Loaded at `base`, when all four were live: the swept ones must be gone for good.
        let got = ctx.ok("load", s.load(key(id), ctx.base).await);
        let want = ctx.record(&format!("{hours}h"), HOUR * hours);
        let want = (hours > 2).then_some(&want);
        ctx.expect("load after delete_expired", got, want);
    }
    let again = ctx.ok("second delete_expired", s.delete_expired(now).await);
    ctx.check(again == 0, "a second delete_expired removed records");
}

async fn stats(ctx: &Ctx, s: &dyn SessionStorage) {
    let Some(empty) = ctx.ok("stats", s.stats(ctx.base).await) else {
        return; // not supported: nothing to check
    };
    ctx.check(
        (empty.live, empty.expired, empty.unreadable) == (0, 0, 0),
        &format!("stats of an empty storage: {empty:?}"),
    );
    let lifetimes = [1u32, 2, 3, 4, 5];
    let ids: Vec<SessionId> = lifetimes.iter().map(|_| SessionId::generate()).collect();
    for (id, hours) in ids.iter().zip(lifetimes) {
        let record = ctx.record(&format!("{hours}h"), HOUR * hours);
        ctx.ok("create", s.create(key(id), &record, ctx.base).await);
    }
    let at = |hours: u32, live: u64, expired: u64| async move {
        let got = ctx.ok("stats", s.stats(ctx.base + HOUR * hours).await);
        match got {
            Some(got) => ctx.check(
                (got.live, got.expired, got.unreadable) == (live, expired, 0),
                &format!(
                    "stats at +{hours}h: expected {live} live and {expired} expired, got {got:?}"
                ),
            ),
            None => ctx.fail("stats was supported on an empty storage, and not any more"),
        }
    };
    at(0, 5, 0).await;
    at(2, 3, 2).await;
    at(5, 0, 5).await;
    // Counting removed nothing.
    for id in &ids {
        let got = ctx.ok("load", s.load(key(id), ctx.base).await);
        ctx.check(got.is_some(), "a record was gone after stats");
    }
}

async fn delete_expired_batch(ctx: &Ctx, s: &dyn SessionStorage) {
    let expired = 7u32;
    let mut ids = Vec::new();
    for n in 0..expired + 3 {
        let id = SessionId::generate();
        let lifetime = if n < expired { HOUR } else { HOUR * 5 };
        ctx.ok(
            "create",
            s.create(key(&id), &ctx.record("x", lifetime), ctx.base)
                .await,
        );
        ids.push((id, n < expired));
    }
    let now = ctx.base + HOUR * 2;
    let (mut removed, mut from, mut steps) = (0u64, None, 0);
    loop {
        let batch = ctx.ok(
            "delete_expired_batch",
            s.delete_expired_batch(now, from, 2).await,
        );
        removed += batch.removed;
        steps += 1;
        ctx.check(steps <= 10_000, "delete_expired_batch never finished");
        match batch.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    ctx.check(
        removed == u64::from(expired),
        &format!("the batches removed {removed} records, expected {expired}"),
    );
    for (id, was_expired) in &ids {
        let got = ctx.ok("load", s.load(key(id), ctx.base).await);
        ctx.check(
            got.is_some() != *was_expired,
            "after the batches, an expired record is still there or a live one is gone",
        );
    }
}

async fn change_id(ctx: &Ctx, s: &dyn SessionStorage) {
    let old = SessionId::generate();
    let new = SessionId::generate();
    ctx.ok(
        "create",
        s.create(key(&old), &ctx.live("before"), ctx.base).await,
    );
    let moved_record = ctx.record("after", HOUR * 2);
    let moved = ctx.ok(
        "change_id",
        s.change_id(key(&old), key(&new), &moved_record, ctx.at(1))
            .await,
    );
    ctx.check(
        moved,
        "change_id of a live record to a free id returned false",
    );
    let got = ctx.ok("load", s.load(key(&old), ctx.at(1)).await);
    ctx.expect("load of the old id after change_id", got, None);
    let got = ctx.ok("load", s.load(key(&new), ctx.at(1)).await);
    ctx.expect(
        "load of the new id after change_id",
        got,
        Some(&moved_record),
    );
    let updated = ctx.ok(
        "update",
        s.update(key(&old), &ctx.live("stale"), ctx.at(2)).await,
    );
    ctx.check(
        !updated,
        "update of the old id after change_id returned true",
    );
}

async fn change_id_refusals(ctx: &Ctx, s: &dyn SessionStorage) {
    let record = ctx.live("moved");
    // The old id is unknown.
    let (unknown, new) = (SessionId::generate(), SessionId::generate());
    let moved = ctx.ok(
        "change_id",
        s.change_id(key(&unknown), key(&new), &record, ctx.base)
            .await,
    );
    ctx.check(!moved, "change_id from an unknown id returned true");
    let got = ctx.ok("load", s.load(key(&new), ctx.base).await);
    ctx.expect("load of the new id after a refused change_id", got, None);

    // The old id was deleted.
    let deleted = SessionId::generate();
    ctx.ok(
        "create",
        s.create(key(&deleted), &ctx.live("gone"), ctx.base).await,
    );
    ctx.ok("delete", s.delete(key(&deleted)).await);
    let moved = ctx.ok(
        "change_id",
        s.change_id(key(&deleted), key(&new), &record, ctx.base)
            .await,
    );
    ctx.check(!moved, "change_id from a deleted id returned true");
    let got = ctx.ok("load", s.load(key(&new), ctx.base).await);
    ctx.expect(
        "load of the new id after change_id from a deleted id",
        got,
        None,
    );

    // The new id is taken.
    let (old, taken) = (SessionId::generate(), SessionId::generate());
    let (old_record, taken_record) = (ctx.live("old"), ctx.live("taken"));
    ctx.ok("create", s.create(key(&old), &old_record, ctx.base).await);
    ctx.ok(
        "create",
        s.create(key(&taken), &taken_record, ctx.base).await,
    );
    let moved = ctx.ok(
        "change_id",
        s.change_id(key(&old), key(&taken), &record, ctx.base).await,
    );
    ctx.check(!moved, "change_id to a taken id returned true");
    let got = ctx.ok("load", s.load(key(&old), ctx.base).await);
    ctx.expect(
        "load of the old id after a refused change_id",
        got,
        Some(&old_record),
    );
    let got = ctx.ok("load", s.load(key(&taken), ctx.base).await);
    ctx.expect(
        "load of the taken id after a refused change_id",
        got,
        Some(&taken_record),
    );
}

async fn namespaces(ctx: &Ctx, s: &dyn SessionStorage) {
    let other = Namespace::new("contract-other");
    let (id, new) = (SessionId::generate(), SessionId::generate());
    let record = ctx.live("mine");
    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
    let got = ctx.ok("load", s.load(other.key(&id), ctx.base).await);
    ctx.expect("load of the id in another namespace", got, None);
    let updated = ctx.ok(
        "update",
        s.update(other.key(&id), &ctx.live("theirs"), ctx.base)
            .await,
    );
    ctx.check(!updated, "update in another namespace reported success");
    let moved = ctx.ok(
        "change_id",
        s.change_id(other.key(&id), other.key(&new), &record, ctx.base)
            .await,
    );
    ctx.check(!moved, "change_id from another namespace reported success");
    let removed = ctx.ok("delete", s.delete(other.key(&id)).await);
    ctx.check(!removed, "delete in another namespace reported a removal");
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect(
        "load after the other namespace's attempts",
        got,
        Some(&record),
    );
    let theirs = ctx.live("theirs");
    let created = ctx.ok("create", s.create(other.key(&id), &theirs, ctx.base).await);
    ctx.check(
        created == Created::Inserted,
        "create of a taken id in another namespace was not Inserted",
    );
    let got = ctx.ok("load", s.load(other.key(&id), ctx.base).await);
    ctx.expect("load in the other namespace", got, Some(&theirs));
    let got = ctx.ok("load", s.load(key(&id), ctx.base).await);
    ctx.expect("load in the first namespace", got, Some(&record));
}
