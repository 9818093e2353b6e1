//! axum-extra's signed and private cookie jars: no session layer, the handler keeps the session
//! as JSON in its own cookie (`counter`, `large`), with the cookie attributes this library uses
//! by default (`Path=/`, `Max-Age` 7 days, `Secure`, `HttpOnly`, `SameSite=Lax`).

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite, SignedCookieJar};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::{
    COUNTER_NAME, COUNTER_PATH, KEY, LARGE_NAME, LARGE_PATH, Large, UNTOUCHED_BODY, UNTOUCHED_PATH,
    next_counter, next_large,
};

type Failure = (StatusCode, String);

fn internal(error: impl std::fmt::Display) -> Failure {
    (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

fn cookie(name: &'static str, value: &impl Serialize) -> Result<Cookie<'static>, Failure> {
    let value = serde_json::to_string(value).map_err(internal)?;
    Ok(Cookie::build((name, value))
        .path("/")
        .max_age(cookie::time::Duration::days(7))
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build())
}

fn read<T: DeserializeOwned>(cookie: Option<Cookie<'static>>) -> Option<T> {
    serde_json::from_str(cookie?.value()).ok()
}

/// The handlers and routes, once per jar type.
macro_rules! jar_routes {
    ($jar:ident) => {{
        async fn counter(jar: $jar) -> Result<($jar, String), Failure> {
            let next = next_counter(read(jar.get(COUNTER_NAME)));
            let jar = jar.add(cookie(COUNTER_NAME, &next)?);
            Ok((jar, next.count.to_string()))
        }

        async fn large(jar: $jar) -> Result<($jar, String), Failure> {
            let previous: Option<Large> = read(jar.get(LARGE_NAME));
            let next = next_large(previous).map_err(|_| internal("the 2 KiB string changed"))?;
            let jar = jar.add(cookie(LARGE_NAME, &next)?);
            Ok((jar, next.count.to_string()))
        }

        Router::new()
            .route(COUNTER_PATH, get(counter))
            .route(LARGE_PATH, get(large))
            .route(UNTOUCHED_PATH, get(|| async { UNTOUCHED_BODY }))
            .with_state(Key::from(&KEY))
    }};
}

/// `SignedCookieJar` (HMAC-SHA-256, value readable by the client).
pub fn signed_router() -> Router {
    jar_routes!(SignedCookieJar)
}

/// `PrivateCookieJar` (AES-256-GCM).
pub fn private_router() -> Router {
    jar_routes!(PrivateCookieJar)
}
