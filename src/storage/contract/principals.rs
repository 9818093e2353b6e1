//! The principal index cases: the index follows every write, lists exactly the live sessions,
//! ends what it is asked to and nothing else, also under hundreds of concurrent logins and
//! logouts of one user.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::Barrier;

use super::{CONTRACT, Case, Ctx, HOUR, SECOND, key, principal_id};
use crate::storage::{
    Namespace, Record, SessionHandle, SessionId, SessionStorage, StorageErrorKind,
};

pub(super) async fn run(ctx: &Ctx, s: Arc<dyn SessionStorage>) {
    if !s.supports_principals() {
        return refuses(ctx, &*s).await;
    }
    match ctx.case {
        Case::PrincipalIndex => index(ctx, &*s).await,
        Case::PrincipalEnds => ends(ctx, &*s).await,
        Case::ConcurrentPrincipal => concurrent(ctx, s).await,
        _ => ctx.fail("not a principal case"),
    }
}

/// A storage without the index says so, and its index operations refuse with `Unsupported`.
async fn refuses(ctx: &Ctx, s: &dyn SessionStorage) {
    let handle = SessionHandle::from_digest([7; 32]);
    let unsupported = |what: &str, kind: Option<StorageErrorKind>| {
        ctx.check(
            kind == Some(StorageErrorKind::Unsupported),
            &format!(
                "{what} of a storage without a principal index did not refuse with Unsupported"
            ),
        );
    };
    let listed = s.sessions_of(&CONTRACT, "ada", ctx.base).await;
    unsupported("sessions_of", listed.err().map(|e| e.kind()));
    let ended = s.delete_of(&CONTRACT, "ada", &handle).await;
    unsupported("delete_of", ended.err().map(|e| e.kind()));
    let all = s.delete_all_of(&CONTRACT, "ada", None).await;
    unsupported("delete_all_of", all.err().map(|e| e.kind()));
}

/// The handles of `principal`'s listed sessions, checking that each listed record is the one
/// stored under its handle's session.
async fn listed(
    ctx: &Ctx,
    s: &dyn SessionStorage,
    ns: &Namespace,
    principal: &str,
) -> BTreeSet<String> {
    listed_at(ctx, s, ns, principal, ctx.base).await
}

/// [`listed`] at `now`.
async fn listed_at(
    ctx: &Ctx,
    s: &dyn SessionStorage,
    ns: &Namespace,
    principal: &str,
    now: SystemTime,
) -> BTreeSet<String> {
    let sessions = ctx.ok("sessions_of", s.sessions_of(ns, principal, now).await);
    let mut handles = BTreeSet::new();
    for session in sessions {
        ctx.check(
            session.record.meta.principal.as_deref() == Some(principal),
            "sessions_of listed a record of another principal",
        );
        ctx.check(
            !session.record.is_expired(now),
            "sessions_of listed an expired record",
        );
        handles.insert(session.handle.to_string());
    }
    handles
}

fn handle(id: &SessionId) -> String {
    SessionHandle::of(key(id)).to_string()
}

fn set(ids: &[&SessionId]) -> BTreeSet<String> {
    ids.iter().map(|id| handle(id)).collect()
}

