//! The by-id lifecycle (issue 4): regenerate, absolute lifetime, idle timeout with throttled
//! renewal, and deletion winning over concurrent writes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::routing::get as route;
use tokio::sync::Notify;
use typed_sessions::clock::ManualClock;
use typed_sessions::storage::SessionId;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, TestUserSession, get, user_routes};

fn app(storage: &ProbeStorage, clock: &ManualClock, idle: Option<Duration>) -> Router {
    let layer = SessionsConfig::new()
        .clock(clock.clone())
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| {
            let c = c.lifetime(Duration::from_secs(3600));
            match idle {
                Some(idle) => c.idle_timeout(idle),
                None => c,
            }
        })
        .build()
        .unwrap();
    user_routes()
        .route(
            "/login/{user}",
            route(
                |s: Sessions, axum::extract::Path(user): axum::extract::Path<String>| async move {
                    s.set(TestUserSession::new(&user))?;
                    s.regenerate::<TestUserSession>().await?;
                    Ok::<_, SessionError>("logged in")
                },
            ),
        )
        .route(
            "/regenerate",
            route(|s: Sessions| async move {
                s.regenerate::<TestUserSession>().await?;
                let id = s.id::<TestUserSession>().await?;
                Ok::<_, SessionError>(
                    id.map(|i| i.as_str().to_owned())
                        .unwrap_or_else(|| "none".into()),
                )
            }),
        )
        .layer(layer)
}

#[tokio::test]
async fn regenerate_moves_the_session_and_kills_the_old_id() {
    let storage = ProbeStorage::default();
    let clock = ManualClock::new();
    let router = app(&storage, &clock, None);
    let old = get(&router, "/set/alice", None)
        .await
        .cookie_value("s")
        .unwrap();
    let answer = get(&router, "/regenerate", Some(&format!("s={old}"))).await;
    let new = answer.cookie_value("s").unwrap();
    assert_ne!(new, old);
    assert_eq!(
        answer.body, new,
        "id() announces the new id before the response leaves"
    );
    assert!(SessionId::parse(&new).is_some());
    assert_eq!(
        get(&router, "/get", Some(&format!("s={new}"))).await.body,
        "alice",
        "same data"
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={old}"))).await.body,
        "none",
        "old id dead"
    );
    assert_eq!(storage.inner.len(), 1);
}

#[tokio::test]
async fn login_on_a_planted_session_gets_a_fresh_id() {
    // Session fixation: an attacker plants their own valid id; logging in must not keep it.
    let storage = ProbeStorage::default();
    let clock = ManualClock::new();
    let router = app(&storage, &clock, None);
    let planted = get(&router, "/set/attacker", None)
        .await
        .cookie_value("s")
        .unwrap();
    let login = get(&router, "/login/victim", Some(&format!("s={planted}"))).await;
    let victim = login.cookie_value("s").unwrap();
    assert_ne!(victim, planted);
    assert_eq!(
        get(&router, "/get", Some(&format!("s={victim}")))
            .await
            .body,
        "victim"
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={planted}")))
            .await
            .body,
        "none"
    );
}

