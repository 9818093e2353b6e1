//! CSRF protection bound to the session: a tower layer that refuses cross-site and
//! token-less unsafe requests, and an axum extractor, [`CsrfToken`], that gives each response
//! the token for its forms.
//!
//! A browser attaches cookies to requests that other sites make it send. `SameSite=Lax`
//! keeps a session cookie off a cross-site `POST`, but not off everything that matters: a
//! cross-site `POST` to a login form needs no cookie, and the `Set-Cookie` of its response is
//! stored, so a hostile page can log a visitor into the attacker's account (login CSRF); a
//! sibling subdomain counts as the same site; and older browsers send `Lax` cookies anyway.
//! `SECURITY.md` ("CSRF") has the whole story. This layer closes those holes for every unsafe
//! request.
//!
//! ```
//! use axum::{Form, Router, response::Html, routing::get};
//! use typed_sessions::csrf::{CsrfConfig, CsrfToken};
//! use typed_sessions::storage::MemoryStorage;
//! use typed_sessions::{Key, Sessions, SessionsConfig, Sign};
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct UserSession { name: String }
//!
//! async fn form(token: CsrfToken) -> Html<String> {
//!     Html(format!(r#"<form method="post">{}<input name="name"><button>Save</button></form>"#,
//!                  token.hidden_input()))
//! }
//!
//! async fn save(sessions: Sessions, Form(form): Form<std::collections::HashMap<String, String>>)
//!     -> &'static str { "saved" }      // only reached with a valid token
//!
//! let key = Key::generate();
//! let csrf = CsrfConfig::new(key.clone()).bind::<UserSession>().build()?;
//! let sessions = SessionsConfig::new()
//!     .cookie_with_storage::<UserSession, _>("user", MemoryStorage::new(), |c| c.transform(Sign::new(key.clone())))
//!     .csrf("csrf", &csrf, |c| c)
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/profile", get(form).post(save))
//!     .layer(csrf)                 // inside the sessions layer: it reads the sessions
//!     .layer(sessions);
//! # Ok::<(), typed_sessions::ConfigError>(())
//! ```
//!
//! # What is checked
//!
//! Safe methods (`GET`, `HEAD`, `OPTIONS`, `TRACE`) are never checked: they must not change
//! anything. Every other request, in this order:
//!
//! 1. **Exempt?** A path under an [exempt prefix](CsrfConfig::exempt) (webhooks) passes; so
//!    does, when [turned on](CsrfConfig::exempt_header_sessions), a request that carries a
//!    header session and no cookie session (an API client: browsers never add such a header
//!    to a cross-site request).
//! 2. **Where from?** `Sec-Fetch-Site: cross-site` is refused, and so is `same-site` (another
//!    origin of the site) unless [allowed](CsrfConfig::allow_same_site); `same-origin` and
//!    `none` pass. Without Fetch Metadata (older browsers), an `Origin` header, when present,
//!    must be the request's own `Host` or a [trusted origin](CsrfConfig::trust_origin). A
//!    cross-site request is refused here, before any token is looked at.
//! 3. **The token**, from the [header](CsrfConfig::header_name) (`x-csrf-token`), else from
//!    the [form field](CsrfConfig::field_name) (`csrf_token`) of an
//!    `application/x-www-form-urlencoded` body: the layer reads at most
//!    [the form limit](CsrfConfig::form_limit) of it and hands the same bytes on to the
//!    handler. Multipart forms are not read: send their token in the header (a line of
//!    script), or protect those routes yourself.
//! 4. **Whose token?** It must be the token of this browser's CSRF cookie and of the bound
//!    session as the request brought it; the comparison is constant-time.
//!
//! A refusal is a `403` with a [`CsrfRejection`] that says why (see [`Refusal`] for a page of
//! your own); it is logged at `info` with the reason, never a 5xx for anything a client
//! sends, and it never writes a session: the check reads the sessions without marking them
//! used, so the response carries no `Set-Cookie`.
//!
//! # The token
//!
//! A synchronizer token that needs no server-side state for visitors who are not logged in:
//!
//! ```text
//! k       = HKDF-SHA-256(master key, info = "typed-sessions/v1/csrf/token/hmac-sha256")
//! secret  = 32 random bytes per browser, in the CSRF cookie
//! id      = the bound by-id session's id, or empty when the request has none
//! binding = HMAC-SHA-256(k, secret | u32be(len(id)) | id)
//! token   = base64url(0x01 | pad | pad XOR binding)        pad: 32 fresh random bytes
//! ```
//!
//! * **Bound to the session.** The binding covers the session id, so a token is valid for one
//!   browser and one session. A login that starts a new session (`clear` then `set`, or
//!   [`regenerate`](crate::Sessions::regenerate)) changes the id, and every token issued
//!   before it, including the anonymous one of the login form, is refused after it. A logout
//!   ends them too.
//! * **No session per anonymous visitor.** Before the login there is only the CSRF cookie: a
//!   by-value session registered with [`SessionsConfig::csrf`](crate::SessionsConfig::csrf),
//!   encrypted, written once per browser by the first response that carries a token. No
//!   storage is touched.
//! * **Masked for every response** (a one-time pad, as Rails and Django do against BREACH):
//!   each [`CsrfToken`] is a different string, and the binding itself never appears in a
//!   response, so a compression side channel on the page learns nothing that stays valid.
//! * **Keys.** `k` is derived from each key of the layer's [`KeyRing`](crate::KeyRing) for
//!   this purpose alone: a token is never a valid MAC of the signed or encrypted formats, and
//!   tokens issued under a previous key of the ring still verify during a rotation. Without
//!   `k`, knowing the secret (or the cookie) does not give a token.
//! * **The cookie** holds no authority: it only makes the binding differ between browsers. A
//!   site that must resist cookie planting by a sibling subdomain names it with the `__Host-`
//!   prefix.

mod config;
mod extract;
mod form;
mod layer;
mod origin;
mod register;
mod rejection;
mod secret;
mod service;
pub(crate) mod token;

pub use config::{CsrfConfig, DEFAULT_FIELD, DEFAULT_HEADER};
pub use extract::CsrfToken;
pub use form::DEFAULT_FORM_LIMIT;
pub use layer::CsrfLayer;
pub use register::CSRF_COOKIE_MAX_AGE;
pub use rejection::{CsrfRejection, Refusal, RefusalContext};
pub use secret::CsrfSecret;
pub use service::CsrfService;
pub use token::TOKEN_LEN;

#[cfg(feature = "fuzzing")]
pub(crate) use form::field as form_field;
#[cfg(feature = "fuzzing")]
pub(crate) use secret::SECRET_LEN;
