//! [`CsrfLayer`]: the built protection, shared by every request it serves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use http::HeaderName;
use tower_layer::Layer;

use super::origin::OriginPolicy;
use super::rejection::Refusal;
use super::service::CsrfService;
use super::token::TokenKeys;
use crate::error::SessionError;
use crate::id::SessionId;
use crate::sessions::Sessions;
use crate::transform::KeyRing;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How the id of the bound session is read: `peek` before the handler (the check, which must
/// leave no trace), or as the handler sees it (a token for the response, which follows a
/// login or a regeneration the handler made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    Peek,
    Current,
}

/// Reads the bound session's id.
pub(crate) type BoundId = fn(Sessions, Read) -> BoxFuture<Result<Option<SessionId>, SessionError>>;

/// The [`BoundId`] of session type `T`.
pub(crate) fn bound_id<T: Send + Sync + 'static>(
    sessions: Sessions,
    read: Read,
) -> BoxFuture<Result<Option<SessionId>, SessionError>> {
    Box::pin(async move {
        match read {
            Read::Peek => sessions.peek_id::<T>().await,
            Read::Current => sessions.id::<T>().await,
        }
    })
}

/// Everything a request of the layer needs, built once.
pub(crate) struct Settings {
    pub(crate) keys: KeyRing,
    pub(crate) tokens: TokenKeys,
    pub(crate) bound: Option<BoundId>,
    /// Exempt path prefixes, without a trailing `/`.
    pub(crate) exempt: Vec<String>,
    pub(crate) origins: OriginPolicy,
    pub(crate) exempt_header_sessions: bool,
    pub(crate) field: Arc<str>,
    pub(crate) header: HeaderName,
    pub(crate) form_limit: usize,
    pub(crate) refusal: Refusal,
}

impl Settings {
    /// Whether `path` is an exempt prefix or lies below one.
    pub(crate) fn is_exempt(&self, path: &str) -> bool {
        self.exempt.iter().any(|prefix| {
            path.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// The id of the bound session, if one is bound and the request has it.
    pub(crate) async fn session_id(
        &self,
        sessions: &Sessions,
        read: Read,
    ) -> Result<Option<SessionId>, SessionError> {
        match self.bound {
            Some(bound) => bound(sessions.clone(), read).await,
            None => Ok(None),
        }
    }
}

/// The CSRF protection as a tower layer, built by [`CsrfConfig::build`](super::CsrfConfig::build).
///
/// Add it inside the [sessions layer](crate::SessionsLayer) (axum applies the last `.layer`
/// first, so `.layer(csrf).layer(sessions)`), whose configuration registers the CSRF cookie
/// with [`SessionsConfig::csrf`](crate::SessionsConfig::csrf). Cloning is cheap.
#[derive(Clone)]
pub struct CsrfLayer {
    settings: Arc<Settings>,
}

impl fmt::Debug for CsrfLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfLayer")
            .field("exempt", &self.settings.exempt)
            .field("origins", &self.settings.origins)
            .field("field", &self.settings.field)
            .field("header", &self.settings.header)
            .finish_non_exhaustive()
    }
}

impl CsrfLayer {
    pub(crate) fn new(settings: Arc<Settings>) -> CsrfLayer {
        CsrfLayer { settings }
    }

    /// The key ring the tokens and the CSRF cookie are protected with.
    pub(crate) fn keys(&self) -> &KeyRing {
        &self.settings.keys
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService::new(inner, Arc::clone(&self.settings))
    }
}

/// The layer's settings in the request extensions, where [`CsrfToken`](super::CsrfToken)
/// finds them.
#[derive(Clone)]
pub(crate) struct InRequest(pub(crate) Arc<Settings>);
