//! Session authentication: routes that require a session (Ktor's
//! `authenticate("auth-session") { session<T> { validate { ... }; challenge { ... } } }`).
//!
//! [`SessionAuth`] is a tower layer for the routes it protects. For each request it reads the
//! session of type `T`, runs an async `validate` that rejects it or turns it into a principal
//! `P`, and then either calls the handler, which receives the principal through the
//! [`Authenticated`] extractor, or answers with the [`Challenge`]: `401` with no body by default,
//! a redirect, or a function of yours. Public and protected routes sit in the same router: put
//! the layer on the protected ones with axum's `route_layer`.
//!
//! ```
//! use axum::{Router, routing::get};
//! use typed_sessions::auth::{Authenticated, Challenge, SessionAuth};
//! use typed_sessions::{Encrypt, Key, SessionsConfig};
//!
//! #[derive(Clone, serde::Serialize, serde::Deserialize)]
//! struct UserSession { name: String, count: u32 }
//!
//! async fn hello(Authenticated(user): Authenticated<UserSession>) -> String {
//!     format!("Hello, {}!", user.name)
//! }
//!
//! let auth = SessionAuth::<UserSession>::new()
//!     .validate(|session: UserSession| async move { session.name.starts_with("jet").then_some(session) })
//!     .challenge(Challenge::redirect("/login"));
//! let sessions = SessionsConfig::new()
//!     .cookie::<UserSession>("user_session", |c| c.transform(Encrypt::new(Key::generate())))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/hello", get(hello))
//!     .route_layer(auth)                      // only /hello is protected
//!     .route("/login", get(|| async { "the login form" }))
//!     .layer(sessions);
//! # Ok::<(), typed_sessions::ConfigError>(())
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, Request, StatusCode, header};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::SessionError;
use crate::layer::take_ready;
use crate::sessions::Sessions;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Validator<T, P> = Arc<dyn Fn(T) -> BoxFuture<Option<P>> + Send + Sync>;
type CredentialCheck<T, P> = Arc<dyn Fn(T, P) -> BoxFuture<bool> + Send + Sync>;
type ChallengeFn = Arc<dyn Fn(ChallengeContext) -> BoxFuture<Response> + Send + Sync>;

/// Why a request was challenged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The request has no (valid) session of the required type (Ktor's `NoCredentials`).
    NoSession,
    /// `validate` rejected the session (Ktor's `InvalidCredentials`).
    Rejected,
    /// The session was made with credentials that have changed since (a new password): it is
    /// cleared ([`SessionAuth::credentials`]).
    CredentialsChanged,
}

/// What a custom challenge sees of the refused request.
///
/// `Debug` shows the cause, the method, the path and how many headers there are: the headers
/// (the `Cookie` header above all) and the query carry session values and credentials.
pub struct ChallengeContext {
    /// Why the request was refused.
    pub cause: Cause,
    /// The request's method, URI, headers and extensions (the body is not kept).
    pub request: Parts,
}

impl fmt::Debug for ChallengeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChallengeContext")
            .field("cause", &self.cause)
            .field("method", &self.request.method)
            .field("path", &self.request.uri.path())
            .field("headers", &self.request.headers.len())
            .finish_non_exhaustive()
    }
}

/// What a protected route answers to a request that is not authenticated.
#[derive(Clone)]
pub enum Challenge {
    /// `401 Unauthorized` with no body (Ktor's default).
    Unauthorized,
    /// `302 Found` to a login page, as Ktor's `call.respondRedirect("/login")`.
    Redirect(HeaderValue),
    /// A function of yours.
    Custom(ChallengeFn),
}

impl Challenge {
    /// A redirect to `location` (for example a login page).
    ///
    /// A location that is not a valid header value falls back to `401`.
    pub fn redirect(location: &str) -> Challenge {
        match HeaderValue::from_str(location) {
            Ok(value) => Challenge::Redirect(value),
            Err(_) => {
                tracing::warn!(
                    "invalid redirect location for the session challenge; answering 401 instead"
                );
                Challenge::Unauthorized
            }
        }
    }

