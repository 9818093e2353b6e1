//! Where new ids come from: the default generator, or the application's own
//! ([`SessionBuilder::identity`](crate::config::SessionBuilder::identity), Ktor's
//! `identity { call -> ... }`), which sees the request.

use std::fmt;
use std::sync::Arc;

use super::SessionId;
use crate::error::SessionError;

/// What a custom id generator ([`SessionBuilder::identity`](crate::config::SessionBuilder::identity))
/// sees of the request.
///
/// `Debug` names the method and path only: headers may carry credentials and session values.
#[derive(Clone)]
pub struct RequestInfo {
    /// The request method.
    pub method: http::Method,
    /// The request URI.
    pub uri: http::Uri,
    /// The request headers.
    pub headers: http::HeaderMap,
}

impl RequestInfo {
    /// The information of `request` (its method, URI and headers; not its body).
    pub fn of<B>(request: &http::Request<B>) -> RequestInfo {
        RequestInfo {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
        }
    }
}

impl fmt::Debug for RequestInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestInfo")
            .field("method", &self.method)
            .field("path", &self.uri.path())
            .field("headers", &self.headers.len())
            .finish_non_exhaustive()
    }
}

/// A custom id generator.
pub(crate) type IdentityFn = Arc<dyn Fn(&RequestInfo) -> String + Send + Sync>;

/// How one session makes and recognises its ids.
#[derive(Clone, Default)]
pub(crate) struct IdGenerator {
    custom: Option<IdentityFn>,
}

impl IdGenerator {
    /// The application's generator (`None`: the default one).
    pub(crate) fn new(custom: Option<IdentityFn>) -> IdGenerator {
        IdGenerator { custom }
    }

    /// Whether new ids need the request's information.
    pub(crate) fn needs_request(&self) -> bool {
        self.custom.is_some()
    }

    /// Whether a collision can be resolved by drawing another id (random ids can; an
    /// application's ids are what they are).
    pub(crate) fn can_redraw(&self) -> bool {
        self.custom.is_none()
    }

    /// Parses an id that came from a client, with the rule that fits this generator.
    pub(crate) fn parse(&self, text: &str) -> Option<SessionId> {
        if self.custom.is_some() {
            SessionId::parse_custom(text)
        } else {
            SessionId::parse(text)
        }
    }

    /// A new id for session `name`, validated, starting with `prefix` when the storage wants
    /// one (see [`principal_id_prefix`](crate::storage::SessionStorage::principal_id_prefix)).
    pub(crate) fn generate(
        &self,
        name: &str,
        request: Option<&RequestInfo>,
        prefix: Option<&str>,
    ) -> Result<SessionId, SessionError> {
        let (Some(identity), Some(request)) = (&self.custom, request) else {
            return Ok(SessionId::generate_with_prefix(prefix));
        };
        let text = identity(request);
        let id = SessionId::parse_custom(&text).ok_or_else(|| {
            tracing::warn!(session = %name, "the custom id generator produced an invalid id");
            SessionError::InvalidCustomId {
                name: name.to_owned(),
            }
        })?;
        match prefix {
            Some(prefix) if !id.as_str().starts_with(prefix) => {
                Err(SessionError::CustomIdWithoutPrefix {
                    name: name.to_owned(),
                })
            }
            _ => Ok(id),
        }
    }
}

impl fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.custom.is_some() {
            "custom"
        } else {
            "random"
        })
    }
}