/// The index follows create, change_id, delete and expiry, per namespace and principal.
async fn index(ctx: &Ctx, s: &dyn SessionStorage) {
    let other_ns = Namespace::new("contract-other");
    let (a1, a2, a3, b1, plain) = (
        principal_id(s, &CONTRACT, "ada"),
        principal_id(s, &CONTRACT, "ada"),
        principal_id(s, &other_ns, "ada"),
        principal_id(s, &CONTRACT, "bob"),
        SessionId::generate(),
    );
    let ada = |data: &str| ctx.live(data).with_principal("ada");
    ctx.ok("create", s.create(key(&a1), &ada("1"), ctx.base).await);
    ctx.ok("create", s.create(key(&a2), &ada("2"), ctx.base).await);
    ctx.ok(
        "create",
        s.create(other_ns.key(&a3), &ada("3"), ctx.base).await,
    );
    let bob = ctx.live("b").with_principal("bob");
    ctx.ok("create", s.create(key(&b1), &bob, ctx.base).await);
    ctx.ok(
        "create",
        s.create(key(&plain), &ctx.live("p"), ctx.base).await,
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "ada").await == set(&[&a1, &a2]),
        "sessions_of(ada) is not exactly ada's sessions in the namespace",
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "bob").await == set(&[&b1]),
        "sessions_of(bob) is not exactly bob's session",
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "nobody").await.is_empty(),
        "sessions_of an unknown principal is not empty",
    );
    let in_other = ctx.ok(
        "sessions_of",
        s.sessions_of(&other_ns, "ada", ctx.base).await,
    );
    ctx.check(
        in_other.len() == 1
            && in_other.first().map(|s| s.handle) == Some(SessionHandle::of(other_ns.key(&a3))),
        "sessions_of in another namespace is not exactly the session there",
    );
    // An update keeps the session listed, with the new record.
    let newer = ada("1b");
    ctx.ok("update", s.update(key(&a1), &newer, ctx.base).await);
    let sessions = ctx.ok(
        "sessions_of",
        s.sessions_of(&CONTRACT, "ada", ctx.base).await,
    );
    let a1_listed = sessions
        .iter()
        .find(|s| s.handle == SessionHandle::of(key(&a1)))
        .map(|s| s.record.clone());
    ctx.expect("the listed record after an update", a1_listed, Some(&newer));
    // The record keeps the principal it was stored with: an update (or a conditional one)
    // that names none does not take the session out of the index.
    let unnamed = ctx.live("1c");
    ctx.ok("update", s.update(key(&a1), &unnamed, ctx.base).await);
    if s.supports_conditional_updates() {
        let current = ctx.ok("load", s.load(key(&a1), ctx.base).await);
        if let Some(current) = current {
            let again = ctx.live("1d");
            ctx.ok(
                "update_if",
                s.update_if(key(&a1), &again, current.revision, ctx.base)
                    .await,
            );
        }
    }
    let kept = ctx.ok("load", s.load(key(&a1), ctx.base).await);
    ctx.check(
        kept.as_ref().and_then(|r| r.meta.principal.as_deref()) == Some("ada"),
        "an update without a principal changed the principal the record was stored with",
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "ada")
            .await
            .contains(&handle(&a1)),
        "an update without a principal took the session out of the index",
    );
    // change_id moves the entry; a login moves an anonymous session under a principal.
    let moved = principal_id(s, &CONTRACT, "ada");
    ctx.ok(
        "change_id",
        s.change_id(key(&a2), key(&moved), &ada("2b"), ctx.base)
            .await,
    );
    let login = principal_id(s, &CONTRACT, "ada");
    ctx.ok(
        "change_id",
        s.change_id(key(&plain), key(&login), &ada("login"), ctx.base)
            .await,
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "ada").await == set(&[&a1, &moved, &login]),
        "the index did not follow change_id",
    );
    // delete removes the entry.
    ctx.ok("delete", s.delete(key(&a1)).await);
    ctx.check(
        listed(ctx, s, &CONTRACT, "ada").await == set(&[&moved, &login]),
        "the index did not follow delete",
    );
    // An expired session is not listed, swept or not.
    let short = principal_id(s, &CONTRACT, "ada");
    let dying = ctx.record("dying", SECOND * 10).with_principal("ada");
    ctx.ok("create", s.create(key(&short), &dying, ctx.base).await);
    let later = ctx.at(10);
    let sessions = ctx.ok("sessions_of", s.sessions_of(&CONTRACT, "ada", later).await);
    ctx.check(
        sessions
            .iter()
            .all(|s| s.handle != SessionHandle::of(key(&short))),
        "an expired session is listed",
    );
    ctx.ok("delete_expired", s.delete_expired(later).await);
    ctx.check(
        listed_at(ctx, s, &CONTRACT, "ada", later).await == set(&[&moved, &login]),
        "the index lost live sessions in delete_expired",
    );
}

