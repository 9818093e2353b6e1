//! What a response writes, and when (the request core's semantics): a session cleared then
//! set is a new session; by-id records are bound to their session; a failing session does not
//! drop the headers of one whose change happened; a response that writes a session never stays
//! publicly cacheable; implicit writes never fail a request; a change racing the commit is
//! applied or refused, never lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::routing::get as route;
use http::header::{CACHE_CONTROL, SET_COOKIE};
use typed_sessions::clock::ManualClock;
use typed_sessions::storage::{MemoryStorage, Namespace, SessionId, SessionStorage};
use typed_sessions::transform::{
    Rejection, TransformContext, TransformError, Transformer, Unwrapped,
};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, TestUserSession, get, user_routes};

/// Ktor's login order: end whatever session came in, then set the new one.
async fn clear_then_set(sessions: Sessions) -> Result<String, SessionError> {
    sessions.clear::<TestUserSession>()?;
    sessions.set(TestUserSession::new("victim"))?;
    let id = sessions.id::<TestUserSession>().await?;
    Ok(id.map_or_else(|| "none".into(), |id| id.as_str().to_owned()))
}

fn by_id(storage: impl SessionStorage) -> Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage, |c| c)
        .build()
        .unwrap();
    user_routes()
        .route("/login", route(clear_then_set))
        .layer(layer)
}

#[tokio::test]
async fn clear_then_set_ends_the_old_session_and_starts_one_under_a_new_id() {
    let storage = Arc::new(MemoryStorage::new());
    let router = by_id(Arc::clone(&storage));
    // An attacker gets a real session and plants its id in the victim's browser.
    let planted = get(&router, "/set/attacker", None)
        .await
        .cookie_value("s")
        .unwrap();
    let login = get(&router, "/login", Some(&format!("s={planted}"))).await;
    let fresh = login.cookie_value("s").expect("the login sends an id");
    assert_ne!(fresh, planted, "the planted id now holds the login");
    assert_eq!(
        login.body, fresh,
        "`id()` reports the id the session is stored under"
    );
    // The planted id is dead: the attacker sees no session, and its record is gone.
    assert_eq!(
        get(&router, "/get", Some(&format!("s={planted}")))
            .await
            .body,
        "none"
    );
    let s = Namespace::new("s");
    let planted_id = SessionId::parse(&planted).unwrap();
    assert_eq!(
        storage
            .load(s.key(&planted_id), SystemTime::now())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={fresh}"))).await.body,
        "victim"
    );
    // Without a session to end, the login is simply a new session.
    let first = get(&router, "/login", None).await;
    assert_eq!(first.body, first.cookie_value("s").unwrap());
}

/// The old session is deleted before the new one is stored; when the store then fails, the
/// response is an error that still tells the client to drop the id the server just ended.
#[tokio::test]
async fn a_login_whose_new_session_cannot_be_stored_still_drops_the_ended_one() {
    let storage = ProbeStorage::default();
    let router = by_id(storage.clone());
    let old = get(&router, "/set/u", None)
        .await
        .cookie_value("s")
        .unwrap();
    storage.fail_creates(true);
    let deletes = storage.deletes.load(Ordering::SeqCst);
    let login = get(&router, "/login", Some(&format!("s={old}"))).await;
    assert_eq!(login.status, 503);
    assert_eq!(
        storage.deletes.load(Ordering::SeqCst),
        deletes + 1,
        "the old session was ended first"
    );
    assert!(
        login.removes_cookie("s"),
        "the client is told to drop the ended id: {:?}",
        login.set_cookie("s")
    );
    storage.fail_creates(false);
    assert_eq!(
        get(&router, "/get", Some(&format!("s={old}"))).await.body,
        "none"
    );
    // Without a session to end, a failed store sends nothing: the client had no cookie.
    storage.fail_creates(true);
    let first = get(&router, "/login", None).await;
    assert_eq!(first.status, 503);
    assert!(
        first.set_cookie("s").is_none(),
        "{:?}",
        first.set_cookie("s")
    );
}

#[tokio::test]
async fn clear_then_set_by_value_sends_the_new_value() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected().send_only_if_modified(true))
        .build()
        .unwrap();
    let router = user_routes()
        .route(
            "/reset",
            route(|s: Sessions| async move {
                s.clear::<TestUserSession>()?;
                s.set(TestUserSession::new("same"))?;
                Ok::<_, SessionError>("")
            }),
        )
        .layer(layer);
    let pair = get(&router, "/set/same", None)
        .await
        .cookie_pair("s")
        .unwrap();
    // The same value after a clear is a new session: it is sent even with
    // `send_only_if_modified`, and it is not a deletion.
    let answer = get(&router, "/reset", Some(&pair)).await;
    let cookie = answer.set_cookie("s").expect("the new value is sent");
    assert!(!cookie.contains("Max-Age=0"), "{cookie}");
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Admin {
    user: String,
}

