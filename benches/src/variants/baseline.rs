//! The baseline: the same routes on axum with no session layer.

use axum::Router;
use axum::routing::get;

use crate::app::{COUNTER_PATH, LARGE_PATH, UNTOUCHED_BODY, UNTOUCHED_PATH};

/// The baseline router: `/counter` and `/large` answer `1`, `/untouched` its constant.
pub fn router() -> Router {
    Router::new()
        .route(COUNTER_PATH, get(|| async { "1" }))
        .route(LARGE_PATH, get(|| async { "1" }))
        .route(UNTOUCHED_PATH, get(|| async { UNTOUCHED_BODY }))
}