/// delete_of ends only the principal's own session; delete_all_of ends all or all but one.
async fn ends(ctx: &Ctx, s: &dyn SessionStorage) {
    let ids: Vec<SessionId> = (0..4).map(|_| principal_id(s, &CONTRACT, "ada")).collect();
    for id in &ids {
        let record = ctx.live("{}").with_principal("ada");
        ctx.ok("create", s.create(key(id), &record, ctx.base).await);
    }
    let bob = principal_id(s, &CONTRACT, "bob");
    let bob_record = ctx.live("{}").with_principal("bob");
    ctx.ok("create", s.create(key(&bob), &bob_record, ctx.base).await);
    let bob_handle = SessionHandle::of(key(&bob));
    // A handle of bob's session, presented as ada's, ends nothing.
    let ended = ctx.ok(
        "delete_of",
        s.delete_of(&CONTRACT, "ada", &bob_handle).await,
    );
    ctx.check(!ended, "delete_of ended another principal's session");
    ctx.expect(
        "bob's session after ada's attempt",
        ctx.ok("load", s.load(key(&bob), ctx.base).await),
        Some(&bob_record),
    );
    let [first, keep, ..] = ids.as_slice() else {
        ctx.fail("no ids");
    };
    let ended = ctx.ok(
        "delete_of",
        s.delete_of(&CONTRACT, "ada", &SessionHandle::of(key(first)))
            .await,
    );
    ctx.check(ended, "delete_of did not end ada's session");
    ctx.expect(
        "the session delete_of ended",
        ctx.ok("load", s.load(key(first), ctx.base).await),
        None,
    );
    let again = ctx.ok(
        "delete_of",
        s.delete_of(&CONTRACT, "ada", &SessionHandle::of(key(first)))
            .await,
    );
    ctx.check(!again, "delete_of of an ended session reported an end");
    let keep_handle = SessionHandle::of(key(keep));
    let count = ctx.ok(
        "delete_all_of",
        s.delete_all_of(&CONTRACT, "ada", Some(&keep_handle)).await,
    );
    ctx.check(
        count == 2,
        &format!("delete_all_of(except one) ended {count}, not 2"),
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "ada").await == set(&[keep]),
        "delete_all_of(except) left the wrong sessions",
    );
    for id in ids.iter().skip(2) {
        ctx.expect(
            "a session delete_all_of ended",
            ctx.ok("load", s.load(key(id), ctx.base).await),
            None,
        );
    }
    let count = ctx.ok(
        "delete_all_of",
        s.delete_all_of(&CONTRACT, "ada", None).await,
    );
    ctx.check(
        count == 1,
        &format!("delete_all_of(all) ended {count}, not 1"),
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "ada").await.is_empty(),
        "sessions remain after delete_all_of(all)",
    );
    ctx.check(
        listed(ctx, s, &CONTRACT, "bob").await.len() == 1,
        "delete_all_of(ada) touched bob",
    );
}

/// Hundreds of concurrent logins (create, or change_id of an anonymous session), logouts
/// (delete) and "log out everywhere else" of one user: at the end the index lists exactly the
/// live sessions.
async fn concurrent(ctx: &Ctx, s: Arc<dyn SessionStorage>) {
    let tasks = ctx.tasks.max(8) * 4;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let (s, barrier, ctx) = (Arc::clone(&s), Arc::clone(&barrier), *ctx);
        handles.push(tokio::spawn(async move {
            let record = ctx.live("{}").with_principal("ada");
            let id = principal_id(&*s, &CONTRACT, "ada");
            match task % 4 {
                // A login by regeneration of an anonymous session.
                0 => {
                    let anonymous = SessionId::generate();
                    ctx.ok(
                        "create",
                        s.create(key(&anonymous), &ctx.live("{}"), ctx.base).await,
                    );
                    barrier.wait().await;
                    ctx.ok(
                        "change_id",
                        s.change_id(key(&anonymous), key(&id), &record, ctx.base)
                            .await,
                    );
                }
                // A login, then a logout.
                1 => {
                    barrier.wait().await;
                    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
                    ctx.ok("delete", s.delete(key(&id)).await);
                }
                // A login, then "this device" ended from the account page.
                2 => {
                    barrier.wait().await;
                    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
                    let handle = SessionHandle::of(key(&id));
                    ctx.ok("delete_of", s.delete_of(&CONTRACT, "ada", &handle).await);
                }
                // A plain login.
                _ => {
                    barrier.wait().await;
                    ctx.ok("create", s.create(key(&id), &record, ctx.base).await);
                }
            }
            id
        }));
    }
    let mut ids = Vec::with_capacity(tasks);
    for handle in handles {
        match handle.await {
            Ok(id) => ids.push(id),
            Err(_) => ctx.fail("a task panicked"),
        }
    }
    let mut live = BTreeSet::new();
    for id in &ids {
        if ctx.ok("load", s.load(key(id), ctx.base).await).is_some() {
            live.insert(handle(id));
        }
    }
    ctx.check(
        live.len() == tasks / 2,
        &format!("{} sessions live, expected {}", live.len(), tasks / 2),
    );
    ctx.check(
        listed(ctx, &*s, &CONTRACT, "ada").await == live,
        "after concurrent logins and logouts the index is not exactly the live sessions",
    );
    // A concurrent "log out everywhere" leaves nothing, and later logins are listed again.
    let count = ctx.ok(
        "delete_all_of",
        s.delete_all_of(&CONTRACT, "ada", None).await,
    );
    ctx.check(
        usize::try_from(count).ok() == Some(live.len()),
        "delete_all_of did not end every listed session",
    );
    for id in &ids {
        ctx.expect(
            "a session after delete_all_of",
            ctx.ok("load", s.load(key(id), ctx.base).await),
            None,
        );
    }
    let again = principal_id(&*s, &CONTRACT, "ada");
    let record: Record = ctx.live("{}").with_principal("ada");
    ctx.ok(
        "create",
        s.create(key(&again), &record, ctx.base + HOUR / 2).await,
    );
    ctx.check(
        listed(ctx, &*s, &CONTRACT, "ada").await == set(&[&again]),
        "a login after delete_all_of is not listed alone",
    );
}
