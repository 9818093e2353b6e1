//! [`CsrfToken`]: the masked token for the response, as an axum extractor.

use std::fmt;
use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use http::request::Parts;

use super::layer::{InRequest, Read, Settings};
use super::secret::CsrfSecret;
use crate::error::SessionError;
use crate::sessions::Sessions;

/// The CSRF token for the response being built: put it into every form (a hidden field,
/// [`hidden_input`](Self::hidden_input)) or a `<meta>` tag for scripts, which send it back in
/// the [header](Self::header_name).
///
/// Each extraction masks the token with a fresh random pad, so no two responses carry the same
/// string (nothing for a compression side channel to learn), while all of them verify for
/// this browser and session. A visitor without a CSRF cookie gets one with this response: a
/// small encrypted cookie, not a server-side session.
///
/// A page with a token belongs to one browser: its response varies on `Cookie` (the sessions
/// layer adds that), and it should not be stored by shared caches (`Cache-Control: private`
/// or `no-store`; the response that first sets the CSRF cookie gets `no-store` anyway).
///
/// Extracting it on a route that no [`CsrfLayer`](super::CsrfLayer) serves is a programming
/// error: the request is answered with `500` and the reason is logged.
///
/// ```
/// use axum::response::Html;
/// use typed_sessions::csrf::CsrfToken;
///
/// async fn form(token: CsrfToken) -> Html<String> {
///     Html(format!(
///         r#"<form method="post" action="/profile">{}<input name="name"><button>Save</button></form>"#,
///         token.hidden_input()
///     ))
/// }
/// ```
#[derive(Clone)]
pub struct CsrfToken {
    token: String,
    settings: Arc<Settings>,
    sessions: Sessions,
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A token is a credential of this browser's session: never printed.
        f.debug_struct("CsrfToken")
            .field("field", &self.settings.field)
            .finish_non_exhaustive()
    }
}

impl CsrfToken {
    /// The token of the request that `parts` describes (for code that is not an axum
    /// handler); the same as extracting it.
    pub async fn from_parts(parts: &Parts) -> Result<CsrfToken, SessionError> {
        let settings = parts
            .extensions
            .get::<InRequest>()
            .map(|found| Arc::clone(&found.0))
            .ok_or(SessionError::CsrfLayerMissing)?;
        let sessions = Sessions::from_extensions(&parts.extensions)?;
        let token = issue(&settings, &sessions).await?;
        Ok(CsrfToken {
            token,
            settings,
            sessions,
        })
    }

    /// The masked token (87 characters of `A-Z a-z 0-9 - _`: no HTML or header escaping
    /// needed).
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The form field the layer reads the token from (`csrf_token` unless configured).
    pub fn field_name(&self) -> &str {
        &self.settings.field
    }

    /// The request header the layer reads the token from (`x-csrf-token` unless configured).
    pub fn header_name(&self) -> &str {
        self.settings.header.as_str()
    }

    /// `<input type="hidden" name="csrf_token" value="...">`, for a form.
    pub fn hidden_input(&self) -> String {
        format!(
            r#"<input type="hidden" name="{}" value="{}">"#,
            self.settings.field, self.token
        )
    }

    /// Derives the token again, for a response that follows a change the handler made to the
    /// bound session in this request (a login that renders its page instead of redirecting):
    /// a token taken before the change is the old session's and will be refused.
    pub async fn refresh(&mut self) -> Result<(), SessionError> {
        self.token = issue(&self.settings, &self.sessions).await?;
        Ok(())
    }

    /// Gives this browser a new CSRF cookie, which ends every token issued before, and
    /// derives the token for it. Call it at a login when no session is
    /// [bound](super::CsrfConfig::bind) (or the login session travels by value), so that the
    /// tokens of the visitor before the login die with it.
    pub async fn rotate(&mut self) -> Result<(), SessionError> {
        self.sessions.set(CsrfSecret::generate())?;
        self.refresh().await
    }
}

impl fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token)
    }
}

/// A new masked token for the browser's secret (created and set if it has none) and the
/// bound session as the handler sees it now.
async fn issue(settings: &Settings, sessions: &Sessions) -> Result<String, SessionError> {
    let secret = match sessions.get::<CsrfSecret>().await? {
        Some(secret) => secret,
        None => {
            let secret = CsrfSecret::generate();
            sessions.set(secret.clone())?;
            secret
        }
    };
    let session = settings.session_id(sessions, Read::Current).await?;
    Ok(settings.tokens.issue(&secret, session.as_ref()))
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        CsrfToken::from_parts(parts).await
    }
}
