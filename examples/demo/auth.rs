//! Logging in and out: a form login, session authentication for the pages that need it
//! ([`SessionAuth`] with [`Challenge::redirect`]), a new session id at every login
//! ([`Sessions::regenerate`], in `logins::start`), and "log out everywhere"
//! ([`Sessions::clear_by_id`] on the ids the login index kept).
//!
//! The `user_session` cookie holds only an id, signed with the demo key; the session lives in
//! the configured storage. Logging in and out are `POST`s with a CSRF token (see `forms`):
//! `SameSite=Lax` alone does not stop another site from logging a visitor into the
//! attacker's account, because a cross-site `POST` needs no cookie to reach the login form and
//! its response's cookies are kept. Each form redirects, and the page it leads to shows what
//! happened as a flash notice.

use std::time::Duration;

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use typed_sessions::auth::{Authenticated, Challenge, SessionAuth};
use typed_sessions::flash::Flash;
use typed_sessions::{SessionId, Sessions, SessionsConfig, Sign};

use super::api::ApiSession;
use super::forms::Notice;
use super::html::{PageContext, esc};
use super::logins::{self, Kind, Owned};
use super::setup::Setup;
use super::{AppState, DemoError};

/// The demo's users: name and password. Shown on the login page; a real application keeps
/// password hashes (argon2) in a database.
pub const USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder")];

/// The browser session: who is logged in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserSession {
    /// The user name.
    pub user: String,
}

impl Owned for UserSession {
    const KIND: Kind = Kind::Browser;
    fn user(&self) -> &str {
        &self.user
    }
}

/// How long a login lasts at most (the cookie's `Max-Age` and the session's lifetime).
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a login lasts without a request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The cookie of the logged-in user's session.
pub const COOKIE: &str = "user_session";

/// Registers `user_session`: by id in the shared storage, the id signed.
pub fn register(config: SessionsConfig, setup: &Setup) -> SessionsConfig {
    config.cookie_with_storage::<UserSession, _>(COOKIE, setup.storage.clone(), |c| {
        c.max_age(LIFETIME)
            .idle_timeout(IDLE_TIMEOUT)
            .secure(setup.secure)
            .transform(Sign::new(setup.key.clone()))
    })
}

/// The guard of the pages that need a login: a session of a known user, or a redirect to the
/// login form.
pub fn require_login() -> SessionAuth<UserSession> {
    SessionAuth::<UserSession>::new()
        .validate(|session: UserSession| async move { is_user(&session.user).then_some(session) })
        .challenge(Challenge::redirect("/login"))
}

/// `GET/POST /login`, `POST /logout`, `POST /account/logout-others`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/logout-others", post(logout_others))
        .route_layer(require_login())
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
}

/// Whether `name` is a demo user (a session of a user who was removed is refused).
pub fn is_user(name: &str) -> bool {
    USERS.iter().any(|(user, _)| *user == name)
}

/// The user whose password `password` is, if `name` is a demo user.
pub fn check(name: &str, password: &str) -> Option<&'static str> {
    // `ct_eq` takes as long for a nearly right password as for a wrong one, so response times
    // do not tell how much of a guess was right.
    USERS
        .iter()
        .find(|(user, secret)| {
            *user == name && bool::from(secret.as_bytes().ct_eq(password.as_bytes()))
        })
        .map(|(user, _)| *user)
}

async fn login_form(page: PageContext) -> Response {
    let already = match &page.user {
        Some(user) => format!(
            r#"<p class="note">You are signed in as {}. Logging in again gives this browser a new session id.</p>"#,
            esc(user)
        ),
        None => String::new(),
    };
    let users = USERS
        .iter()
        .map(|(name, password)| {
            format!("<tr><td><code>{name}</code></td><td><code>{password}</code></td></tr>")
        })
        .collect::<String>();
    let body = format!(
        r#"{already}
<form method="post" action="/login" id="login">{token}
<p><label>User name <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Log in</button></p>
</form>
<h2>Demo users</h2>
<table><tr><th>user</th><th>password</th></tr>{users}</table>
<p>Log in as the same user in a second browser (or a private window), then use
<em>Log out everywhere else</em> on the Account page of the first.</p>"#,
        token = page.token_field(),
    );
    page.page("login", "Log in", &body)
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
    State(app): State<AppState>,
    sessions: Sessions,
    Form(form): Form<Credentials>,
) -> Result<Response, DemoError> {
    let Some(user) = check(&form.username, &form.password) else {
        sessions.set(Flash(Notice::BadCredentials))?;
        return Ok(Redirect::to("/login").into_response());
    };
    let session = UserSession {
        user: user.to_owned(),
    };
    logins::start(&app, &sessions, session).await?;
    sessions.set(Flash(Notice::LoggedIn {
        user: user.to_owned(),
    }))?;
    Ok(Redirect::to("/shop").into_response())
}

async fn logout(State(app): State<AppState>, sessions: Sessions) -> Result<Response, DemoError> {
    // The preferences cookie stays: the theme outlives the login.
    logins::end::<UserSession>(&app, &sessions).await?;
    sessions.set(Flash(Notice::LoggedOut))?;
    Ok(Redirect::to("/login").into_response())
}

/// Ends every other session of the user: other browsers, and API tokens.
async fn logout_others(
    State(app): State<AppState>,
    sessions: Sessions,
    Authenticated(me): Authenticated<UserSession>,
) -> Result<Response, DemoError> {
    let current = sessions.id::<UserSession>().await?;
    let others = app
        .logins
        .others(&me.user, current.as_ref(), &*app.storage)
        .await?;
    for other in &others {
        match other.kind {
            Kind::Browser => sessions.clear_by_id::<UserSession>(&other.id).await?,
            Kind::Api => sessions.clear_by_id::<ApiSession>(&other.id).await?,
        }
    }
    let ended: Vec<&SessionId> = others.iter().map(|o| &o.id).collect();
    if let Err(e) = app.logins.remove(&me.user, &ended).await {
        // The sessions are over anyway; their entries are dropped the next time.
        tracing::warn!(error = ?e, "the login index could not be updated");
    }
    sessions.set(Flash(Notice::EndedOthers {
        count: others.len(),
    }))?;
    Ok(Redirect::to("/account").into_response())
}
