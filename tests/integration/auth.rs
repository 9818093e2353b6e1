//! Session authentication (issue 6): no session, invalid session, rejected, accepted; the
//! challenges; public routes in the same router.

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get as route;
use typed_sessions::auth::{Authenticated, Cause, Challenge, SessionAuth};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, get};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct UserSession {
    name: String,
    count: u32,
}

#[derive(Debug, Clone)]
struct User {
    name: String,
}

fn cookie_for(name: &str) -> String {
    let json = format!(r#"{{"name":"{name}","count":1}}"#);
    format!(
        "user_session={}",
        typed_sessions::CookieEncoding::Uri.encode(&json)
    )
}

fn app(auth: SessionAuth<UserSession, User>) -> Router {
    let sessions = SessionsConfig::new()
        .cookie::<UserSession>("user_session", |c| c.unprotected())
        .build()
        .unwrap();
    Router::new()
        .route(
            "/hello",
            route(|Authenticated(user): Authenticated<User>| async move {
                format!("Hello, {}!", user.name)
            }),
        )
        .route_layer(auth)
        .route("/public", route(|| async { "public" }))
        .route(
            "/logout",
            route(|s: Sessions| async move {
                s.clear::<UserSession>()?;
                Ok::<_, SessionError>("bye")
            }),
        )
        .layer(sessions)
}

fn jet_only() -> SessionAuth<UserSession, User> {
    SessionAuth::<UserSession>::new().validate(|s: UserSession| async move {
        s.name.starts_with("jet").then_some(User { name: s.name })
    })
}

#[tokio::test]
async fn no_session_invalid_session_rejected_and_accepted() {
    let router = app(jet_only());
    // No session: 401 with no body (Ktor's default challenge).
    let none = get(&router, "/hello", None).await;
    assert_eq!((none.status.as_u16(), none.body.as_str()), (401, ""));
    assert!(none.header("www-authenticate").is_none());
    assert_eq!(none.header("cache-control"), Some("no-store"));
    // An invalid (undecodable) session is no session, and its cookie is cleared.
    let invalid = get(&router, "/hello", Some("user_session=garbage")).await;
    assert_eq!(invalid.status, 401);
    assert!(
        invalid
            .set_cookie("user_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    // Rejected by validate.
    let rejected = get(&router, "/hello", Some(&cookie_for("bob"))).await;
    assert_eq!(rejected.status, 401);
    assert!(
        rejected.set_cookies().is_empty(),
        "a valid session that is refused is not deleted"
    );
    // Accepted: the handler gets the principal.
    let ok = get(&router, "/hello", Some(&cookie_for("jetbrains"))).await;
    assert_eq!(
        (ok.status.as_u16(), ok.body.as_str()),
        (200, "Hello, jetbrains!")
    );
    // Public routes are untouched by the guard and by sessions.
    let public = get(&router, "/public", None).await;
    assert_eq!(
        (public.status.as_u16(), public.body.as_str()),
        (200, "public")
    );
    assert!(public.header("vary").is_none());
}

#[tokio::test]
async fn redirect_challenge() {
    let router = app(jet_only().challenge(Challenge::redirect("/login")));
    for cookie in [None, Some(cookie_for("bob"))] {
        let answer = get(&router, "/hello", cookie.as_deref()).await;
        assert_eq!(answer.status, 302);
        assert_eq!(answer.header("location"), Some("/login"));
    }
}

#[tokio::test]
async fn custom_challenge_knows_the_cause_and_the_request() {
    let challenge = Challenge::custom(|ctx| async move {
        let text = format!("{:?} {}", ctx.cause, ctx.request.uri.path());
        let status = if ctx.cause == Cause::Rejected {
            403
        } else {
            401
        };
        (http::StatusCode::from_u16(status).unwrap(), text).into_response()
    });
    let router = app(jet_only().challenge(challenge));
    let none = get(&router, "/hello", None).await;
    assert_eq!(
        (none.status.as_u16(), none.body.as_str()),
        (401, "NoSession /hello")
    );
    let rejected = get(&router, "/hello", Some(&cookie_for("bob"))).await;
    assert_eq!(
        (rejected.status.as_u16(), rejected.body.as_str()),
        (403, "Rejected /hello")
    );
}

#[tokio::test]
async fn session_only_like_ktor() {
    // Ktor's testSessionOnly / testSessionWithEmptyValidateRespondsWith401: no validate block.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    struct S {
        id: u32,
    }
    let sessions = SessionsConfig::new()
        .cookie::<S>("S", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/",
            route(|Authenticated(s): Authenticated<S>| async move { format!("id {}", s.id) }),
        )
        .route_layer(SessionAuth::<S>::new())
        .route(
            "/logout",
            route(|sessions: Sessions| async move {
                sessions.clear::<S>()?;
                Ok::<_, SessionError>(axum::response::Redirect::to("/"))
            }),
        )
        .layer(sessions);
    assert_eq!(get(&router, "/", None).await.status, 401);
    // Raw, unencoded JSON in the Cookie header is accepted, as in Ktor.
    let ok = get(&router, "/", Some(r#"S={"id":1}"#)).await;
    assert_eq!((ok.status.as_u16(), ok.body.as_str()), (200, "id 1"));
    let logout = get(&router, "/logout", Some(r#"S={"id":1}"#)).await;
    assert_eq!(logout.status, 303);
    let removal = logout.cookie_pair("S").unwrap();
    assert_eq!(get(&router, "/", Some(&removal)).await.status, 401);
}

#[tokio::test]
async fn the_extractor_without_the_layer_is_a_clear_error() {
    let sessions = SessionsConfig::new()
        .cookie::<UserSession>("user_session", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/oops",
            route(|Authenticated(user): Authenticated<User>| async move { user.name }),
        )
        .layer(sessions);
    let answer = get(&router, "/oops", Some(&cookie_for("jet"))).await;
    assert_eq!(answer.status, 500);
    let error = SessionError::NotAuthenticated {
        principal: "User".into(),
    };
    assert!(
        error
            .to_string()
            .contains("add `SessionAuth` to it with `route_layer`")
    );
}

#[tokio::test]
async fn a_storage_outage_is_503_not_a_login_prompt() {
    let storage = ProbeStorage::default();
    let sessions = SessionsConfig::new()
        .cookie_with_storage::<UserSession, _>("user_session", storage.clone(), |c| c)
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/hello",
            route(|Authenticated(u): Authenticated<UserSession>| async move { u.name }),
        )
        .route_layer(SessionAuth::<UserSession>::new().challenge(Challenge::redirect("/login")))
        .route(
            "/login",
            route(|s: Sessions| async move {
                s.set(UserSession {
                    name: "jet".into(),
                    count: 1,
                })?;
                Ok::<_, SessionError>("in")
            }),
        )
        .layer(sessions);
    let cookie = get(&router, "/login", None)
        .await
        .cookie_pair("user_session")
        .unwrap();
    assert_eq!(get(&router, "/hello", Some(&cookie)).await.body, "jet");
    storage.fail(true);
    let down = get(&router, "/hello", Some(&cookie)).await;
    assert_eq!(down.status, 503);
    assert!(down.set_cookies().is_empty());
}