    /// A challenge computed by `respond` from the refused request.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use typed_sessions::auth::{Cause, Challenge};
    ///
    /// let challenge = Challenge::custom(|ctx| async move {
    ///     match ctx.cause {
    ///         Cause::NoSession => (http::StatusCode::UNAUTHORIZED, "please log in").into_response(),
    ///         Cause::Rejected => (http::StatusCode::FORBIDDEN, "not allowed").into_response(),
    ///         Cause::CredentialsChanged => {
    ///             (http::StatusCode::UNAUTHORIZED, "your password changed: log in again").into_response()
    ///         }
    ///     }
    /// });
    /// ```
    pub fn custom<F, Fut>(respond: F) -> Challenge
    where
        F: Fn(ChallengeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        Challenge::Custom(Arc::new(move |ctx| Box::pin(respond(ctx))))
    }

    async fn respond(&self, cause: Cause, request: Parts) -> Response {
        let mut response = match self {
            Challenge::Unauthorized => StatusCode::UNAUTHORIZED.into_response(),
            Challenge::Redirect(location) => {
                (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
            }
            Challenge::Custom(respond) => respond(ChallengeContext { cause, request }).await,
        };
        if !response.headers().contains_key(header::CACHE_CONTROL) {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Challenge::Unauthorized => f.write_str("Unauthorized"),
            Challenge::Redirect(location) => f.debug_tuple("Redirect").field(location).finish(),
            Challenge::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// A layer that lets a request through only with a session of type `T` that `validate` accepts;
/// the handler gets the principal `P` with the [`Authenticated`] extractor.
///
/// Without [`validate`](SessionAuth::validate) every session is accepted and the principal is
/// the session itself (Ktor's `session<T>()` without a block).
pub struct SessionAuth<T, P = T> {
    validate: Validator<T, P>,
    credentials: Option<CredentialCheck<T, P>>,
    challenge: Challenge,
    _session: PhantomData<fn() -> T>,
}

impl<T, P> Clone for SessionAuth<T, P> {
    fn clone(&self) -> Self {
        SessionAuth {
            validate: Arc::clone(&self.validate),
            credentials: self.credentials.clone(),
            challenge: self.challenge.clone(),
            _session: PhantomData,
        }
    }
}

impl<T, P> fmt::Debug for SessionAuth<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionAuth")
            .field("session", &std::any::type_name::<T>())
            .field("principal", &std::any::type_name::<P>())
            .field("challenge", &self.challenge)
            .finish()
    }
}

impl<T: Clone + Send + Sync + 'static> SessionAuth<T, T> {
    /// Requires a session of type `T`; any session is accepted and is the principal.
    pub fn new() -> Self {
        SessionAuth {
            validate: Arc::new(|session| Box::pin(async move { Some(session) })),
            credentials: None,
            challenge: Challenge::Unauthorized,
            _session: PhantomData,
        }
    }
}

impl<T: Clone + Send + Sync + 'static> Default for SessionAuth<T, T> {
    fn default() -> Self {
        SessionAuth::new()
    }
}

