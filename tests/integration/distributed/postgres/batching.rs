//! PostgreSQL loads and updates that wait for a statement of their kind in flight are run
//! together, one statement for many, and each gets the answer its own statement would have
//! given.

use std::sync::Arc;

use typed_sessions::storage::{
    PostgresStorage, Record, SessionId, SessionStorage, StorageErrorKind,
};

use super::lost_replies::behind_proxy_with;
use crate::common::session_key;
use crate::distributed::semantics::{HOUR, base, record};

/// How many sessions the tests write at once.
const SESSIONS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_loads_and_updates_share_statements_and_each_gets_its_own_answer() {
    let builder = PostgresStorage::builder().max_connections(2);
    let Some((proxy, storage)) = behind_proxy_with("batched calls", builder).await else {
        return;
    };
    let storage = Arc::new(storage);
    let t = base();
    let ids: Vec<SessionId> = (0..SESSIONS).map(|_| SessionId::generate()).collect();
    for id in &ids {
        storage
            .create(session_key(id), &record("{\"n\":0}", t, HOUR), t)
            .await
            .unwrap();
    }
    // One session that has expired by `t`, and one that was never written: their updates
    // write nothing, whatever statement they ride in.
    let (expired, missing) = (SessionId::generate(), SessionId::generate());
    let old = record("{\"old\":1}", t - 2 * HOUR, HOUR);
    storage
        .create(session_key(&expired), &old, t - 2 * HOUR)
        .await
        .unwrap();

    let before = proxy.round_trips();
    let mut tasks = Vec::new();
    for (n, id) in ids.iter().cloned().enumerate() {
        let storage = Arc::clone(&storage);
        tasks.push(tokio::spawn(async move {
            let written = record(&format!("{{\"n\":{}}}", n + 1), t, HOUR);
            let loaded = storage.load(session_key(&id), t).await.unwrap();
            assert_eq!(loaded.map(|r| r.data), Some(b"{\"n\":0}".to_vec()));
            assert!(storage.update(session_key(&id), &written, t).await.unwrap());
            (id, written)
        }));
    }
    for id in [expired.clone(), missing.clone()] {
        let storage = Arc::clone(&storage);
        tasks.push(tokio::spawn(async move {
            let written = record("{\"late\":1}", t, HOUR);
            assert_eq!(storage.load(session_key(&id), t).await.unwrap(), None);
            assert!(!storage.update(session_key(&id), &written, t).await.unwrap());
            (id, written)
        }));
    }
    let mut finals: Vec<(SessionId, Record)> = Vec::new();
    for task in tasks {
        finals.push(task.await.unwrap());
    }
    let round_trips = proxy.round_trips() - before;
    assert!(
        round_trips < SESSIONS,
        "{} loads and updates took {round_trips} round trips",
        2 * (SESSIONS + 2)
    );
    for (id, written) in finals {
        let stored = storage.load(session_key(&id), t).await.unwrap();
        if id == expired || id == missing {
            assert_eq!(stored, None, "an update of a dead session wrote nothing");
        } else {
            assert_eq!(stored, Some(written));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_session_each_write_and_the_row_holds_one_of_them() {
    let builder = PostgresStorage::builder().max_connections(2);
    let Some((_proxy, storage)) = behind_proxy_with("batched updates of one row", builder).await
    else {
        return;
    };
    let storage = Arc::new(storage);
    let t = base();
    let id = SessionId::generate();
    storage
        .create(session_key(&id), &record("{\"n\":0}", t, HOUR), t)
        .await
        .unwrap();
    let writes: Vec<Record> = (1..=40)
        .map(|n| record(&format!("{{\"n\":{n}}}"), t, HOUR))
        .collect();
    let mut tasks = Vec::new();
    for written in writes.clone() {
        let (storage, id) = (Arc::clone(&storage), id.clone());
        tasks.push(tokio::spawn(async move {
            storage.update(session_key(&id), &written, t).await.unwrap()
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap(), "every update found the session live");
    }
    let stored = storage.load(session_key(&id), t).await.unwrap().unwrap();
    assert!(
        writes.contains(&stored),
        "the row holds one of the writes, whole"
    );
}

/// A value PostgreSQL refuses (a NUL in a text column) fails its own update only: the shared
/// statement that carried it fails, and every other call it carried runs its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_the_database_refuses_fails_its_own_update_only() {
    let builder = PostgresStorage::builder().max_connections(1);
    let Some((_proxy, storage)) = behind_proxy_with("a refused value in a batch", builder).await
    else {
        return;
    };
    let storage = Arc::new(storage);
    let t = base();
    let ids: Vec<SessionId> = (0..30).map(|_| SessionId::generate()).collect();
    for id in &ids {
        storage
            .create(session_key(id), &record("{\"n\":0}", t, HOUR), t)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for (n, id) in ids.iter().cloned().enumerate() {
        let storage = Arc::clone(&storage);
        tasks.push(tokio::spawn(async move {
            let mut written = record(&format!("{{\"n\":{}}}", n + 1), t, HOUR);
            if n == 15 {
                written.meta.device = Some("bad\0device".into());
            }
            let result = storage.update(session_key(&id), &written, t).await;
            (n, id, written, result)
        }));
    }
    for task in tasks {
        let (n, id, written, result) = task.await.unwrap();
        let stored = storage.load(session_key(&id), t).await.unwrap().unwrap();
        if n == 15 {
            let error = result.unwrap_err();
            assert_eq!(
                error.kind(),
                StorageErrorKind::Backend,
                "the refused value is an error of the request, not an outage: {error:?}"
            );
            assert_eq!(stored.data, b"{\"n\":0}".to_vec(), "and is not written");
        } else {
            assert!(result.unwrap(), "update {n} wrote");
            assert_eq!(stored, written);
        }
    }
}
