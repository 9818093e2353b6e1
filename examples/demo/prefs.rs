//! The theme: a session carried **by value** in a cookie, encrypted ([`Encrypt`]).
//!
//! The whole preferences value travels in the `prefs` cookie; no storage is involved. It is
//! encrypted and authenticated with the demo key (AES-256-GCM), so the browser holds an opaque
//! string that it can neither read nor change, and the expiry inside it is checked by the
//! server. The key is kept across restarts (see `setup`), so the theme survives restarts; it
//! is a cookie of its own, so it also survives logout.
//!
//! The theme form (in every page's header) carries the CSRF token like every form: without
//! it, another site could switch a visitor's theme by submitting the form, since the response
//! to a cross-site `POST` may set cookies even though `SameSite=Lax` keeps them off the
//! request.

use std::time::Duration;

use axum::Router;
use axum::extract::Form;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use typed_sessions::flash::Flash;
use typed_sessions::{Encrypt, SessionError, Sessions, SessionsConfig};

use super::AppState;
use super::forms::Notice;
use super::setup::Setup;

/// Light or dark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Dark text on white.
    #[default]
    Light,
    /// Light text on dark grey.
    Dark,
}

impl Theme {
    /// The CSS class and form value.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// For a button.
    pub fn label(self) -> &'static str {
        match self {
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The other theme.
    pub fn other(self) -> Theme {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }
}

/// The preferences session.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Prefs {
    /// The page theme.
    pub theme: Theme,
}

/// Registers the `prefs` cookie: by value, encrypted, kept for a year.
pub fn register(config: SessionsConfig, setup: &Setup) -> SessionsConfig {
    config.cookie::<Prefs>("prefs", |c| {
        c.max_age(Duration::from_secs(365 * 24 * 3600))
            .secure(setup.secure)
            .transform(Encrypt::new(setup.key.clone()))
    })
}

/// `POST /prefs`: sets the theme, then goes back to the page the form was on.
pub fn routes() -> Router<AppState> {
    Router::new().route("/prefs", post(set_theme))
}

/// The theme of this request's preferences (the default without any).
pub async fn theme(sessions: &Sessions) -> Result<Theme, SessionError> {
    Ok(sessions
        .get::<Prefs>()
        .await?
        .map(|p| p.theme)
        .unwrap_or_default())
}

#[derive(Deserialize)]
struct ThemeForm {
    theme: Theme,
    #[serde(default)]
    back: String,
}

async fn set_theme(
    sessions: Sessions,
    Form(form): Form<ThemeForm>,
) -> Result<Response, SessionError> {
    sessions.set(Prefs { theme: form.theme })?;
    sessions.set(Flash(Notice::Theme { theme: form.theme }))?;
    Ok(Redirect::to(if is_local_path(&form.back) {
        &form.back
    } else {
        "/"
    })
    .into_response())
}

/// A path of this site, fit for a `Location` header: `//host` or `http://...` would make the
/// form an open redirect, and a control character an invalid header.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}