impl<T: Clone + Send + Sync + 'static, P> SessionAuth<T, P> {
    /// Checks the session: `Some(principal)` lets the request through, `None` challenges it.
    /// The principal can be the session itself or anything derived from it (a user loaded from
    /// a database, say).
    pub fn validate<P2, F, Fut>(self, validate: F) -> SessionAuth<T, P2>
    where
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<P2>> + Send + 'static,
    {
        SessionAuth {
            validate: Arc::new(move |session| Box::pin(validate(session))),
            credentials: None,
            challenge: self.challenge,
            _session: PhantomData,
        }
    }

    /// Ends sessions made with credentials that have changed since (Django's session auth
    /// hash): `stored` reads the credential version the session was made with (a field the
    /// application sets at login: a counter, or a hash of the password hash), `current` gives
    /// the principal's current version (from the user store, where a password change bumps
    /// it). When they differ the session is cleared and the request challenged with
    /// [`Cause::CredentialsChanged`], whatever the storage, by-value sessions included. After
    /// a password change, [`Sessions::credentials_changed`](crate::Sessions::credentials_changed)
    /// keeps the current session valid and ends the others at once.
    ///
    /// ```
    /// use typed_sessions::auth::SessionAuth;
    ///
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct UserSession { user: String, credentials: u64 }
    ///
    /// async fn current_version(user: &str) -> Option<u64> { Some(1) } // from the user store
    ///
    /// let auth = SessionAuth::<UserSession>::new().credentials(
    ///     |session: &UserSession| session.credentials,
    ///     |session: UserSession| async move { current_version(&session.user).await },
    /// );
    /// ```
    pub fn credentials<V, S, C, Fut>(mut self, stored: S, current: C) -> Self
    where
        V: PartialEq + Send + 'static,
        S: Fn(&T) -> V + Send + Sync + 'static,
        C: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<V>> + Send + 'static,
        P: Send + 'static,
    {
        let (stored, current) = (Arc::new(stored), Arc::new(current));
        self.credentials = Some(Arc::new(move |session: T, principal: P| {
            let made_with = stored(&session);
            let fut = current(principal);
            Box::pin(async move { fut.await.is_some_and(|now| now == made_with) })
        }));
        self
    }

    /// What to answer when a request is refused (default: `401` with no body).
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = challenge;
        self
    }
}

impl<S, T, P> Layer<S> for SessionAuth<T, P> {
    type Service = SessionAuthService<S, T, P>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionAuthService {
            inner,
            auth: self.clone(),
        }
    }
}

/// The service [`SessionAuth`] wraps around the protected routes.
pub struct SessionAuthService<S, T, P> {
    inner: S,
    auth: SessionAuth<T, P>,
}

impl<S: Clone, T, P> Clone for SessionAuthService<S, T, P> {
    fn clone(&self) -> Self {
        SessionAuthService {
            inner: self.inner.clone(),
            auth: self.auth.clone(),
        }
    }
}

impl<S, T, P> fmt::Debug for SessionAuthService<S, T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionAuthService")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl<S, B, T, P> Service<Request<B>> for SessionAuthService<S, T, P>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    T: Clone + Send + Sync + 'static,
    P: Clone + Send + Sync + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let auth = self.auth.clone();
        Box::pin(async move {
            let sessions = match Sessions::from_extensions(request.extensions()) {
                Ok(sessions) => sessions,
                Err(error) => return Ok(error.into_response()),
            };
            let cause = match sessions.get::<T>().await {
                Err(error) => return Ok(error.into_response()),
                Ok(None) => Cause::NoSession,
                Ok(Some(session)) => match (auth.validate)(session.clone()).await {
                    Some(principal) => {
                        let current = match &auth.credentials {
                            Some(check) => check(session, principal.clone()).await,
                            None => true,
                        };
                        if current {
                            request.extensions_mut().insert(Authenticated(principal));
                            return inner.call(request).await;
                        }
                        if let Err(error) = sessions.clear::<T>() {
                            return Ok(error.into_response());
                        }
                        Cause::CredentialsChanged
                    }
                    None => Cause::Rejected,
                },
            };
            tracing::debug!(
                ?cause,
                session = std::any::type_name::<T>(),
                "session authentication refused the request"
            );
            let (parts, _body) = request.into_parts();
            Ok(auth.challenge.respond(cause, parts).await)
        })
    }
}

/// The principal of a request that passed [`SessionAuth`], as an axum extractor.
///
/// Using it on a route that no `SessionAuth<_, P>` protects is a programming error: the
/// request is answered with `500` and the reason is logged.
#[derive(Debug, Clone)]
pub struct Authenticated<P>(pub P);

impl<S: Send + Sync, P: Clone + Send + Sync + 'static> FromRequestParts<S> for Authenticated<P> {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated<P>>()
            .cloned()
            .ok_or_else(|| SessionError::NotAuthenticated {
                principal: std::any::type_name::<P>().to_owned(),
            })
    }
}
