//! The API: a session carried in a **header** (`x-api-session`), not a cookie, for clients
//! that are not browsers.
//!
//! `POST /api/token` with the user's credentials starts an API session and answers with its
//! id (signed) in the `x-api-session` response header; the client sends that header back with
//! each request. The session is kept by id in the shared storage, with its own cart, filed
//! under its user in the principal index: the Account page lists a user's API tokens beside
//! the browsers and ends them, and a password change ends them all. A request without a valid
//! header gets a JSON `401` from a custom [`Challenge`].
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

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Json, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use typed_sessions::auth::{Authenticated, Challenge};
use typed_sessions::storage::Principals;
use typed_sessions::{SessionError, Sessions, SessionsConfig, Sign};

use super::setup::Setup;
use super::shop::{MAX_ITEMS, PRODUCTS, summary};
use super::users::{self, Owned, Users};
use super::{AppState, DemoError};

/// The header the API session travels in.
pub const HEADER: &str = "x-api-session";

/// The API session: whose it is, and its cart.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiSession {
    /// The user (the session's principal).
    pub user: String,
    /// The user's credential version when the token was made (see `users`).
    pub credentials: u64,
    /// Product ids, one per item.
    pub items: Vec<u32>,
}

impl Owned for ApiSession {
    fn user(&self) -> &str {
        &self.user
    }
    fn credentials(&self) -> u64 {
        self.credentials
    }
}

/// Registers `x-api-session`: by id in the shared storage, the id signed; an hour at most,
/// 15 minutes without a request.
pub fn register(config: SessionsConfig, setup: &Setup) -> SessionsConfig {
    config.header_with_storage::<ApiSession, _>(HEADER, setup.storage.clone(), |h| {
        h.principal(users::principal::<ApiSession>)
            .lifetime(Duration::from_secs(3600))
            .idle_timeout(Duration::from_secs(15 * 60))
            .transform(Sign::new(setup.key.clone()))
    })
}

/// The API tokens of every user, outside a request's session (the Account page lists and ends
/// them from a browser session).
pub fn tokens(app: &AppState) -> Principals {
    Principals::new(app.storage.clone(), HEADER)
}

/// `POST/DELETE /api/token`, `GET/POST /api/cart` (API session required).
pub fn routes(users: &Arc<Users>) -> Router<AppState> {
    let challenge = Challenge::custom(|_| async {
        error(
            StatusCode::UNAUTHORIZED,
            "no valid x-api-session header: get one from POST /api/token",
        )
    });
    let guard = users::require::<ApiSession>(users, challenge);
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
    let Some(login) = app
        .users
        .check(&credentials.username, &credentials.password)
    else {
        return Ok(error(StatusCode::UNAUTHORIZED, "Credentials are not valid"));
    };
    let session = ApiSession {
        user: login.user.to_owned(),
        credentials: login.credentials,
        items: Vec::new(),
    };
    // A new id (a token that came with the request ends), filed under the user.
    sessions.login(session).await?;
    let body = json!({ "user": login.user, "header": HEADER, "expires_in": 3600 });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Ends the API session the request's header names.
async fn revoke(sessions: Sessions) -> Result<Response, DemoError> {
    sessions.clear::<ApiSession>()?;
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