#[tokio::test]
async fn regenerate_without_a_session_does_nothing() {
    let storage = ProbeStorage::default();
    let clock = ManualClock::new();
    let router = app(&storage, &clock, None);
    let answer = get(&router, "/regenerate", None).await;
    assert_eq!(answer.body, "none");
    assert!(answer.set_cookies().is_empty());
    assert_eq!(storage.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_absolute_lifetime_is_enforced_by_the_server() {
    let storage = ProbeStorage::default();
    let clock = ManualClock::new();
    let router = app(&storage, &clock, None);
    let id = get(&router, "/set/alice", None)
        .await
        .cookie_value("s")
        .unwrap();
    clock.advance(Duration::from_secs(3599));
    assert_eq!(
        get(&router, "/get", Some(&format!("s={id}"))).await.body,
        "alice"
    );
    // Writing does not extend an absolute lifetime.
    get(&router, "/set/alice2", Some(&format!("s={id}"))).await;
    clock.advance(Duration::from_secs(2));
    let expired = get(&router, "/get", Some(&format!("s={id}"))).await;
    assert_eq!(
        expired.body, "none",
        "the client still presents the cookie, the server refuses it"
    );
    assert!(expired.set_cookie("s").unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn idle_timeout_with_throttled_renewal() {
    let storage = ProbeStorage::default();
    let clock = ManualClock::new();
    let router = app(&storage, &clock, Some(Duration::from_secs(60)));
    let cookie = format!(
        "s={}",
        get(&router, "/set/alice", None)
            .await
            .cookie_value("s")
            .unwrap()
    );

    // Within the first quarter of the idle window a read writes nothing.
    clock.advance(Duration::from_secs(10));
    let read = get(&router, "/get", Some(&cookie)).await;
    assert_eq!(read.body, "alice");
    assert!(read.set_cookies().is_empty());
    assert_eq!(storage.updates.load(Ordering::SeqCst), 0);

    // Past a quarter of the window a read renews: one update, and the cookie is refreshed.
    clock.advance(Duration::from_secs(10));
    let renewed = get(&router, "/get", Some(&cookie)).await;
    assert_eq!(renewed.body, "alice");
    assert_eq!(storage.updates.load(Ordering::SeqCst), 1);
    assert_eq!(
        renewed.cookie_pair("s").unwrap(),
        cookie,
        "same id, refreshed cookie"
    );

    // Used again 50 s later: alive only because of the renewal (70 s after creation).
    clock.advance(Duration::from_secs(50));
    assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "alice");

    // Idle for longer than the timeout: gone.
    clock.advance(Duration::from_secs(61));
    assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "none");
}

#[tokio::test]
async fn an_untouched_request_never_renews() {
    let storage = ProbeStorage::default();
    let clock = ManualClock::new();
    let router = app(&storage, &clock, Some(Duration::from_secs(60)));
    let cookie = format!(
        "s={}",
        get(&router, "/set/alice", None)
            .await
            .cookie_value("s")
            .unwrap()
    );
    clock.advance(Duration::from_secs(50));
    let calls = storage.calls();
    get(&router, "/untouched", Some(&cookie)).await;
    assert_eq!(storage.calls(), calls);
}

/// A slow request that read the session before a logout must not bring it back.
#[tokio::test]
async fn a_logout_racing_a_slow_request_is_never_undone() {
    let storage = ProbeStorage::default();
    let read = Arc::new(Notify::new());
    let logged_out = Arc::new(Notify::new());
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage.clone(), |c| c)
        .build()
        .unwrap();
    let (r, l) = (read.clone(), logged_out.clone());
    let router = user_routes()
        .route(
            "/slow",
            route(move |s: Sessions| {
                let (read, logged_out) = (r.clone(), l.clone());
                async move {
                    let mut session = s.get::<TestUserSession>().await?.unwrap();
                    read.notify_one();
                    logged_out.notified().await;
                    session.cart.push("late item".into());
                    s.set(session)?;
                    Ok::<_, SessionError>("slow done")
                }
            }),
        )
        .layer(layer);
    let cookie = format!(
        "s={}",
        get(&router, "/set/alice", None)
            .await
            .cookie_value("s")
            .unwrap()
    );

    let slow = tokio::spawn({
        let (router, cookie) = (router.clone(), cookie.clone());
        async move { get(&router, "/slow", Some(&cookie)).await }
    });
    read.notified().await;
    let logout = get(&router, "/clear", Some(&cookie)).await;
    assert!(logout.set_cookie("s").unwrap().contains("Max-Age=0"));
    logged_out.notify_one();
    let slow = slow.await.unwrap();

    assert_eq!(slow.body, "slow done");
    assert!(
        slow.set_cookie("s").unwrap().contains("Max-Age=0"),
        "the slow response clears, not resurrects"
    );
    assert!(storage.inner.is_empty(), "nothing was written back");
    assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "none");
}
