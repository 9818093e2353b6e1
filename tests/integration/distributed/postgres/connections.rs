//! The PostgreSQL storage's own connections: a session call is one round trip (no test of the
//! connection on its way back, which sqlx's pool makes on every release), and a connection
//! whose call did not complete is never used again.

use std::time::Duration;

use typed_sessions::storage::{PostgresStorage, SessionId, SessionStorage, StorageErrorKind};

use super::lost_replies::behind_proxy_with;
use crate::common::session_key;
use crate::distributed::semantics::{HOUR, base, record};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_call_is_one_round_trip() {
    let Some((proxy, storage)) =
        behind_proxy_with("one round trip per call", PostgresStorage::builder()).await
    else {
        return;
    };
    let t = base();
    let id = SessionId::generate();
    storage
        .create(session_key(&id), &record("{\"n\":0}", t, HOUR), t)
        .await
        .unwrap();
    // The connection has prepared the statements used below.
    assert!(storage.load(session_key(&id), t).await.unwrap().is_some());
    assert!(
        storage
            .update(session_key(&id), &record("{\"n\":0}", t, HOUR), t)
            .await
            .unwrap()
    );
    // What the pool would send after a call (its test of the connection) runs in a task of
    // its own, after the call has returned: give it time to show.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = proxy.round_trips();
    let mut last = None;
    for n in 1..=20 {
        let written = record(&format!("{{\"n\":{n}}}"), t, HOUR);
        assert!(storage.load(session_key(&id), t).await.unwrap().is_some());
        assert!(storage.update(session_key(&id), &written, t).await.unwrap());
        last = Some(written);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        proxy.round_trips() - before,
        40,
        "20 loads and 20 updates, one round trip each"
    );
    assert_eq!(storage.load(session_key(&id), t).await.unwrap(), last);
}

/// An update that times out while another transaction holds its row leaves its connection
/// waiting for a reply. With one connection allowed, a storage that kept that connection would
/// read the stale reply as the next call's; it must open a new one instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_cut_short_never_leaves_its_reply_to_the_next_call() {
    let builder = PostgresStorage::builder()
        .max_connections(1)
        .timeout(Duration::from_millis(300));
    let Some((_proxy, storage)) = behind_proxy_with("a call cut short", builder).await else {
        return;
    };
    let t = base();
    let (id, other) = (SessionId::generate(), SessionId::generate());
    for id in [&id, &other] {
        storage
            .create(session_key(id), &record("{\"n\":0}", t, HOUR), t)
            .await
            .unwrap();
    }
    let table = storage.table().as_str().to_owned();
    let mut blocker = storage.pool().begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        r#"SELECT 1 FROM "{table}" WHERE id = $1 FOR UPDATE"#
    )))
    .bind(session_key(&id).storage_key())
    .execute(&mut *blocker)
    .await
    .unwrap();
    let blocked = storage
        .update(session_key(&id), &record("{\"n\":1}", t, HOUR), t)
        .await
        .unwrap_err();
    assert_eq!(blocked.kind(), StorageErrorKind::Unavailable);
    // The next call, on the other row, gets its own answer while the first row is still
    // locked (the cut-short update has not even run yet), and so does every later one.
    let written = record("{\"n\":2}", t, HOUR);
    assert!(
        storage
            .update(session_key(&other), &written, t)
            .await
            .unwrap()
    );
    assert_eq!(
        storage.load(session_key(&other), t).await.unwrap(),
        Some(written.clone())
    );
    blocker.rollback().await.unwrap();
    assert!(storage.load(session_key(&id), t).await.unwrap().is_some());
    assert_eq!(
        storage.load(session_key(&other), t).await.unwrap(),
        Some(written)
    );
}
