//! axum integration: [`Sessions`] as an extractor (rejected with [`MissingSessionsLayer`]),
//! [`SessionError`] and [`MissingSessionsLayer`] as responses.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::error::{MissingSessionsLayer, SessionError};
use crate::sessions::Sessions;

impl<S: Send + Sync> FromRequestParts<S> for Sessions {
    type Rejection = MissingSessionsLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Sessions::from_extensions(&parts.extensions)
    }
}

/// `503 Service Unavailable` for storage failures, `500` for everything else, each with a
/// generic body and `Cache-Control: no-store`. The detail goes to `tracing`, not to the client.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let cause = std::error::Error::source(&self).map(ToString::to_string);
        match self.status() {
            http::StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = %self, cause, "session storage unavailable");
            }
            _ => tracing::error!(error = %self, cause, "session error"),
        }
        let mut response = (self.status(), self.public_message()).into_response();
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
    }
}

/// The response of [`SessionError::LayerMissing`]: `500` with a generic body.
impl IntoResponse for MissingSessionsLayer {
    fn into_response(self) -> Response {
        SessionError::from(self).into_response()
    }
}
