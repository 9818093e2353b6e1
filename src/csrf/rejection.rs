//! Why a request was refused ([`CsrfRejection`]) and what the client gets ([`Refusal`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type RefusalFn = Arc<dyn Fn(RefusalContext) -> BoxFuture<Response> + Send + Sync>;

/// Why the CSRF layer refused a request. Each is a `403 Forbidden`; none changes a session.
///
/// [`as_str`](Self::as_str) gives a stable name for logs and metrics; `Display` a sentence.
/// The refusal response carries the rejection in its extensions, so a middleware around the
/// layer can log or count it.
///
/// ```
/// use typed_sessions::csrf::CsrfRejection;
///
/// let rejection = CsrfRejection::CrossSite;
/// assert_eq!(rejection.as_str(), "cross_site");
/// assert_eq!(rejection.status(), 403);
/// assert_eq!(rejection.to_string(), "a cross-site request (Sec-Fetch-Site: cross-site)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// The browser says the request comes from another site (`Sec-Fetch-Site: cross-site`),
    /// and its `Origin` is not trusted.
    #[error("a cross-site request (Sec-Fetch-Site: cross-site)")]
    CrossSite,
    /// The browser says the request comes from another origin of the same site
    /// (`Sec-Fetch-Site: same-site`, a sibling subdomain), which is not allowed.
    #[error("a request from another origin of this site (Sec-Fetch-Site: same-site)")]
    SameSite,
    /// `Sec-Fetch-Site` holds a value the Fetch Metadata specification does not define.
    #[error("an unknown Sec-Fetch-Site value")]
    UnknownFetchSite,
    /// The `Origin` header names an origin that is neither the request's own host nor a
    /// trusted one (or it is `null`).
    #[error("a request from a foreign origin (Origin header)")]
    ForeignOrigin,
    /// The request carries no token: neither the form field nor the header.
    #[error("no CSRF token in the form field or the header")]
    MissingToken,
    /// The token is not one this library writes (wrong length, not base64url, wrong version).
    #[error("a malformed CSRF token")]
    MalformedToken,
    /// The request carries no valid CSRF cookie (the browser refuses cookies, the cookie was
    /// removed, or it was written under a key that has left the ring).
    #[error("no CSRF cookie")]
    MissingCookie,
    /// The token was issued to another browser or another session: a token of someone else,
    /// of the session before a login or a regeneration, or a forged one.
    #[error("a CSRF token of another browser or session")]
    WrongToken,
    /// The form body is larger than the layer reads, and no header carries the token.
    #[error("the form is larger than the CSRF layer reads")]
    FormTooLarge,
    /// The request body could not be read (the client went away, say).
    #[error("the request body could not be read")]
    UnreadableBody,
}

impl CsrfRejection {
    /// A stable name for logs and metrics (`cross_site`, `wrong_token`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CsrfRejection::CrossSite => "cross_site",
            CsrfRejection::SameSite => "same_site",
            CsrfRejection::UnknownFetchSite => "unknown_fetch_site",
            CsrfRejection::ForeignOrigin => "foreign_origin",
            CsrfRejection::MissingToken => "missing_token",
            CsrfRejection::MalformedToken => "malformed_token",
            CsrfRejection::MissingCookie => "missing_cookie",
            CsrfRejection::WrongToken => "wrong_token",
            CsrfRejection::FormTooLarge => "form_too_large",
            CsrfRejection::UnreadableBody => "unreadable_body",
        }
    }

    /// The status of the default response: always `403 Forbidden`.
    pub fn status(self) -> StatusCode {
        StatusCode::FORBIDDEN
    }
}

/// `403 Forbidden` with a one-line text body that names the reason (the client's own request
/// is all it describes), `Cache-Control: no-store`, and the rejection in the response
/// extensions.
impl IntoResponse for CsrfRejection {
    fn into_response(self) -> Response {
        let body = format!("Forbidden: {self}.\n");
        let mut response = (self.status(), body).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// What the refused request looked like, for a custom [`Refusal`].
#[derive(Debug)]
pub struct RefusalContext {
    /// Why it was refused.
    pub rejection: CsrfRejection,
    /// The request's method, URI, headers and extensions (the body is not kept).
    pub request: Parts,
}

/// What the CSRF layer answers to a refused request: [`CsrfRejection`]'s own `403` by
/// default, or a response of yours (an HTML page that says "this form has expired, please
/// reload", say).
///
/// Whatever the response, the layer adds `Cache-Control: no-store` if it has none and puts the
/// [`CsrfRejection`] into its extensions. A custom response should not change sessions: the
/// refused request may be an attacker's.
#[derive(Clone, Default)]
pub enum Refusal {
    /// The rejection's own response: `403` with a one-line reason.
    #[default]
    Forbidden,
    /// A function of yours.
    Custom(RefusalFn),
}

impl Refusal {
    /// A refusal computed by `respond` from the refused request.
    ///
    /// ```
    /// use axum::response::{Html, IntoResponse};
    /// use typed_sessions::csrf::Refusal;
    ///
    /// let refusal = Refusal::custom(|ctx| async move {
    ///     tracing::info!(reason = ctx.rejection.as_str(), path = %ctx.request.uri.path(), "CSRF refusal");
    ///     (http::StatusCode::FORBIDDEN, Html("<h1>This form has expired</h1><p>Reload the page and try again.</p>"))
    ///         .into_response()
    /// });
    /// ```
    pub fn custom<F, Fut>(respond: F) -> Refusal
    where
        F: Fn(RefusalContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        Refusal::Custom(Arc::new(move |ctx| Box::pin(respond(ctx))))
    }

    pub(crate) async fn respond(&self, rejection: CsrfRejection, request: Parts) -> Response {
        let mut response = match self {
            Refusal::Forbidden => rejection.into_response(),
            Refusal::Custom(respond) => respond(RefusalContext { rejection, request }).await,
        };
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        response.extensions_mut().insert(rejection);
        response
    }
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Forbidden => f.write_str("Forbidden"),
            Refusal::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}
