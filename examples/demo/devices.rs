//! "Log out this device" and "Log out other devices", from the account page.
//!
//! A browser session is ended by its handle with [`Sessions::end_device`], an API token with
//! [`Principals::end`](typed_sessions::storage::Principals::end); both end only a session of the
//! current user (a handle of someone else's session ends nothing). The session is gone from the
//! storage at once, with its index entry: the device's next request has no session and meets
//! the login form. "Log out other devices" is [`Sessions::end_other_devices`] and the user's
//! API tokens.

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use typed_sessions::auth::Authenticated;
use typed_sessions::flash::Flash;
use typed_sessions::storage::{Namespace, SessionHandle};
use typed_sessions::{SessionError, Sessions};

use super::api;
use super::auth::{COOKIE, UserSession};
use super::forms::Notice;
use super::{AppState, DemoError};

/// What kind of session a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A browser's `user_session` cookie.
    Browser,
    /// An API token (`x-api-session` header).
    Api,
}

impl Kind {
    /// Its name in the account page's forms.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Browser => "browser",
            Kind::Api => "api",
        }
    }
}

/// The fields of a "log out this device" form; a missing or garbled one ends nothing.
#[derive(Deserialize)]
pub struct EndDevice {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    handle: String,
}

/// `POST /account/devices/end`: ends one of the user's sessions. Ending this browser's own
/// session is a logout.
pub async fn end_device(
    State(app): State<AppState>,
    sessions: Sessions,
    Authenticated(me): Authenticated<UserSession>,
    Form(form): Form<EndDevice>,
) -> Result<Response, DemoError> {
    let Ok(handle) = form.handle.parse::<SessionHandle>() else {
        return notice(&sessions, Notice::NoSuchDevice, "/account");
    };
    let ended = match form.kind.as_str() {
        "browser" => {
            if Some(handle) == current_handle(&sessions).await? {
                sessions.clear::<UserSession>()?;
                return notice(&sessions, Notice::LoggedOut, "/login");
            }
            sessions.end_device::<UserSession>(&handle).await?
        }
        "api" => api::tokens(&app)
            .end(&me.user, &handle)
            .await
            .map_err(SessionError::from)?,
        _ => false,
    };
    let said = if ended {
        Notice::EndedDevice
    } else {
        Notice::NoSuchDevice
    };
    notice(&sessions, said, "/account")
}

/// `POST /account/devices/end-others`: ends every session of the user but this one.
pub async fn end_others(
    State(app): State<AppState>,
    sessions: Sessions,
    Authenticated(me): Authenticated<UserSession>,
) -> Result<Response, DemoError> {
    let browsers = sessions.end_other_devices::<UserSession>().await?;
    let tokens = api::tokens(&app)
        .end_all(&me.user, None)
        .await
        .map_err(SessionError::from)?;
    let count = browsers.saturating_add(tokens);
    notice(&sessions, Notice::EndedOthers { count }, "/account")
}

/// The handle of this browser's session, if it has one.
async fn current_handle(sessions: &Sessions) -> Result<Option<SessionHandle>, SessionError> {
    let id = sessions.id::<UserSession>().await?;
    Ok(id.map(|id| SessionHandle::of(Namespace::new(COOKIE).key(&id))))
}

/// Leaves `said` for the next page and redirects there.
pub fn notice(sessions: &Sessions, said: Notice, to: &str) -> Result<Response, DemoError> {
    sessions.set(Flash(said))?;
    Ok(Redirect::to(to).into_response())
}
