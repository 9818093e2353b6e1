//! Ktor's documentation example `auth-form-session`, ported: a login form, then a session that
//! authenticates the protected route.
//!
//! ```text
//! cargo run --example auth_form_session              # PORT=8080 by default
//! # open http://127.0.0.1:8080/login in a browser and log in as jetbrains / foobar, or:
//! curl -c jar -b jar -d username=jetbrains -d password=foobar http://127.0.0.1:8080/login
//! curl -c jar -b jar http://127.0.0.1:8080/hello     # Hello, jetbrains! Visit count is 1.
//! curl -c jar -b jar http://127.0.0.1:8080/hello     # Hello, jetbrains! Visit count is 2.
//! curl -c jar -b jar -i -X POST http://127.0.0.1:8080/logout  # 302 to /login, the cookie removed
//! ```
//!
//! What differs from Ktor, on purpose:
//!
//! * the session lives on the server ([`MemoryStorage`]) and the cookie carries only its id,
//!   so that the login can **regenerate** the id: a session id that existed before the login
//!   (planted by an attacker, say) stops working at the login (no session fixation);
//! * Ktor's form authentication provider (`form("auth-form") { ... }`) is the `login`
//!   handler: it checks the credentials and answers `401 Credentials are not valid` itself;
//! * logging out is a `POST`: a `GET` that ends the session can be sent by any page that
//!   embeds `<img src="https://your.site/logout">`.
//!
//! Like Ktor's, this example has no CSRF token, to stay a small port; an application whose
//! forms matter adds [`typed_sessions::csrf`] (see the demo, `cargo run --example demo`).

use std::time::Duration;

use axum::Form;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use typed_sessions::auth::{Authenticated, Challenge, SessionAuth};
use typed_sessions::storage::MemoryStorage;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

/// The session: who logged in and how many times `/hello` was visited.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserSession {
    /// The user name.
    pub name: String,
    /// Visits of `/hello` since login, starting at 1.
    pub count: u32,
}

/// The application: `/login` (form and check), `/hello` (protected), `POST /logout`.
pub fn app() -> Router {
    let sessions = SessionsConfig::new()
        .cookie_with_storage::<UserSession, _>("user_session", MemoryStorage::new(), |c| {
            c.path("/")
                .max_age(Duration::from_secs(60))
                // The example runs over plain http, and a client such as curl (or an older
                // browser) does not send a `Secure` cookie back over http. Behind HTTPS, keep
                // the default (`Secure` on).
                .secure(false)
        })
        .build()
        .expect("the example's configuration is valid");
    // Ktor's `session<UserSession>("auth-session") { validate { ... }; challenge { ... } }`.
    let auth = SessionAuth::<UserSession>::new()
        .validate(|session: UserSession| async move {
            session.name.starts_with("jet").then_some(session)
        })
        .challenge(Challenge::redirect("/login"));
    Router::new()
        .route("/hello", get(hello))
        .route_layer(auth)
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .layer(sessions)
}

/// Ktor's `respondRedirect`: `302 Found`.
fn redirect(to: &'static str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn login_form() -> Html<&'static str> {
    Html(
        r#"<!doctype html>
<html><head><title>Login</title></head><body>
<form action="/login" method="post" enctype="application/x-www-form-urlencoded">
<p>Username: <input type="text" name="username"></p>
<p>Password: <input type="password" name="password"></p>
<p><input type="submit" value="Login"></p>
</form>
</body></html>
"#,
    )
}

/// The form fields; a missing one is empty, and so refused like a wrong one.
#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

async fn login(
    sessions: Sessions,
    Form(credentials): Form<Credentials>,
) -> Result<Response, SessionError> {
    if credentials.username != "jetbrains" || credentials.password != "foobar" {
        return Ok((StatusCode::UNAUTHORIZED, "Credentials are not valid").into_response());
    }
    sessions.set(UserSession {
        name: credentials.username,
        count: 1,
    })?;
    // A session that came with the request (logged in before, or planted) gets a new id; the
    // old id stops working when this response leaves.
    sessions.regenerate::<UserSession>().await?;
    Ok(redirect("/hello"))
}

async fn hello(
    sessions: Sessions,
    Authenticated(session): Authenticated<UserSession>,
) -> Result<String, SessionError> {
    sessions.set(UserSession {
        count: session.count + 1,
        ..session.clone()
    })?;
    Ok(format!(
        "Hello, {}! Visit count is {}.",
        session.name, session.count
    ))
}

async fn logout(sessions: Sessions) -> Result<Response, SessionError> {
    sessions.clear::<UserSession>()?;
    Ok(redirect("/login"))
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await
}
