//! PostgreSQL behind a proxy that loses the reply to one statement after the server executed
//! it, then closes the connection: the storage sends the call again on another connection,
//! and the repeat must recognise the first attempt's effect instead of reporting it as a
//! collision, a conflict or a vanished session.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::routing::get as route;
use typed_sessions::storage::{
    Created, Namespace, PostgresStorage, PostgresStorageBuilder, Record, SessionHandle, SessionId,
    SessionStorage, StorageErrorKind, Updated,
};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use super::table;
use crate::common::{TestUserSession, get, session_key, user_routes};
use crate::distributed::semantics::{HOUR, base, record};
use crate::support::proxy::{POSTGRES_READY, ReplyDropper};
use crate::support::servers;

/// A proxy in front of the shared server, and a storage (with a fresh table) that connects
/// through it.
async fn behind_proxy(test: &str) -> Option<(ReplyDropper, PostgresStorage)> {
    behind_proxy_with(test, PostgresStorage::builder()).await
}

/// [`behind_proxy`] with the options of `builder`.
pub(super) async fn behind_proxy_with(
    test: &str,
    builder: PostgresStorageBuilder,
) -> Option<(ReplyDropper, PostgresStorage)> {
    let server = servers::postgres(test)?;
    let upstream = SocketAddr::from(([127, 0, 0, 1], server.port));
    let proxy = ReplyDropper::start(upstream).await;
    let storage = builder
        .table(table())
        .connect(&format!("postgres://postgres@{}/postgres", proxy.addr()))
        .await
        .unwrap();
    Some((proxy, storage))
}

