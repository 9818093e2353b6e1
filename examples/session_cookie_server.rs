//! Ktor's documentation example `session-cookie-server`, ported: the cart lives in server
//! memory, and the cookie carries only its id, signed in Ktor's format (`<id>/<hmac>`).
//!
//! ```text
//! cargo run --example session_cookie_server          # PORT=8080 by default
//! curl -c jar -b jar -L http://127.0.0.1:8080/login  # Product IDs: [1, 3, 7]
//! curl -c jar -b jar -L http://127.0.0.1:8080/logout # Your basket is empty.
//! ```
//!
//! It mirrors Ktor: Ktor's cookie defaults (no `Secure`, so it works over plain http) and
//! Ktor's signing format. The key comes from `KTOR_SIGN_KEY` (hex, as Ktor's `hex("...")`), so
//! a Ktor service with the same key reads these cookies; without it a random key is made at
//! startup. For a new application sign the id with `typed_sessions::transform::Sign` and a
//! 32-byte key.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use typed_sessions::storage::MemoryStorage;
use typed_sessions::transform::KtorSign;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

/// The session, with Ktor's JSON field names.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CartSession {
    /// The user.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The products in the cart.
    #[serde(rename = "productIDs")]
    pub product_ids: Vec<i32>,
}

/// The signing key: `KTOR_SIGN_KEY` (hex; a Ktor service's key may be shorter than 16 bytes,
/// which is taken here on purpose), or 32 random bytes.
pub fn sign_key_from_env() -> Result<KtorSign, Box<dyn std::error::Error>> {
    Ok(match std::env::var("KTOR_SIGN_KEY") {
        Ok(hex) => KtorSign::from_hex_allowing_short_key(&hex)?,
        Err(_) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)?;
            KtorSign::new(key)?
        }
    })
}

/// The application: `/login`, `/cart`, `/logout`, with its session ids signed with `sign`.
pub fn app(sign: KtorSign) -> Router {
    let sessions = SessionsConfig::new()
        .cookie_with_storage::<CartSession, _>("cart_session", MemoryStorage::new(), |c| {
            c.ktor_defaults().path("/").transform(sign)
        })
        .build()
        .expect("the example's configuration is valid");
    Router::new()
        .route("/login", get(login))
        .route("/cart", get(cart))
        .route("/logout", get(logout))
        .layer(sessions)
}

/// Ktor's `respondRedirect`: `302 Found`.
fn redirect(to: &'static str) -> impl IntoResponse {
    (StatusCode::FOUND, [(header::LOCATION, to)])
}

async fn login(sessions: Sessions) -> Result<impl IntoResponse, SessionError> {
    sessions.set(CartSession {
        user_id: "123".into(),
        product_ids: vec![1, 3, 7],
    })?;
    Ok(redirect("/cart"))
}

async fn cart(sessions: Sessions) -> Result<String, SessionError> {
    Ok(match sessions.get::<CartSession>().await? {
        // Kotlin prints a list as `[1, 3, 7]`.
        Some(cart) => format!(
            "Product IDs: [{}]",
            cart.product_ids
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "Your basket is empty.".into(),
    })
}

async fn logout(sessions: Sessions) -> Result<impl IntoResponse, SessionError> {
    sessions.clear::<CartSession>()?;
    Ok(redirect("/cart"))
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(sign_key_from_env()?)).await?;
    Ok(())
}