#[tokio::test]
async fn an_id_of_one_session_finds_nothing_as_another_sessions_id() {
    // Two sessions, unsigned ids, one shared storage: the cart's id is presented as the admin
    // session's.
    let storage = Arc::new(MemoryStorage::new());
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("cart", Arc::clone(&storage), |c| c)
        .cookie_with_storage::<Admin, _>("admin", Arc::clone(&storage), |c| c)
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/cart",
            route(|s: Sessions| async move {
                s.set(TestUserSession::new("guest"))?;
                Ok::<_, SessionError>("")
            }),
        )
        .route(
            "/admin",
            route(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.get::<Admin>().await? {
                    Some(admin) => admin.user,
                    None => "none".into(),
                })
            }),
        )
        .layer(layer);
    let cart = get(&router, "/cart", None)
        .await
        .cookie_value("cart")
        .unwrap();
    let answer = get(&router, "/admin", Some(&format!("admin={cart}"))).await;
    assert_eq!(answer.body, "none");
    assert!(
        answer.set_cookie("admin").unwrap().contains("Max-Age=0"),
        "the foreign id is cleared"
    );
    // The cart session itself is untouched by that.
    let id = SessionId::parse(&cart).unwrap();
    let ns = Namespace::new("cart");
    assert!(
        storage
            .load(ns.key(&id), SystemTime::now())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_failing_session_keeps_the_header_of_one_that_was_already_regenerated() {
    let good = Arc::new(MemoryStorage::new());
    let bad = ProbeStorage::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", Arc::clone(&good), |c| c)
        .cookie_with_storage::<Admin, _>("admin", bad.clone(), |c| c)
        .build()
        .unwrap();
    let router = user_routes()
        .route(
            "/both",
            route(|s: Sessions| async move {
                s.regenerate::<TestUserSession>().await?;
                s.set(Admin {
                    user: "root".into(),
                })?;
                Ok::<_, SessionError>("done")
            }),
        )
        .layer(layer);
    let old = get(&router, "/set/u", None)
        .await
        .cookie_value("s")
        .unwrap();
    bad.fail(true);
    let answer = get(&router, "/both", Some(&format!("s={old}"))).await;
    assert_eq!(answer.status, 503);
    // The regeneration happened: the old id is dead, so the client must get the new one.
    let new = answer
        .cookie_value("s")
        .expect("the committed session's cookie is kept");
    assert_ne!(new, old);
    assert!(answer.set_cookie("admin").is_none());
    assert_eq!(
        answer.header("cache-control"),
        Some("no-store"),
        "{:?}",
        answer.headers
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={old}"))).await.body,
        "none"
    );
    assert_eq!(
        get(&router, "/get", Some(&format!("s={new}"))).await.body,
        "u"
    );
}

#[tokio::test]
async fn a_response_that_writes_a_session_is_never_left_to_shared_caches() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/{policy}",
            route(
                |s: Sessions, axum::extract::Path(policy): axum::extract::Path<String>| async move {
                    s.set(TestUserSession::new("u"))?;
                    let policy = policy.replace('_', " ");
                    Ok::<_, SessionError>(([(CACHE_CONTROL, policy)], "body"))
                },
            ),
        )
        .route(
            "/read",
            route(|s: Sessions| async move {
                s.get::<TestUserSession>().await?;
                Ok::<_, SessionError>(([(CACHE_CONTROL, "public, max-age=60")], "body"))
            }),
        )
        .layer(layer);
    for (policy, expected) in [
        ("public,_max-age=3600", "max-age=3600, private"),
        ("max-age=60,_s-maxage=600", "max-age=60, private"),
        ("max-age=60", "max-age=60, private"),
        ("private,_max-age=60", "private, max-age=60"),
        ("no-store", "no-store"),
    ] {
        let answer = get(&router, &format!("/{policy}"), None).await;
        assert!(answer.set_cookie("s").is_some());
        assert_eq!(answer.header("cache-control"), Some(expected), "{policy}");
    }
    // A response that only reads a session writes nothing: the application's policy stands
    // (it varies on `Cookie`).
    let answer = get(&router, "/read", None).await;
    assert_eq!(answer.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(answer.header("vary"), Some("cookie"));
}

/// Passes values through; once `refuse` is set, reports every value as protected with a
/// previous key and refuses to write.
#[derive(Clone, Default)]
struct Rotating {
    refuse: Arc<AtomicBool>,
}

