//! Forms done safely: every form carries a CSRF token ([`typed_sessions::csrf`]), and what a
//! form did is told by a flash notice ([`typed_sessions::flash`]) on the page it redirects to.
//!
//! **Why a token, although the cookies are `SameSite=Lax`.** `Lax` keeps the session cookie
//! off a `POST` that another site sends, but the response to that `POST` may still *set*
//! cookies, and the browser keeps them: without a token, a hostile page that auto-submits the
//! login form with the attacker's password logs the visitor into the attacker's account
//! (login CSRF), and one that submits the theme form changes the visitor's theme. The CSRF
//! layer refuses both before any handler runs: the browser marks such a request
//! `Sec-Fetch-Site: cross-site`, and it carries no valid token anyway. The browser test
//! (`tests/integration/browser/cross_site.rs`) serves such a page from another host name and
//! checks it in Chromium.
//!
//! **The token** is bound to the login: it includes the `user_session` id, so the token of
//! the login form dies at the login (which starts a new session id), and a token never
//! works in another browser. Visitors who are not logged in get a small encrypted `csrf`
//! cookie, not a session on the server.
//!
//! **The exemptions:** the API. `POST /api/token` takes JSON only (a form on another site
//! cannot send `application/json`, so it cannot reach it), and the other API calls carry an
//! `x-api-session` header, which no browser adds to a cross-site request on its own
//! ([`CsrfConfig::exempt_header_sessions`]).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use serde::{Deserialize, Serialize};
use typed_sessions::csrf::{CsrfConfig, CsrfLayer, Refusal};
use typed_sessions::{ConfigError, SessionsConfig};

use super::auth::UserSession;
use super::html::esc;
use super::prefs::Theme;
use super::setup::Setup;
use super::shop::PRODUCTS;

/// The CSRF protection of every route: tokens bound to the login, the API exempt.
pub fn protection(setup: &Setup) -> Result<CsrfLayer, ConfigError> {
    CsrfConfig::new(setup.key.clone())
        .bind::<UserSession>()
        .exempt("/api/token")
        .exempt_header_sessions(true)
        .refusal(Refusal::custom(|ctx| async move {
            tracing::info!(reason = ctx.rejection.as_str(), path = %ctx.request.uri.path(), "refused a form");
            refusal_page(ctx.rejection.as_str(), &ctx.rejection.to_string())
        }))
        .build()
}

/// Registers the `csrf` cookie and the `notice` flash cookie, both encrypted with the key.
pub fn register(config: SessionsConfig, setup: &Setup, csrf: &CsrfLayer) -> SessionsConfig {
    let secure = setup.secure;
    config
        .csrf("csrf", csrf, |c| c.secure(secure))
        .flash::<Notice>("notice", setup.key.clone(), |c| c.secure(secure))
}

/// The page a refused form leads to (it names no session and changes none).
fn refusal_page(reason: &str, sentence: &str) -> axum::response::Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Refused · typed-sessions demo</title></head>
<body data-page="refused">
<h1>This form was refused</h1>
<p id="reason" data-reason="{reason}">{sentence}.</p>
<p>It did not come from one of this site's own pages, or the page is too old: go
<a href="/">back to the demo</a> and try again.</p>
</body></html>
"#,
        reason = esc(reason),
        sentence = esc(sentence),
    );
    (StatusCode::FORBIDDEN, Html(html)).into_response()
}

/// What the last form did, shown once on the page it redirects to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// A login, remembered or not.
    LoggedIn {
        user: String,
        #[serde(default)]
        remembered: bool,
    },
    /// A logout.
    LoggedOut,
    /// A refused login.
    BadCredentials,
    /// A product went into the cart.
    Added { product: u32 },
    /// The cart was emptied.
    Emptied,
    /// The cart holds as much as it may.
    CartFull,
    /// A product that is not in the catalogue.
    NoSuchProduct,
    /// The theme was switched.
    Theme { theme: Theme },
    /// "Log out other devices" ended this many sessions.
    EndedOthers { count: u64 },
    /// "Log out this device" ended a device.
    EndedDevice,
    /// "Log out this device" named no device of the user.
    NoSuchDevice,
    /// The password was changed, and this many other sessions ended.
    PasswordChanged { ended: u64 },
    /// The current password given for a change was wrong.
    WrongPassword,
    /// The new password was too short or too long.
    BadPasswordLength,
}

impl Notice {
    /// Whether it reports a failure (shown as an error).
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Notice::BadCredentials
                | Notice::CartFull
                | Notice::NoSuchProduct
                | Notice::NoSuchDevice
                | Notice::WrongPassword
                | Notice::BadPasswordLength
        )
    }

    /// The sentence to show.
    pub fn text(&self) -> String {
        match self {
            Notice::LoggedIn {
                user,
                remembered: false,
            } => format!("Welcome, {user}."),
            Notice::LoggedIn {
                user,
                remembered: true,
            } => format!("Welcome, {user}. This browser is remembered."),
            Notice::LoggedOut => "You are logged out.".into(),
            Notice::BadCredentials => "Credentials are not valid".into(),
            Notice::Added { product } => {
                let name = PRODUCTS
                    .iter()
                    .find(|p| p.id == *product)
                    .map_or("?", |p| p.name);
                format!("Added one {name} to the cart.")
            }
            Notice::Emptied => "The cart is empty now.".into(),
            Notice::CartFull => "The cart is full".into(),
            Notice::NoSuchProduct => "No such product".into(),
            Notice::Theme { theme } => format!("{} theme on.", theme.label()),
            Notice::EndedOthers { count } => format!("Logged out {count} other device(s)."),
            Notice::EndedDevice => "The device is logged out.".into(),
            Notice::NoSuchDevice => "No such device".into(),
            Notice::PasswordChanged { ended } => {
                format!("Password changed. Logged out {ended} other device(s).")
            }
            Notice::WrongPassword => "The current password is not right".into(),
            Notice::BadPasswordLength => format!(
                "The new password must have {} characters or more",
                super::users::MIN_PASSWORD_LEN
            ),
        }
    }

    /// The notice as HTML (`#flash`, class `note` or `error`).
    pub fn html(&self) -> String {
        let class = if self.is_error() { "error" } else { "note" };
        format!(r#"<p class="{class}" id="flash">{}</p>"#, esc(&self.text()))
    }
}
