//! Ktor's documentation example `session-header-server`, ported.
//!
//! A shopping cart kept on the server in a directory storage (`build/.sessions`, relative to
//! the working directory); the client holds only the session id, signed with Ktor's HMAC
//! format, which travels in the `cart_session` response header and must be sent back in the
//! `cart_session` request header.
//!
//! ```text
//! export KTOR_SIGN_KEY=$(openssl rand -hex 32)     # or the key of a Ktor service
//! cargo run --example session_header_server
//! curl -i http://127.0.0.1:8080/login              # note the cart_session header
//! curl -H 'cart_session: <value>' http://127.0.0.1:8080/cart
//! curl -H 'cart_session: <value>' http://127.0.0.1:8080/logout
//! curl -H 'cart_session: <value>' http://127.0.0.1:8080/cart   # Your basket is empty.
//! ```
//!
//! Set `PORT` to listen elsewhere than 8080. `KTOR_SIGN_KEY` (hex, as Ktor's `hex("...")`) is
//! the key the ids are signed with: a Ktor service sharing the directory needs the same one.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use typed_sessions::storage::{DirectoryStorage, SessionStorage, spawn_sweeper};
use typed_sessions::transform::KtorSign;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

/// The cart, with Ktor's JSON field names (`{"userID":"123","productIDs":[1,3,7]}`), so a
/// Ktor server reading the same directory would understand it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartSession {
    /// The user the cart belongs to.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The products in the cart.
    #[serde(rename = "productIDs")]
    pub product_ids: Vec<i32>,
}

/// Where Ktor's example keeps its sessions, relative to the working directory.
pub const SESSIONS_DIR: &str = "build/.sessions";

/// The application, with its sessions kept in `storage` (a [`DirectoryStorage`] in `main`)
/// and their ids signed with `sign`.
pub fn app(storage: impl SessionStorage, sign: KtorSign) -> Router {
    let sessions = SessionsConfig::new()
        .header_with_storage::<CartSession, _>("cart_session", storage, |h| {
            // The id travels signed, as in Ktor's example: `<id>/<lowercase hex HMAC-SHA256>`.
            h.transform(sign)
        })
        .build()
        .unwrap_or_else(|error| panic!("the example's session configuration is valid: {error}"));
    Router::new()
        .route("/login", get(login))
        .route("/cart", get(cart))
        .route("/logout", get(logout))
        .layer(sessions)
}

async fn login(sessions: Sessions) -> Result<&'static str, SessionError> {
    sessions.set(CartSession {
        user_id: "123".into(),
        product_ids: vec![1, 3, 7],
    })?;
    Ok("Successful login")
}

async fn cart(sessions: Sessions) -> Result<String, SessionError> {
    Ok(match sessions.get::<CartSession>().await? {
        // Kotlin prints a list as `[1, 3, 7]`, as Rust's `Debug` does.
        Some(cart) => format!("Product IDs: {:?}", cart.product_ids),
        None => "Your basket is empty.".to_owned(),
    })
}

async fn logout(sessions: Sessions) -> Result<&'static str, SessionError> {
    sessions.clear::<CartSession>()?;
    Ok("Successful logout")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let storage = Arc::new(DirectoryStorage::open(SESSIONS_DIR)?);
    // Expired session files are removed once an hour (for as long as `storage` lives).
    let _sweeper = spawn_sweeper(&storage, Duration::from_secs(3600));
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 8080,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://{}", listener.local_addr()?);
    // The key of the Ktor service sharing the directory (hex; Ktor's may be under 16 bytes).
    let key = std::env::var("KTOR_SIGN_KEY").map_err(
        |_| "set KTOR_SIGN_KEY to a hex key, e.g. `export KTOR_SIGN_KEY=$(openssl rand -hex 32)`",
    )?;
    let sign = KtorSign::from_hex_allowing_short_key(&key)?;
    axum::serve(listener, app(Arc::clone(&storage), sign)).await?;
    Ok(())
}
