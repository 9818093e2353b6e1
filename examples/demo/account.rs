//! The session's details: what the library knows about the current login.
//!
//! [`Sessions::id`] gives the id (shown as a prefix only: the id is the secret that the
//! cookie carries), and the shared storage, asked directly, gives the record's creation and
//! expiry ([`SessionStorage::load`]). The login index lists the user's other sessions, which
//! "Log out everywhere else" ends.
//!
//! [`SessionStorage::load`]: typed_sessions::storage::SessionStorage::load

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use typed_sessions::auth::Authenticated;
use typed_sessions::storage::Namespace;
use typed_sessions::{SessionError, Sessions};

use super::auth::{self, IDLE_TIMEOUT, LIFETIME, UserSession};
use super::html::{PageContext, esc};
use super::logins::Kind;
use super::{AppState, DemoError};

/// `GET /account` (login required).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route_layer(auth::require_login())
}

async fn account(
    State(app): State<AppState>,
    sessions: Sessions,
    page: PageContext,
    Authenticated(me): Authenticated<UserSession>,
) -> Result<Response, DemoError> {
    let now = SystemTime::now();
    let id = sessions.id::<UserSession>().await?;
    let record = match &id {
        Some(id) => app
            .storage
            .load(Namespace::new(super::auth::COOKIE).key(id), now)
            .await
            .map_err(SessionError::from)?,
        None => None,
    };
    let prefix = id
        .as_ref()
        .and_then(|id| id.as_str().get(..8))
        .unwrap_or("");
    let (started, expires) = match &record {
        Some(r) => (
            date(r.created_at),
            format!(
                "{} (in {})",
                date(r.expires_at),
                minutes(r.expires_at.duration_since(now).unwrap_or_default())
            ),
        ),
        None => ("?".to_owned(), "?".to_owned()),
    };
    let secure = if app.secure { "Secure; " } else { "" };

    let others = app
        .logins
        .others(&me.user, id.as_ref(), &*app.storage)
        .await?;
    let list = others
        .iter()
        .map(|o| {
            let what = match o.kind {
                Kind::Browser => "a browser",
                Kind::Api => "an API token",
            };
            format!(
                "<li>{what}, since {}</li>",
                date(UNIX_EPOCH + Duration::from_secs(o.since))
            )
        })
        .collect::<String>();
    let body = format!(
        r#"<h2>This session</h2>
<table id="session">
<tr><th>user</th><td>{user}</td></tr>
<tr><th>session id</th><td><code id="session-id">{prefix}…</code>
  (the first 8 of its 64 characters: the id is the secret the cookie carries, so it is never shown whole, nor logged)</td></tr>
<tr><th>started</th><td>{started}</td></tr>
<tr><th>expires</th><td id="expires">{expires}: after {idle} without a request, and {lifetime} after the login at the latest.
  Every request moves the idle deadline (the library renews it once a quarter of the window has passed).</td></tr>
<tr><th>stored in</th><td id="storage">{storage}</td></tr>
<tr><th>cookie</th><td><code>user_session</code>: the id, signed with the demo key; <code>HttpOnly; {secure}SameSite=Lax; Path=/</code></td></tr>
<tr><th>forms</th><td>every form carries a CSRF token bound to this session id (a new id at the login ends the old tokens); the <code>csrf</code> cookie holds the browser's part, encrypted</td></tr>
</table>
<h2>Your other sessions</h2>
<ul id="other-sessions">{list}</ul>
<p>{count} other session(s) of {user} are open.</p>
<form method="post" action="/account/logout-others">{token}<button id="logout-others">Log out everywhere else</button></form>"#,
        token = page.token_field(),
        user = esc(&me.user),
        idle = minutes(IDLE_TIMEOUT),
        lifetime = minutes(LIFETIME),
        storage = esc(&app.storage_label),
        count = others.len(),
    );
    Ok(page.page("account", "Account", &body))
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// `29 min` or `8 h`.
fn minutes(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    if minutes >= 120 && minutes.is_multiple_of(60) {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}
