//! The account page: this session's details, the user's devices (every live session of the
//! user, from the storage's principal index), and the forms that end them or change the
//! password (handled in `devices` and `password`).
//!
//! [`Sessions::devices`] lists the user's browser sessions, the most recently used first, the
//! current one marked; the API tokens come from [`Principals`](typed_sessions::storage::Principals)
//! on the same storage. Each device is named by its handle, a digest the server can look up:
//! the page never holds a session id. [`Sessions::id`] gives this session's id, shown as a
//! prefix only (the id is the secret that the cookie carries).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use typed_sessions::Sessions;
use typed_sessions::auth::Authenticated;
use typed_sessions::storage::Device;

use super::api::{self, HEADER};
use super::auth::{self, IDLE_TIMEOUT, LIFETIME, MAX_DEVICES, REMEMBER, UserSession};
use super::devices::{self, Kind};
use super::html::{PageContext, esc};
use super::password;
use super::users::{MIN_PASSWORD_LEN, Users};
use super::{AppState, DemoError};

/// `GET /account`, and the forms of its devices and its password (login required).
pub fn routes(users: &Arc<Users>) -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/devices/end", post(devices::end_device))
        .route("/account/devices/end-others", post(devices::end_others))
        .route("/account/password", post(password::change))
        .route_layer(auth::require_login(users))
}

async fn account(
    State(app): State<AppState>,
    sessions: Sessions,
    page: PageContext,
    Authenticated(me): Authenticated<UserSession>,
) -> Result<Response, DemoError> {
    let now = SystemTime::now();
    let id = sessions.id::<UserSession>().await?;
    let prefix = id
        .as_ref()
        .and_then(|id| id.as_str().get(..8))
        .unwrap_or("");
    let browsers = sessions.devices::<UserSession>().await?;
    let tokens = api::tokens(&app)
        .sessions(&me.user, now)
        .await
        .map_err(typed_sessions::SessionError::from)?;
    let (started, expires) = match browsers.iter().find(|d| d.current) {
        Some(this) => (
            date(this.created_at),
            format!(
                "{} (in {})",
                date(this.expires_at),
                minutes(this.expires_at.duration_since(now).unwrap_or_default())
            ),
        ),
        None => ("?".to_owned(), "?".to_owned()),
    };
    let secure = if app.secure { "Secure; " } else { "" };
    let token = page.token_field();
    let rows = browsers
        .iter()
        .map(|d| row(Kind::Browser, d, &token))
        .chain(tokens.iter().map(|d| row(Kind::Api, d, &token)))
        .collect::<String>();
    let body = format!(
        r#"<h2>This session</h2>
<table id="session">
<tr><th>user</th><td>{user}</td></tr>
<tr><th>session id</th><td><code id="session-id">{prefix}…</code>
  (the first 8 of its 64 characters: the id is the secret the cookie carries, so it is never shown whole, nor logged)</td></tr>
<tr><th>started</th><td>{started}</td></tr>
<tr><th>expires</th><td id="expires">{expires}: {lifetime} after the login ({remember} with "remember me"), or after {idle} without a request.
  Using the session moves the idle deadline and "last seen" (at most every {renew}, so a busy session is not rewritten on every request).</td></tr>
<tr><th>stored in</th><td id="storage">{storage}</td></tr>
<tr><th>cookie</th><td><code>{cookie}</code>: the id, signed with the demo key; <code>HttpOnly; {secure}SameSite=Lax; Path=/</code>,
  and a <code>Max-Age</code> only with "remember me" (otherwise it ends with the browser session)</td></tr>
<tr><th>forms</th><td>every form carries a CSRF token bound to this session id (a new id at the login ends the old tokens); the <code>csrf</code> cookie holds the browser's part, encrypted</td></tr>
</table>
<h2>Your devices</h2>
<p>Every session of {user}, from the storage's principal index: browsers (the most recently used first) and API tokens (<code>{header}</code>).
  At most {max} browsers: a login beyond that logs out the one used least recently.</p>
<table id="devices">
<tr><th>device</th><th>logged in</th><th>last seen</th><th>expires</th><th></th></tr>
{rows}</table>
<p id="device-count">{count} device(s) of {user} are logged in.</p>
<form method="post" action="/account/devices/end-others">{token}<button id="logout-others">Log out other devices</button></form>
<h2>Change the password</h2>
<p>A new password logs out every other device of {user} (and its API tokens); this one stays logged in.</p>
<form method="post" action="/account/password" id="password">{token}
<p><label>Current password <input name="current" type="password" autocomplete="current-password" required></label></p>
<p><label>New password ({min} characters or more) <input name="new" type="password" autocomplete="new-password" minlength="{min}" required></label></p>
<p><button type="submit" id="change-password">Change the password</button></p>
</form>"#,
        user = esc(&me.user),
        idle = duration(IDLE_TIMEOUT),
        lifetime = duration(LIFETIME),
        remember = duration(REMEMBER),
        renew = duration(auth::RENEW_EVERY),
        storage = esc(&app.storage_label),
        cookie = auth::COOKIE,
        header = HEADER,
        max = MAX_DEVICES,
        count = browsers.len() + tokens.len(),
        min = MIN_PASSWORD_LEN,
    );
    Ok(page.page("account", "Account", &body))
}

/// One device of the table, with its "log out this device" form.
fn row(kind: Kind, device: &Device, token: &str) -> String {
    let what = match kind {
        Kind::Browser => device.description.as_deref().unwrap_or("a browser"),
        Kind::Api => "API token",
    };
    let this = if device.current {
        r#" <b class="this-device">(this device)</b>"#
    } else {
        ""
    };
    format!(
        r#"<tr class="device" data-kind="{kind}"{current}>
<td class="what">{what}{this}</td><td class="created">{created}</td><td class="last-seen">{seen}</td><td>{expires}</td>
<td><form method="post" action="/account/devices/end">{token}<input type="hidden" name="kind" value="{kind}"><input type="hidden" name="handle" value="{handle}"><button class="end-device">Log out this device</button></form></td></tr>
"#,
        kind = kind.as_str(),
        current = if device.current { " data-current" } else { "" },
        what = esc(what),
        created = date(device.created_at),
        seen = date(device.last_seen),
        expires = date(device.expires_at),
        handle = device.handle,
    )
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

/// `8 h`, `7 days`, `5 min`.
fn duration(duration: Duration) -> String {
    let hours = duration.as_secs() / 3600;
    if hours >= 48 && hours.is_multiple_of(24) {
        format!("{} days", hours / 24)
    } else {
        minutes(duration)
    }
}