impl Transformer for Rotating {
    fn write(&self, _: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err(TransformError::Failed("the current key is unusable".into()));
        }
        Ok(value.to_owned())
    }
    fn read(&self, _: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
        Ok(Unwrapped {
            value: value.to_owned(),
            stale_key: self.refuse.load(Ordering::SeqCst),
            expires_at: None,
        })
    }
}

#[tokio::test]
async fn an_implicit_reissue_that_cannot_be_written_keeps_the_old_value() {
    let rotating = Rotating::default();
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.transform(rotating.clone()))
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let pair = get(&router, "/set/u", None).await.cookie_pair("s").unwrap();
    rotating.refuse.store(true, Ordering::SeqCst);
    // The read finds a value under a previous key; re-sending it fails: the request still
    // succeeds and the client keeps its value.
    let answer = get(&router, "/get", Some(&pair)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "u");
    assert!(
        answer.set_cookies().is_empty(),
        "{:?}",
        answer.set_cookies()
    );
    // An explicit `set` that cannot be protected is still an error.
    assert_eq!(get(&router, "/set/v", Some(&pair)).await.status, 500);
}

#[tokio::test]
async fn an_implicit_renewal_that_cannot_be_rendered_keeps_the_old_cookie() {
    let rotating = Rotating::default();
    let clock = ManualClock::new();
    let storage = Arc::new(MemoryStorage::new());
    let layer = SessionsConfig::new()
        .clock(clock.clone())
        .cookie_with_storage::<TestUserSession, _>("s", Arc::clone(&storage), |c| {
            c.idle_timeout(Duration::from_secs(600))
                .transform(rotating.clone())
        })
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let pair = get(&router, "/set/u", None).await.cookie_pair("s").unwrap();
    clock.advance(Duration::from_secs(300)); // due for renewal
    rotating.refuse.store(true, Ordering::SeqCst);
    let answer = get(&router, "/get", Some(&pair)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "u");
    assert!(answer.set_cookies().is_empty());
    // The renewal was stored: the session outlives its first idle deadline.
    clock.advance(Duration::from_secs(400));
    assert_eq!(get(&router, "/get", Some(&pair)).await.body, "u");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_racing_the_commit_is_applied_or_refused_never_lost() {
    for by_value in [true, false] {
        let config = SessionsConfig::new();
        let layer = if by_value {
            config.cookie::<TestUserSession>("s", |c| c.unprotected())
        } else {
            config.cookie_with_storage::<TestUserSession, _>("s", MemoryStorage::new(), |c| c)
        }
        .build()
        .unwrap();
        let last_accepted = Arc::new(std::sync::Mutex::new(Vec::<Option<u32>>::new()));
        let record = Arc::clone(&last_accepted);
        let router = Router::new()
            .route(
                "/race",
                route(move |s: Sessions| {
                    let record = Arc::clone(&record);
                    async move {
                        let (tx, rx) = tokio::sync::oneshot::channel::<Option<u32>>();
                        // A task sets ever newer values until the response has left.
                        tokio::spawn(async move {
                            let mut accepted = None;
                            // Bounded, so a commit that stopped refusing changes fails the test
                            // instead of hanging it.
                            for n in 0u32..100_000 {
                                match s.set(TestUserSession::new(&n.to_string())) {
                                    Ok(()) => accepted = Some(n),
                                    Err(SessionError::TooLate { .. }) => break,
                                    Err(other) => panic!("{other}"),
                                }
                                tokio::task::yield_now().await;
                            }
                            let _ = tx.send(accepted);
                        });
                        tokio::task::yield_now().await;
                        tokio::spawn(async move {
                            let accepted = rx.await.unwrap();
                            record.lock().unwrap().push(accepted);
                        });
                        "started"
                    }
                }),
            )
            .layer(layer);
        for round in 0..200 {
            let answer = get(&router, "/race", None).await;
            let sent = answer
                .set_cookie("s")
                .map(|_| answer.headers.get_all(SET_COOKIE).iter().count());
            // Wait until the task has reported its last accepted value.
            let accepted = loop {
                if let Some(found) = last_accepted.lock().unwrap().pop() {
                    break found;
                }
                tokio::task::yield_now().await;
            };
            match accepted {
                None => assert!(sent.is_none(), "round {round}: nothing was accepted"),
                Some(n) => {
                    assert_eq!(
                        sent,
                        Some(1),
                        "round {round}: value {n} was accepted but lost"
                    );
                    if by_value {
                        let value = answer.cookie_value("s").unwrap();
                        assert!(
                            value.contains(&format!("%22{n}%22")),
                            "round {round}: sent {value}, the last accepted was {n}"
                        );
                    }
                }
            }
        }
    }
}
