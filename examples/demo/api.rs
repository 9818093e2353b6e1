//! The API: a session carried in a **header** (`x-api-session`), not a cookie, for clients
//! that are not browsers.
//!
//! `POST /api/token` with the user's credentials starts an API session and answers with its
//! id (signed) in the `x-api-session` response header; the client sends that header back with
//! each request. The session is kept by id in the shared storage, with its own cart. A request
//! without a valid header gets a JSON `401` from a custom [`Challenge`].
//!
//! The CSRF protection (see `forms`) lets the API through: `POST /api/token` is exempt (it
//! reads JSON only, which a form on another site cannot send), and the other calls carry a
//! header session and no cookie session, which marks them as an API client's.
//!
//! ```text
//! curl -si -H 'content-type: application/json' -d '{"username":"alice","password":"wonderland"}' \
//!      http://127.0.0.1:8080/api/token                    # note the x-api-session header
//! curl -s -H 'x-api-session: <value>' http://127.0.0.1:8080/api/cart
//! curl -s -H 'x-api-session: <value>' -H 'content-type: application/json' -d '{"product":2}' \
//!      http://127.0.0.1:8080/api/cart
//! curl -si -X DELETE -H 'x-api-session: <value>' http://127.0.0.1:8080/api/token
//! ```

use std::time::Duration;

use axum::Router;
use axum::extract::{Json, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use typed_sessions::auth::{Authenticated, Challenge, SessionAuth};
use typed_sessions::{SessionError, Sessions, SessionsConfig, Sign};

use super::auth;
use super::logins::{self, Kind, Owned};
use super::setup::Setup;
use super::shop::{MAX_ITEMS, PRODUCTS, summary};
use super::{AppState, DemoError};

/// The header the API session travels in.
pub const HEADER: &str = "x-api-session";

/// The API session: whose it is, and its cart.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiSession {
    /// The user.
    pub user: String,
    /// Product ids, one per item.
    pub items: Vec<u32>,
}

impl Owned for ApiSession {
    const KIND: Kind = Kind::Api;
    fn user(&self) -> &str {
        &self.user
    }
}

/// Registers `x-api-session`: by id in the shared storage, the id signed; an hour at most,
/// 15 minutes without a request.
pub fn register(config: SessionsConfig, setup: &Setup) -> SessionsConfig {
    config.header_with_storage::<ApiSession, _>(HEADER, setup.storage.clone(), |h| {
        h.lifetime(Duration::from_secs(3600))
            .idle_timeout(Duration::from_secs(15 * 60))
            .transform(Sign::new(setup.key.clone()))
    })
}

/// `POST/DELETE /api/token`, `GET/POST /api/cart` (API session required).
pub fn routes() -> Router<AppState> {
    let guard = SessionAuth::<ApiSession>::new()
        .validate(
            |session: ApiSession| async move { auth::is_user(&session.user).then_some(session) },
        )
        .challenge(Challenge::custom(|_| async {
            error(
                StatusCode::UNAUTHORIZED,
                "no valid x-api-session header: get one from POST /api/token",
            )
        }));
    Router::new()
        .route("/api/cart", get(cart).post(add))
        .route_layer(guard)
        .route("/api/token", post(token).delete(revoke))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// Starts an API session; its signed id leaves in the `x-api-session` response header.
async fn token(
    State(app): State<AppState>,
    sessions: Sessions,
    Json(credentials): Json<Credentials>,
) -> Result<Response, DemoError> {
    let Some(user) = auth::check(&credentials.username, &credentials.password) else {
        return Ok(error(StatusCode::UNAUTHORIZED, "Credentials are not valid"));
    };
    let session = ApiSession {
        user: user.to_owned(),
        items: Vec::new(),
    };
    logins::start(&app, &sessions, session).await?;
    let body = json!({ "user": user, "header": HEADER, "expires_in": 3600 });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Ends the API session the request's header names.
async fn revoke(State(app): State<AppState>, sessions: Sessions) -> Result<Response, DemoError> {
    logins::end::<ApiSession>(&app, &sessions).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn cart_json(session: &ApiSession) -> Response {
    let (lines, total) = summary(&session.items);
    let items: Vec<_> = lines
        .iter()
        .map(|(p, n)| json!({ "product": p.id, "name": p.name, "count": n, "cents": p.cents }))
        .collect();
    Json(json!({ "user": session.user, "items": items, "total_cents": total })).into_response()
}

async fn cart(Authenticated(session): Authenticated<ApiSession>) -> Response {
    cart_json(&session)
}

#[derive(Deserialize)]
struct Add {
    product: u32,
}

async fn add(
    sessions: Sessions,
    Authenticated(mut session): Authenticated<ApiSession>,
    Json(add): Json<Add>,
) -> Result<Response, SessionError> {
    if !PRODUCTS.iter().any(|p| p.id == add.product) {
        return Ok(error(StatusCode::NOT_FOUND, "no such product"));
    }
    if session.items.len() >= MAX_ITEMS {
        return Ok(error(StatusCode::CONFLICT, "the cart is full"));
    }
    session.items.push(add.product);
    sessions.set(session.clone())?;
    Ok(cart_json(&session))
}
