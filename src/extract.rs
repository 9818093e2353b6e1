//! axum integration: [`Sessions`] as an extractor, [`SessionError`] as a response.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::error::SessionError;
use crate::sessions::Sessions;

impl<S: Send + Sync> FromRequestParts<S> for Sessions {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Sessions::from_extensions(&parts.extensions)
    }
}

/// `503 Service Unavailable` for storage failures, `500` for everything else, each with a
/// generic body and `Cache-Control: no-store`. The detail goes to `tracing`, not to the client.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        match self.status() {
            http::StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = %self, "session storage unavailable");
            }
            _ => tracing::error!(error = %self, "session error"),
        }
        let mut response = (self.status(), self.public_message()).into_response();
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
    }
}
