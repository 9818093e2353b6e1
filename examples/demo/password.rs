//! The password change: the user's new credential version goes into this session, and every
//! other session of the user ends at once.
//!
//! [`Sessions::credentials_changed`] stores this session with the new version and ends the
//! user's other browser sessions through the principal index (Django's
//! `update_session_auth_hash`); the user's API tokens end through
//! [`Principals::end_all`](typed_sessions::storage::Principals::end_all). A session the index
//! could not reach is still refused at its next request: its credential version is no longer
//! the user's (see `users`).

use axum::extract::{Form, State};
use axum::response::Response;
use serde::Deserialize;
use typed_sessions::auth::Authenticated;
use typed_sessions::{SessionError, Sessions};

use super::api;
use super::auth::UserSession;
use super::devices::notice;
use super::forms::Notice;
use super::users::PasswordError;
use super::{AppState, DemoError};

/// The fields of the password form; a missing one is empty, and so refused.
#[derive(Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// `POST /account/password`.
pub async fn change(
    State(app): State<AppState>,
    sessions: Sessions,
    Authenticated(me): Authenticated<UserSession>,
    Form(form): Form<PasswordChange>,
) -> Result<Response, DemoError> {
    let credentials = match app
        .users
        .change_password(&me.user, &form.current, &form.new)
    {
        Ok(credentials) => credentials,
        Err(PasswordError::WrongPassword) => {
            return notice(&sessions, Notice::WrongPassword, "/account");
        }
        Err(PasswordError::BadLength) => {
            return notice(&sessions, Notice::BadPasswordLength, "/account");
        }
    };
    let updated = UserSession {
        credentials,
        ..me.clone()
    };
    let browsers = sessions.credentials_changed(updated).await?;
    let tokens = api::tokens(&app)
        .end_all(&me.user, None)
        .await
        .map_err(SessionError::from)?;
    let ended = browsers.saturating_add(tokens);
    notice(&sessions, Notice::PasswordChanged { ended }, "/account")
}
