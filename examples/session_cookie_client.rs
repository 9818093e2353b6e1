//! Ktor's documentation example `session-cookie-client`, ported: a by-value session in a
//! cookie, encrypted in Ktor's own format, so this server and the Ktor one can read each
//! other's cookies.
//!
//! ```text
//! cargo run --example session_cookie_client          # PORT=8080 by default
//! curl -c jar -b jar -L http://127.0.0.1:8080/login  # Session ID is 123abc. Reload count is 0.
//! curl -c jar -b jar http://127.0.0.1:8080/user      # ... Reload count is 1.
//! curl -c jar -b jar -L http://127.0.0.1:8080/logout # Session doesn't exist or is expired.
//! ```
//!
//! It mirrors Ktor: Ktor's cookie defaults (no `Secure`, so it works over plain http) and
//! Ktor's AES-CBC + HMAC format. The keys come from `KTOR_ENCRYPT_KEY` and `KTOR_SIGN_KEY`
//! (hex, as Ktor's `hex("...")`), so a Ktor service with the same keys reads these cookies;
//! without them random keys are made at startup. For a new application use
//! `typed_sessions::transform::Encrypt` with a 32-byte key instead: it authenticates the whole
//! value and carries an expiry.

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use typed_sessions::transform::KtorEncrypt;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

/// The session: who the user is and how many times `/user` was loaded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserSession {
    /// The session's id (`123abc` after `/login`).
    pub id: String,
    /// Reloads of `/user` since login.
    pub count: u32,
}

/// The keys: `KTOR_ENCRYPT_KEY` (16, 24 or 32 bytes) and `KTOR_SIGN_KEY` (hex; a Ktor service's
/// sign key may be shorter than 16 bytes, which is taken here on purpose), or random ones.
pub fn keys_from_env() -> Result<KtorEncrypt, Box<dyn std::error::Error>> {
    Ok(
        match (
            std::env::var("KTOR_ENCRYPT_KEY"),
            std::env::var("KTOR_SIGN_KEY"),
        ) {
            (Ok(encryption), Ok(sign)) => {
                KtorEncrypt::from_hex_allowing_short_sign_key(&encryption, &sign)?
            }
            _ => {
                let mut keys = [0u8; 64];
                getrandom::fill(&mut keys)?;
                let (encryption, sign) = keys.split_at(32);
                KtorEncrypt::new(encryption, sign)?
            }
        },
    )
}

/// The application: `/login`, `/user`, `/logout`, with its cookies encrypted by `encryption`.
pub fn app(encryption: KtorEncrypt) -> Router {
    let sessions = SessionsConfig::new()
        .cookie::<UserSession>("user_session", |c| {
            c.ktor_defaults()
                .path("/")
                .max_age(Duration::from_secs(10))
                .transform(encryption)
        })
        .build()
        .expect("the example's configuration is valid");
    Router::new()
        .route("/login", get(login))
        .route("/user", get(user))
        .route("/logout", get(logout))
        .layer(sessions)
}

/// Ktor's `respondRedirect`: `302 Found`.
fn redirect(to: &'static str) -> impl IntoResponse {
    (StatusCode::FOUND, [(header::LOCATION, to)])
}

async fn login(sessions: Sessions) -> Result<impl IntoResponse, SessionError> {
    sessions.set(UserSession {
        id: "123abc".into(),
        count: 0,
    })?;
    Ok(redirect("/user"))
}

async fn user(sessions: Sessions) -> Result<String, SessionError> {
    match sessions.get::<UserSession>().await? {
        Some(session) => {
            sessions.set(UserSession {
                count: session.count + 1,
                ..session.clone()
            })?;
            Ok(format!(
                "Session ID is {}. Reload count is {}.",
                session.id, session.count
            ))
        }
        None => Ok("Session doesn't exist or is expired.".into()),
    }
}

async fn logout(sessions: Sessions) -> Result<impl IntoResponse, SessionError> {
    sessions.clear::<UserSession>()?;
    Ok(redirect("/user"))
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
    axum::serve(listener, app(keys_from_env()?)).await?;
    Ok(())
}
