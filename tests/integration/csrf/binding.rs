//! Whose token: a token is valid for one browser and one session. Another browser's token,
//! another session's, the token from before a login or a regeneration, and a token after a
//! logout are refused; anonymous visitors get tokens without a server-side session.

use std::sync::atomic::Ordering;

use super::Site;

#[tokio::test]
async fn every_response_masks_the_token_differently_and_the_cookie_is_set_once() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let first = browser.get("/form").await;
    assert_eq!(
        first.set_cookies,
        ["csrf"],
        "the first token sets the CSRF cookie"
    );
    let second = browser.get("/form").await;
    assert!(second.set_cookies.is_empty(), "{second:?}");
    assert_ne!(first.body, second.body, "masked with a fresh pad each time");
    assert_eq!(first.body.len(), typed_sessions::csrf::TOKEN_LEN);
    for token in [&first.body, &second.body] {
        assert_eq!(browser.submit("/echo", "", token).await.status, 200);
    }
    assert_eq!(
        browser.submit("/echo", "", &first.body).await.status,
        200,
        "a token is not single-use: several tabs can hold forms"
    );
}

#[tokio::test]
async fn anonymous_visitors_get_tokens_without_a_server_side_session() {
    let site = Site::start(|c| c).await;
    for _ in 0..5 {
        let browser = site.browser();
        let token = browser.token().await;
        assert_eq!(browser.submit("/echo", "", &token).await.status, 200);
    }
    assert_eq!(site.records(), 0);
    assert_eq!(site.storage.creates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_token_of_another_browser_is_refused() {
    let site = Site::start(|c| c).await;
    let victim = site.browser();
    let attacker = site.browser();
    let attackers_token = attacker.token().await;
    victim.token().await;
    let reply = victim.submit("/echo", "", &attackers_token).await;
    assert_eq!((reply.status, reply.body.as_str()), (403, "wrong_token"));
    // A browser that never got the CSRF cookie cannot use anyone's token.
    let fresh = site.browser();
    let reply = fresh.submit("/echo", "", &attackers_token).await;
    assert_eq!((reply.status, reply.body.as_str()), (403, "missing_cookie"));
    // Logged in as the same user, two browsers still have different tokens.
    let alice_one = site.browser();
    let alice_two = site.browser();
    let one = alice_one.log_in("alice").await;
    alice_two.log_in("alice").await;
    assert_eq!(
        alice_two.submit("/echo", "", &one).await.body,
        "wrong_token"
    );
    assert_eq!(alice_one.submit("/echo", "", &one).await.status, 200);
}

#[tokio::test]
async fn a_token_from_before_the_login_is_refused_after_it() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let anonymous = browser.token().await;
    // The login form's token is valid for the login itself...
    let after_login = browser.submit("/login", "name=alice", &anonymous).await;
    assert_eq!(after_login.status, 200);
    assert_eq!(browser.get("/whoami").await.body, "alice");
    // ...and dead after it: the session it was bound to (none) is gone.
    let reply = browser.submit("/echo", "", &anonymous).await;
    assert_eq!((reply.status, reply.body.as_str()), (403, "wrong_token"));
    // The token the login page rendered (refreshed after the login) works, and so does a
    // new one.
    assert_eq!(
        browser.submit("/echo", "", &after_login.body).await.status,
        200
    );
    let fresh = browser.token().await;
    assert_eq!(browser.submit("/echo", "", &fresh).await.status, 200);
}

#[tokio::test]
async fn a_token_of_another_session_of_the_same_browser_is_refused() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let as_alice = browser.log_in("alice").await;
    // A second login (clear then set: a new session id) ends the first session's tokens.
    let as_bob = browser.log_in("bob").await;
    assert_eq!(
        browser.submit("/echo", "", &as_alice).await.body,
        "wrong_token"
    );
    assert_eq!(browser.submit("/echo", "", &as_bob).await.status, 200);
    // Regenerating the session's id ends its tokens too.
    let reply = browser.submit("/regenerate", "", &as_bob).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        browser.get("/whoami").await.body,
        "bob",
        "same session, new id"
    );
    assert_eq!(
        browser.submit("/echo", "", &as_bob).await.body,
        "wrong_token"
    );
    let regenerated = browser.token().await;
    assert_eq!(browser.submit("/echo", "", &regenerated).await.status, 200);
    // And a logout.
    assert_eq!(
        browser.submit("/logout", "", &regenerated).await.status,
        200
    );
    assert_eq!(browser.get("/whoami").await.body, "nobody");
    assert_eq!(
        browser.submit("/echo", "", &regenerated).await.body,
        "wrong_token"
    );
}

#[tokio::test]
async fn without_a_bound_session_tokens_belong_to_the_browser_and_rotate_ends_them() {
    use axum::routing::{get, post};
    use typed_sessions::csrf::{CsrfConfig, CsrfToken};
    use typed_sessions::{Key, SessionError, SessionsConfig};

    let key = Key::generate();
    let csrf = CsrfConfig::new(key).build().unwrap();
    let sessions = SessionsConfig::new()
        .csrf("csrf", &csrf, |c| c.secure(false))
        .build()
        .unwrap();
    let router = axum::Router::new()
        .route("/form", get(|t: CsrfToken| async move { t.to_string() }))
        .route(
            "/login",
            post(|mut t: CsrfToken| async move {
                t.rotate().await?;
                Ok::<_, SessionError>(t.to_string())
            }),
        )
        .route("/echo", post(|| async { "ok" }))
        .layer(csrf)
        .layer(sessions);
    let browser = super::Browser::at(crate::common::serve(router).await);
    let before = browser.token().await;
    assert_eq!(browser.submit("/echo", "", &before).await.status, 200);
    let rotated = browser.submit("/login", "", &before).await;
    assert_eq!(rotated.status, 200);
    assert_eq!(rotated.set_cookies, ["csrf"], "a new CSRF cookie");
    assert_eq!(browser.submit("/echo", "", &before).await.status, 403);
    assert_eq!(browser.submit("/echo", "", &rotated.body).await.status, 200);
}
