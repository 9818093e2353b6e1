//! What a refusal is: a `403` with a reason the application can match on, never cached,
//! never a session write; and what a misconfiguration is: a `500` with the reason logged.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::Request;
use tower::ServiceExt;
use typed_sessions::csrf::{CsrfConfig, CsrfRejection, CsrfToken};
use typed_sessions::{Key, SessionError, Sessions, SessionsConfig};

use super::{Browser, Site, User};
use crate::common::{ProbeStorage, serve};

#[tokio::test]
async fn a_refused_attack_changes_no_session() {
    let site = Site::start(|c| c).await;
    let victim = site.browser();
    victim.log_in("alice").await;
    let writes = || {
        let s = &site.storage;
        [&s.creates, &s.updates, &s.deletes].map(|n| n.load(Ordering::SeqCst))
    };
    let before = writes();
    let cross = [("sec-fetch-site", "cross-site")];
    // Log the victim out, or into the attacker's account, from another site.
    for (path, form) in [
        ("/logout", ""),
        ("/login", "name=mallory"),
        ("/regenerate", ""),
    ] {
        let reply = victim.form(path, form, &cross).await;
        assert_eq!(reply.status, 403, "{path}");
        assert!(reply.set_cookies.is_empty(), "{path}: {reply:?}");
        assert_eq!(reply.cache_control.as_deref(), Some("no-store"), "{path}");
        // Without Fetch Metadata (an older browser), the missing token stops it.
        let reply = victim.form(path, form, &[]).await;
        assert_eq!((reply.status, reply.body.as_str()), (403, "missing_token"));
        assert!(reply.set_cookies.is_empty(), "{path}: {reply:?}");
    }
    assert_eq!(writes(), before, "no storage write");
    assert_eq!(victim.get("/whoami").await.body, "alice");
}

/// A session that is renewed on every use (idle timeout, `renew_after(0.0)`): the check reads
/// it, but a refused request must not renew it.
#[tokio::test]
async fn a_refusal_does_not_even_renew_the_session() {
    let storage = ProbeStorage::default();
    let key = Key::generate();
    let csrf = CsrfConfig::new(key).bind::<User>().build().unwrap();
    let sessions = SessionsConfig::new()
        .cookie_with_storage::<User, _>("user", storage.clone(), |c| {
            c.secure(false)
                .idle_timeout(Duration::from_secs(600))
                .renew_after(0.0)
        })
        .csrf("csrf", &csrf, |c| c.secure(false))
        .build()
        .unwrap();
    let router = Router::new()
        .route("/form", get(|t: CsrfToken| async move { t.to_string() }))
        .route(
            "/login",
            post(|s: Sessions| async move {
                s.set(User {
                    name: "alice".into(),
                })?;
                Ok::<_, SessionError>("in")
            }),
        )
        .route("/echo", post(|| async { "ok" }))
        .layer(csrf)
        .layer(sessions);
    let browser = Browser::at(serve(router).await);
    let token = browser.token().await;
    assert_eq!(browser.submit("/login", "", &token).await.status, 200);
    let token = browser.token().await;
    let updates = storage.updates.load(Ordering::SeqCst);
    let refused = browser.submit("/echo", "", "wrong").await;
    assert_eq!(refused.status, 403);
    assert!(refused.set_cookies.is_empty(), "{refused:?}");
    assert_eq!(
        storage.updates.load(Ordering::SeqCst),
        updates,
        "not renewed"
    );
    // A request that passes the check is not renewed by the check either (the handler does
    // not use the session); the control that the counter moves at all:
    assert_eq!(browser.submit("/echo", "", &token).await.status, 200);
    assert_eq!(storage.updates.load(Ordering::SeqCst), updates);
    browser.token().await;
    assert!(
        storage.updates.load(Ordering::SeqCst) > updates,
        "a use renews it"
    );
}

#[tokio::test]
async fn the_default_refusal_is_a_403_that_names_its_reason() {
    let key = Key::generate();
    let csrf = CsrfConfig::new(key).build().unwrap();
    let sessions = SessionsConfig::new()
        .csrf("csrf", &csrf, |c| c)
        .build()
        .unwrap();
    let router = Router::new()
        .route("/echo", post(|| async { "ok" }))
        .layer(csrf)
        .layer(sessions);
    let request = Request::post("/echo")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from("csrf_token=x"))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.extensions().get::<CsrfRejection>(),
        Some(&CsrfRejection::CrossSite),
        "the rejection is in the response for outer middleware to log"
    );
    assert!(response.headers().get("set-cookie").is_none());
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(
        &body[..],
        b"Forbidden: a cross-site request (Sec-Fetch-Site: cross-site).\n"
    );
}

#[tokio::test]
async fn misconfigurations_are_500s_with_the_reason_logged() {
    let key = Key::generate();
    // The CSRF cookie is not registered.
    let csrf = CsrfConfig::new(key.clone()).build().unwrap();
    let sessions = SessionsConfig::new()
        .cookie::<User>("user", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route("/form", get(|t: CsrfToken| async move { t.to_string() }))
        .route("/echo", post(|| async { "ok" }))
        .layer(csrf)
        .layer(sessions.clone());
    let form = |uri: &str| {
        Request::post(uri)
            .header("x-csrf-token", "x".repeat(87))
            .body(Body::empty())
            .unwrap()
    };
    let response = router.clone().oneshot(form("/echo")).await.unwrap();
    assert_eq!(response.status(), 500);
    let page = Request::get("/form").body(Body::empty()).unwrap();
    assert_eq!(router.oneshot(page).await.unwrap().status(), 500);
    // The token extractor on a route no CSRF layer serves.
    let unprotected = Router::new()
        .route("/form", get(|t: CsrfToken| async move { t.to_string() }))
        .layer(sessions);
    let page = Request::get("/form").body(Body::empty()).unwrap();
    assert_eq!(unprotected.oneshot(page).await.unwrap().status(), 500);
    // The bound type is carried by value: it has no id.
    let csrf = CsrfConfig::new(key).bind::<User>().build().unwrap();
    let sessions = SessionsConfig::new()
        .cookie::<User>("user", |c| c.unprotected())
        .csrf("csrf", &csrf, |c| c)
        .build()
        .unwrap();
    let router = Router::new()
        .route("/form", get(|t: CsrfToken| async move { t.to_string() }))
        .layer(csrf)
        .layer(sessions);
    let page = Request::get("/form").body(Body::empty()).unwrap();
    assert_eq!(router.oneshot(page).await.unwrap().status(), 500);
}
