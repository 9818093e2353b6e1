//! Typed flash messages: a value set by one request and shown once by a following one (the
//! page a form redirects to), then gone.
//!
//! A flash is a session like any other, of type [`Flash<T>`] for a `T` of yours (an enum of
//! your notices, say), so it keeps every property of the session machinery:
//!
//! * **set** with [`Sessions::set`]`(Flash(value))`: the value is serialized, encrypted and
//!   rendered at once, so one that is too large for a cookie fails right there with
//!   [`SessionError::TooLarge`], not as a cookie the browser drops;
//! * **read once** with the [`Flashed<T>`] extractor (or [`Flash::take`]): the value the
//!   previous request set, which this response then clears, so it survives exactly one
//!   redirect and is gone on reload;
//! * **carried** in its own encrypted cookie ([`SessionsConfig::flash`]), or server-side
//!   like any by-id session ([`SessionsConfig::cookie_with_storage`] with `Flash<T>`); either
//!   way it belongs to one browser and is never shown to another.
//!
//! The [`Flashed<T>`] extractor needs the `axum` feature (on by default):
//!
#![cfg_attr(feature = "axum", doc = "```")]
#![cfg_attr(not(feature = "axum"), doc = "```ignore")]
//! use axum::{Router, response::{Html, Redirect}, routing::{get, post}};
//! use typed_sessions::flash::{Flash, Flashed};
//! use typed_sessions::{Key, SessionError, Sessions, SessionsConfig};
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! enum Notice { Saved, Deleted { count: u32 } }
//!
//! async fn save(sessions: Sessions) -> Result<Redirect, SessionError> {
//!     sessions.set(Flash(Notice::Saved))?;
//!     Ok(Redirect::to("/"))
//! }
//!
//! async fn home(Flashed(notice): Flashed<Notice>) -> Html<String> {
//!     Html(match notice {
//!         Some(Notice::Saved) => "<p>Saved.</p>".into(),
//!         Some(Notice::Deleted { count }) => format!("<p>{count} deleted.</p>"),
//!         None => String::new(),
//!     })
//! }
//!
//! let sessions = SessionsConfig::new()
//!     .flash::<Notice>("notice", Key::generate(), |c| c)
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/", get(home))
//!     .route("/save", post(save))
//!     .layer(sessions);
//! # Ok::<(), typed_sessions::ConfigError>(())
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{SessionBuilder, SessionData, SessionsConfig, kind};
use crate::error::SessionError;
use crate::sessions::Sessions;
use crate::transform::{Encrypt, KeyRing};

/// How long a flash cookie lives: the flash is read by the request that follows the redirect,
/// so a few minutes cover any network.
pub const FLASH_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// A flash message: the session type of a flash of `T`. Set it with
/// [`Sessions::set`]`(Flash(value))`; read it once with [`Flashed<T>`] or [`Flash::take`].
///
/// It is serialized as `T` itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Flash<T>(pub T);

impl<T: Clone + Send + Sync + 'static> Flash<T> {
    /// The flash of type `T` that a previous request set, if any, cleared for the following
    /// requests (its cookie is removed, or its record deleted, when this response leaves).
    ///
    /// Fails like [`Sessions::get`]: if `Flash<T>` is not registered, or if the storage of a
    /// flash kept by id fails.
    pub async fn take(sessions: &Sessions) -> Result<Option<T>, SessionError> {
        let Some(Flash(value)) = sessions.get::<Flash<T>>().await? else {
            return Ok(None);
        };
        sessions.clear::<Flash<T>>()?;
        Ok(Some(value))
    }
}

/// The flash of type `T` a previous request set, taken by this one ([`Flash::take`]), as an
/// axum extractor: `None` when there is none.
///
/// Extracting it clears the flash, so put it on the handler that shows it (a page), not on
/// one that redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flashed<T>(pub Option<T>);

#[cfg(feature = "axum")]
impl<S, T> axum_core::extract::FromRequestParts<S> for Flashed<T>
where
    S: Send + Sync,
    T: Clone + Send + Sync + 'static,
{
    type Rejection = SessionError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let sessions = Sessions::from_extensions(&parts.extensions)?;
        Flash::<T>::take(&sessions).await.map(Flashed)
    }
}

impl SessionsConfig {
    /// Registers flash messages of type `T` ([`Flash<T>`]) in cookie `name`: by value,
    /// encrypted with `keys` (a [`Key`](crate::Key) or a [`KeyRing`]), valid for
    /// [`FLASH_LIFETIME`], with the library's cookie defaults. `configure` adjusts it like any
    /// cookie session (`secure(false)` for plain-http development).
    ///
    /// To keep flashes on the server instead, register `Flash<T>` with
    /// [`cookie_with_storage`](Self::cookie_with_storage); nothing else changes.
    pub fn flash<T: SessionData>(
        self,
        name: &str,
        keys: impl Into<KeyRing>,
        configure: impl FnOnce(
            SessionBuilder<Flash<T>, kind::CookieByValue>,
        ) -> SessionBuilder<Flash<T>, kind::CookieByValue>,
    ) -> Self {
        let keys = keys.into();
        self.cookie::<Flash<T>>(name, move |c| {
            configure(c.max_age(FLASH_LIFETIME).transform(Encrypt::new(keys)))
        })
    }
}
