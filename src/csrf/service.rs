//! [`CsrfService`]: the per-request check.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{Method, Request};
use tower_service::Service;

use super::form;
use super::layer::{BoxFuture, InRequest, Read, Settings};
use super::rejection::CsrfRejection;
use super::secret::CsrfSecret;
use crate::error::SessionError;
use crate::layer::take_ready;
use crate::sessions::Sessions;

/// The service [`CsrfLayer`](super::CsrfLayer) wraps around the protected routes.
#[derive(Clone)]
pub struct CsrfService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> CsrfService<S> {
    pub(crate) fn new(inner: S, settings: Arc<Settings>) -> CsrfService<S> {
        CsrfService { inner, settings }
    }
}

impl<S: fmt::Debug> fmt::Debug for CsrfService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Methods that must not change anything (RFC 9110 §9.2.1), never checked.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Why a checked request does not reach the handler.
enum Stop {
    /// Refused: the client's request is not acceptable.
    Refused(CsrfRejection),
    /// The sessions could not be read (no layer, an unregistered type, a storage outage).
    Session(SessionError),
}

impl From<CsrfRejection> for Stop {
    fn from(rejection: CsrfRejection) -> Stop {
        Stop::Refused(rejection)
    }
}

impl From<SessionError> for Stop {
    fn from(error: SessionError) -> Stop {
        Stop::Session(error)
    }
}

impl<S, B> Service<Request<B>> for CsrfService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    B: http_body::Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let settings = Arc::clone(&self.settings);
        request
            .extensions_mut()
            .insert(InRequest(Arc::clone(&settings)));
        Box::pin(async move {
            if is_safe(request.method()) || settings.is_exempt(request.uri().path()) {
                return inner.call(request).await;
            }
            match check(&settings, request).await {
                Ok(request) => inner.call(request).await,
                Err((Stop::Session(error), _)) => Ok(error.into_response()),
                Err((Stop::Refused(rejection), parts)) => {
                    tracing::info!(
                        reason = rejection.as_str(),
                        method = %parts.method,
                        path = %parts.uri.path(),
                        "CSRF protection refused the request"
                    );
                    Ok(settings.refusal.respond(rejection, parts).await)
                }
            }
        })
    }
}

/// Checks an unsafe request: where it comes from, then its token. Returns the request to hand
/// on (its body intact, re-assembled if the form was read), or why it stops, with the request's
/// head for the refusal.
async fn check<B>(
    settings: &Settings,
    request: Request<B>,
) -> Result<Request<B>, (Stop, http::request::Parts)>
where
    B: http_body::Body + From<Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let sessions = match Sessions::from_extensions(&parts.extensions) {
        Ok(sessions) => sessions,
        Err(error) => return Err((SessionError::from(error).into(), parts)),
    };
    if settings.exempt_header_sessions {
        let brought = sessions.brought(TypeId::of::<CsrfSecret>());
        if brought.header && !brought.cookie {
            return Ok(Request::from_parts(parts, body));
        }
    }
    if let Err(rejection) = settings.origins.check(&parts.headers, &parts.uri) {
        return Err((rejection.into(), parts));
    }
    let in_header = parts
        .headers
        .get(&settings.header)
        .map(|value| value.to_str().map(str::to_owned));
    let (token, body) = match in_header {
        Some(Ok(token)) => (token, body),
        Some(Err(_)) => return Err((CsrfRejection::MalformedToken.into(), parts)),
        None if form::is_urlencoded(&parts.headers) => {
            match form::read(&parts.headers, body, settings.form_limit).await {
                Ok(bytes) => match form::field(&bytes, &settings.field) {
                    Some(token) => (token.into_owned(), B::from(bytes)),
                    None => return Err((CsrfRejection::MissingToken.into(), parts)),
                },
                Err(rejection) => return Err((rejection.into(), parts)),
            }
        }
        None => return Err((CsrfRejection::MissingToken.into(), parts)),
    };
    match verify(settings, &sessions, &token).await {
        Ok(()) => Ok(Request::from_parts(parts, body)),
        Err(stop) => Err((stop, parts)),
    }
}

/// Whether `token` belongs to the browser's CSRF cookie and the bound session as the request
/// brought them (read without marking them used, so a refusal writes no session).
async fn verify(settings: &Settings, sessions: &Sessions, token: &str) -> Result<(), Stop> {
    let secret = match sessions.peek::<CsrfSecret>().await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(CsrfRejection::MissingCookie.into()),
        Err(SessionError::NotRegistered { type_name }) => {
            tracing::error!(
                "the CSRF cookie is not registered: add `.csrf(name, &csrf_layer, |c| c)` to the `SessionsConfig` whose layer wraps the CSRF layer"
            );
            return Err(SessionError::NotRegistered { type_name }.into());
        }
        Err(error) => return Err(error.into()),
    };
    let session = settings.session_id(sessions, Read::Peek).await?;
    settings.tokens.verify(token, &secret, session.as_ref())?;
    Ok(())
}
