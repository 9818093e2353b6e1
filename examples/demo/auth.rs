//! Logging in and out: a form login with "remember me" ([`Sessions::login`], which gives the
//! session a new id and files it under its user in the storage's principal index), and
//! session authentication for the pages that need it ([`SessionAuth`] with
//! [`Challenge::redirect`], checking the session's credential version, see `users`).
//!
//! The `user_session` cookie holds only an id, signed with the demo key; the session lives in
//! the configured storage. Logging in and out are `POST`s with a CSRF token (see `forms`):
//! `SameSite=Lax` alone does not stop another site from logging a visitor into the
//! attacker's account, because a cross-site `POST` needs no cookie to reach the login form and
//! its response's cookies are kept. Each form redirects, and the page it leads to shows what
//! happened as a flash notice.
//!
//! **Remember me.** An ordinary login lasts [`LIFETIME`] and its cookie is a browser-session
//! cookie (no `Max-Age`): closing the browser ends it. With "remember me" checked, the login
//! chooses a lifetime of [`REMEMBER`] ([`Sessions::set_lifetime`], capped by the configured
//! `max_lifetime`), and its cookie carries a `Max-Age` for what remains of it, so it survives
//! a browser restart. Either way a session unused for [`IDLE_TIMEOUT`] ends.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use typed_sessions::auth::{Challenge, SessionAuth};
use typed_sessions::flash::Flash;
use typed_sessions::storage::OnLimit;
use typed_sessions::{Sessions, SessionsConfig, Sign};

use super::forms::Notice;
use super::html::{PageContext, esc};
use super::setup::Setup;
use super::users::{self, Owned, USERS, Users};
use super::{AppState, DemoError};

/// The browser session: who is logged in, and the credential version of the login.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserSession {
    /// The user name (the session's principal).
    pub user: String,
    /// The user's credential version at the login (see `users`).
    pub credentials: u64,
}

impl Owned for UserSession {
    fn user(&self) -> &str {
        &self.user
    }
    fn credentials(&self) -> u64 {
        self.credentials
    }
}

/// How long an ordinary login lasts at most.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a login with "remember me" lasts at most.
pub const REMEMBER: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a login lasts without a request.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often a session in use is written again, at most: its idle deadline and its "last
/// seen" time move no more often than this, so a busy session is not rewritten every request.
pub const RENEW_EVERY: Duration = Duration::from_secs(5 * 60);
/// How many devices a user may be logged in on; a login beyond it ends the least recently
/// used one.
pub const MAX_DEVICES: usize = 5;

/// The cookie of the logged-in user's session.
pub const COOKIE: &str = "user_session";

/// Registers `user_session`: by id in the shared storage, the id signed, filed under its user
/// in the principal index.
pub fn register(config: SessionsConfig, setup: &Setup) -> SessionsConfig {
    config.cookie_with_storage::<UserSession, _>(COOKIE, setup.storage.clone(), |c| {
        c.principal(users::principal::<UserSession>)
            .max_sessions_per_principal(MAX_DEVICES, OnLimit::EndOldest)
            .max_age(None)
            .lifetime(LIFETIME)
            .max_lifetime(REMEMBER)
            .idle_timeout(IDLE_TIMEOUT)
            .renew_after(RENEW_EVERY.as_secs_f64() / IDLE_TIMEOUT.as_secs_f64())
            .secure(setup.secure)
            .transform(Sign::new(setup.key.clone()))
    })
}

/// The guard of the pages that need a login: a session of a known user made with the user's
/// current password, or a redirect to the login form.
pub fn require_login(users: &Arc<Users>) -> SessionAuth<UserSession> {
    users::require(users, Challenge::redirect("/login"))
}

/// `GET/POST /login`, `POST /logout`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
}

async fn login_form(State(app): State<AppState>, page: PageContext) -> Response {
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
            let changed = if app.users.changed(name) {
                " (changed since the demo started)"
            } else {
                ""
            };
            format!(
                "<tr><td><code>{name}</code></td><td><code>{password}</code>{changed}</td></tr>"
            )
        })
        .collect::<String>();
    let body = format!(
        r#"{already}
<form method="post" action="/login" id="login">{token}
<p><label>User name <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><label><input name="remember" type="checkbox" value="1" id="remember"> Remember me for {remember} days
  (otherwise the login ends with the browser session, and after {hours} h at the latest)</label></p>
<p><button type="submit">Log in</button></p>
</form>
<h2>Demo users</h2>
<table><tr><th>user</th><th>password</th></tr>{users}</table>
<p>Log in as the same user in a second browser (or a private window): the Account page of
each lists both devices, and can log out the other.</p>"#,
        token = page.token_field(),
        remember = REMEMBER.as_secs() / (24 * 3600),
        hours = LIFETIME.as_secs() / 3600,
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
    /// Present when "remember me" is checked.
    remember: Option<String>,
}

async fn login(
    State(app): State<AppState>,
    sessions: Sessions,
    Form(form): Form<Credentials>,
) -> Result<Response, DemoError> {
    let Some(login) = app.users.check(&form.username, &form.password) else {
        sessions.set(Flash(Notice::BadCredentials))?;
        return Ok(Redirect::to("/login").into_response());
    };
    let session = UserSession {
        user: login.user.to_owned(),
        credentials: login.credentials,
    };
    // A new id (a session that came with the request ends: no session fixation), filed under
    // the user in the same write, with this browser's description.
    sessions.login(session).await?;
    let remembered = form.remember.is_some();
    if remembered {
        sessions.set_lifetime::<UserSession>(REMEMBER)?;
    }
    sessions.set(Flash(Notice::LoggedIn {
        user: login.user.to_owned(),
        remembered,
    }))?;
    Ok(Redirect::to("/shop").into_response())
}

async fn logout(sessions: Sessions) -> Result<Response, DemoError> {
    // The record goes, and its entry in the principal index with it. The preferences cookie
    // stays: the theme outlives the login.
    sessions.clear::<UserSession>()?;
    sessions.set(Flash(Notice::LoggedOut))?;
    Ok(Redirect::to("/login").into_response())
}