/// The bytes by which the proxy recognises a statement about `id`: its row key, which every
/// statement on the row binds.
fn row_key(id: &SessionId) -> Vec<u8> {
    session_key(id).storage_key().into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_reply_is_lost_is_inserted_not_a_collision() {
    let Some((proxy, storage)) = behind_proxy("lost reply of create").await else {
        return;
    };
    let t = base();
    let id = SessionId::parse_custom("user-7").unwrap();
    let stored = record("{\"user\":7}", t, HOUR);
    proxy.lose_reply_to(&row_key(&id), POSTGRES_READY);
    let created = storage.create(session_key(&id), &stored, t).await.unwrap();
    assert_eq!(proxy.lost(), 1, "the reply to the insert was lost");
    assert_eq!(created, Created::Inserted);
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(stored)
    );
    // Another session's record under the id is still a collision.
    let other = record("{\"user\":8}", t, HOUR);
    assert_eq!(
        storage.create(session_key(&id), &other, t).await.unwrap(),
        Created::Collision
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_whose_commit_reply_is_lost_is_a_login() {
    let Some((proxy, storage)) = behind_proxy("lost reply of change_id").await else {
        return;
    };
    let t = base();
    let (anonymous, login) = (SessionId::generate(), SessionId::generate());
    storage
        .create(session_key(&anonymous), &record("{}", t, HOUR), t)
        .await
        .unwrap();
    let logged_in = record("{\"user\":\"ada\"}", t, HOUR).with_principal("ada");
    proxy.lose_reply_to(b"COMMIT", POSTGRES_READY);
    let moved = storage
        .change_id(session_key(&anonymous), session_key(&login), &logged_in, t)
        .await
        .unwrap();
    assert_eq!(proxy.lost(), 1, "the reply to the commit was lost");
    assert!(moved, "the committed move is reported as done");
    assert_eq!(
        storage.load(session_key(&anonymous), t).await.unwrap(),
        None
    );
    assert_eq!(
        storage.load(session_key(&login), t).await.unwrap(),
        Some(logged_in)
    );
    let listed = storage
        .sessions_of(&Namespace::new("s"), "ada", t)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].handle, SessionHandle::of(session_key(&login)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_update_whose_reply_is_lost_is_written_not_a_conflict() {
    let Some((proxy, storage)) = behind_proxy("lost reply of update_if").await else {
        return;
    };
    let t = base();
    let id = SessionId::generate();
    let first = record("[1]", t, HOUR);
    storage.create(session_key(&id), &first, t).await.unwrap();
    let second = record("[1,2]", t, HOUR);
    proxy.lose_reply_to(&row_key(&id), POSTGRES_READY);
    let outcome = storage
        .update_if(session_key(&id), &second, first.revision, t)
        .await
        .unwrap();
    assert_eq!(proxy.lost(), 1, "the reply to the update was lost");
    assert_eq!(outcome, Updated::Written);
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(second)
    );
    // The first revision is stale now.
    let stale: Record = record("[1,3]", t, HOUR);
    assert_eq!(
        storage
            .update_if(session_key(&id), &stale, first.revision, t)
            .await
            .unwrap(),
        Updated::Conflict
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_update_whose_fate_is_unknown_is_an_outage_not_a_conflict() {
    let Some((proxy, storage)) = behind_proxy("lost reply of update_if, then a write").await else {
        return;
    };
    // Another instance, connected directly, writes while the reply is lost.
    let server = servers::postgres("lost reply of update_if, then a write").unwrap();
    let other = PostgresStorage::builder()
        .table(storage.table().clone())
        .connect(&server.url())
        .await
        .unwrap();
    let t = base();
    let id = SessionId::generate();
    let first = record("[1]", t, HOUR);
    storage.create(session_key(&id), &first, t).await.unwrap();
    let (second, third) = (record("[1,2]", t, HOUR), record("[1,2,3]", t, HOUR));
    let (later, written) = (id.clone(), third.clone());
    proxy.lose_reply_to_then(
        &row_key(&id),
        POSTGRES_READY,
        Box::new(move || {
            Box::pin(async move {
                let key = session_key(&later);
                assert!(other.update(key, &written, t).await.unwrap());
            })
        }),
    );
    let outcome = storage
        .update_if(session_key(&id), &second, first.revision, t)
        .await;
    assert_eq!(proxy.lost(), 1, "the reply to the update was lost");
    // The update was applied and then replaced: a Conflict would make the caller apply its
    // change again on top of a record that already holds it.
    let error = outcome.expect_err("the outcome is unknown");
    assert_eq!(error.kind(), StorageErrorKind::Unavailable, "{error}");
    assert_eq!(
        storage.load(session_key(&id), t).await.unwrap(),
        Some(third)
    );
}

/// The user routes, and `/login/{user}`: sets the user and regenerates the id.
fn app(storage: Arc<dyn SessionStorage>, custom_id: Option<SessionId>) -> Router {
    let routes = user_routes().route(
        "/login/{user}",
        route(|s: Sessions, Path(user): Path<String>| async move {
            s.set(TestUserSession::new(&user))?;
            s.regenerate::<TestUserSession>().await?;
            Ok::<_, SessionError>("logged in")
        }),
    );
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage, move |c| {
            let c = c.secure(false);
            match custom_id {
                Some(id) => c.identity(move |_| id.as_str().to_owned()),
                None => c,
            }
        })
        .build()
        .unwrap();
    routes.layer(layer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_lost_reply_neither_logs_out_nor_fails_a_custom_id() {
    let Some((proxy, storage)) = behind_proxy("lost replies over http").await else {
        return;
    };
    let storage: Arc<dyn SessionStorage> = Arc::new(storage);

    // A login (regeneration) whose commit reply is lost keeps the user logged in.
    let router = app(Arc::clone(&storage), None);
    let visit = get(&router, "/set/anonymous", None).await;
    let anonymous = visit.cookie_pair("s").expect("a session cookie");
    proxy.lose_reply_to(b"COMMIT", POSTGRES_READY);
    let login = get(&router, "/login/alice", Some(&anonymous)).await;
    assert_eq!(proxy.lost(), 1, "the reply to the login's commit was lost");
    assert_eq!(login.status, 200, "{}", login.body);
    let session = login.cookie_pair("s").expect("the new id is sent");
    assert_ne!(session, anonymous, "a new id");
    assert_eq!(get(&router, "/get", Some(&session)).await.body, "alice");
    assert_eq!(get(&router, "/get", Some(&anonymous)).await.body, "none");

    // A session with a custom id whose insert reply is lost is created, not a 500.
    let custom = SessionId::parse_custom(&format!("user-{}", super::super::unique())).unwrap();
    let router = app(Arc::clone(&storage), Some(custom.clone()));
    proxy.lose_reply_to(&row_key(&custom), POSTGRES_READY);
    let created = get(&router, "/set/bob", None).await;
    assert_eq!(
        proxy.lost(),
        2,
        "the reply to the custom id's insert was lost"
    );
    assert_eq!(created.status, 200, "{}", created.body);
    let session = created.cookie_pair("s").expect("a session cookie");
    assert_eq!(get(&router, "/get", Some(&session)).await.body, "bob");
    assert_eq!(
        get(&router, "/id", Some(&session)).await.body,
        custom.as_str()
    );
}
