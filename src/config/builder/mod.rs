//! The per-session builder handed to the closures of [`SessionsConfig`](super::SessionsConfig).
//!
//! Its settings are grouped by the [kinds](super::kind) they apply to: every kind and by value
//! here, cookie attributes in `cookie`, sessions carried by id in `by_id`.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::id::IdentityFn;
use crate::serializer::{
    Codec, ErasedCodec, SerdeFormat, SessionSerializer, SessionVersion, VersionedCodec,
};
use crate::storage::SessionStorage;
use crate::tracker::by_id::{Limit, PrincipalFn};
use crate::transform::{Chain, Transformer};
use crate::transport::cookie::CookieConfig;

use super::kind;

mod by_id;
mod cookie;

/// The non-generic part of a session's configuration.
pub(crate) struct Draft {
    pub(crate) name: String,
    pub(crate) cookie: CookieConfig,
    pub(crate) chain: Chain,
    pub(crate) send_only_if_modified: bool,
    pub(crate) ttl: Option<Option<Duration>>,
    pub(crate) storage: Option<Arc<dyn SessionStorage>>,
    pub(crate) lifetime: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) renew_fraction: f64,
    pub(crate) identity: Option<IdentityFn>,
    pub(crate) storage_timeout: Option<Duration>,
    pub(crate) principal: Option<PrincipalFn>,
    pub(crate) principal_limit: Option<Limit>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) devices: Option<bool>,
    /// A by-value session without a transformer was asked for explicitly.
    pub(crate) unprotected: bool,
}

impl Draft {
    pub(crate) fn new(name: &str, storage: Option<Arc<dyn SessionStorage>>) -> Draft {
        Draft {
            name: name.to_owned(),
            cookie: CookieConfig::default(),
            chain: Chain::default(),
            send_only_if_modified: false,
            ttl: None,
            storage,
            lifetime: None,
            idle_timeout: None,
            renew_fraction: DEFAULT_RENEW_FRACTION,
            identity: None,
            storage_timeout: Some(DEFAULT_STORAGE_TIMEOUT),
            unprotected: false,
            principal: None,
            principal_limit: None,
            max_lifetime: None,
            devices: None,
        }
    }
}

/// By default a session with an idle timeout is renewed once a quarter of the idle window has
/// passed since the last renewal.
pub const DEFAULT_RENEW_FRACTION: f64 = 0.25;

/// How long one storage call of a by-id session may take, by default, before it counts as an
/// outage (`503`): 5 seconds. Longer than the network storages' own per-call timeouts (2 s by
/// default), so theirs fire first; see [`SessionBuilder::storage_timeout`].
pub const DEFAULT_STORAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Configures one session type. Handed to the closures of
/// [`SessionsConfig::cookie`](super::SessionsConfig::cookie) and its siblings; each method
/// takes and returns the builder, so settings chain.
///
/// `T` is the session type and `K` the [kind] of session, which decides which settings
/// exist. The serializer is JSON unless [`serializer`](Self::serializer) replaces it.
///
/// ```
/// use std::time::Duration;
/// use typed_sessions::{Encrypt, Key, SameSite, SessionsConfig};
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct UserSession;
///
/// let layer = SessionsConfig::new()
///     .cookie::<UserSession>("user_session", |c| c
///         .path("/")
///         .max_age(Duration::from_secs(600))
///         .same_site(SameSite::Strict)
///         .transform(Encrypt::new(Key::generate())))
///     .build()
///     .unwrap();
/// ```
#[must_use = "a builder does nothing until it is returned from the registration closure"]
pub struct SessionBuilder<T, K = kind::CookieByValue> {
    pub(crate) draft: Draft,
    pub(crate) codec: Box<dyn ErasedCodec>,
    _marker: PhantomData<fn() -> (T, K)>,
}

impl<T, K> std::fmt::Debug for SessionBuilder<T, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("name", &self.draft.name)
            .field("type", &std::any::type_name::<T>())
            .field("cookie", &self.draft.cookie)
            .field("chain", &self.draft.chain)
            .finish_non_exhaustive()
    }
}

impl<T, K> SessionBuilder<T, K> {
    pub(crate) fn new(draft: Draft, codec: Box<dyn ErasedCodec>) -> Self {
        SessionBuilder {
            draft,
            codec,
            _marker: PhantomData,
        }
    }
}

/// Settings of every kind of session.
impl<T: Send + Sync + 'static, K: kind::AnyKind> SessionBuilder<T, K> {
    /// Appends a transformer to the chain (signing, encryption, your own). Values are written
    /// through the chain in the order of these calls and read back in reverse.
    pub fn transform(mut self, transformer: impl Transformer) -> Self {
        self.draft.chain.push(Box::new(transformer));
        self
    }

    /// Replaces the serializer (JSON by default), for example with
    /// [`KtorLegacy`](crate::serializer::KtorLegacy) or one of your own.
    pub fn serializer<S: SessionSerializer<T>>(mut self, serializer: S) -> Self {
        self.codec = Box::new(Codec::<T, S>::new(serializer));
        self
    }

    /// Skip sending the session when a handler sets a value that serializes exactly as the one
    /// the request brought (Ktor's `sendOnlyIfModified`). Off by default, as in Ktor.
    ///
    /// Unlike Ktor, which compares objects, this compares serialized forms, so a value that was
    /// changed in place is still sent.
    pub fn send_only_if_modified(mut self, enabled: bool) -> Self {
        self.draft.send_only_if_modified = enabled;
        self
    }
}

/// Versioned session types (see [`SessionVersion`]).
impl<T: SessionVersion, K: kind::AnyKind> SessionBuilder<T, K> {
    /// Declares the session type versioned, in JSON: the version travels with every value, a
    /// value of an older version is migrated when read and written back under the current
    /// one, and a value of a newer version reads as no session and is left where it is. A
    /// by-value session must also have a transformer (the version travels inside what it
    /// authenticates).
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// use typed_sessions::serializer::{SessionVersion, Unversioned};
    /// use typed_sessions::{Encrypt, Key, SessionsConfig};
    ///
    /// #[derive(Clone, Serialize, Deserialize)]
    /// struct Prefs { theme: String }
    /// impl SessionVersion for Prefs {
    ///     const VERSION: u32 = 1;
    ///     type Previous = Unversioned;
    ///     fn migrate(previous: Unversioned) -> Self { match previous {} }
    /// }
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie::<Prefs>("prefs", |c| c.versioned().transform(Encrypt::new(Key::generate())))
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn versioned(self) -> Self {
        self.versioned_with(crate::serializer::Json)
    }

    /// [`versioned`](Self::versioned) in another serde format (for example
    /// [`KtorLegacy`](crate::serializer::KtorLegacy), or one of yours).
    pub fn versioned_with<F: SerdeFormat>(mut self, format: F) -> Self {
        self.codec = Box::new(VersionedCodec::<T, F>::new(format));
        self
    }
}

/// Settings of sessions carried by value.
impl<T, K: kind::ByValue> SessionBuilder<T, K> {
    /// How long a value written now stays valid. Transformers that can carry an expiry inside
    /// what they authenticate (the modern [`Sign`](crate::transform::Sign) and
    /// [`Encrypt`](crate::transform::Encrypt)) do, so a replayed old value dies on time even if
    /// the client ignores `Max-Age`. Each `set` starts a new period.
    ///
    /// Shortening it shortens the values already issued: a value read with an expiry later
    /// than now plus the ttl is re-sent expiring then (and a re-sent value is not cut again, so
    /// reading never extends it). A client that keeps the re-sent cookie gets the shorter
    /// lifetime; a copy replayed without it still reads until the expiry it carries (the
    /// value does not say when it was issued), so to end such copies at once, rotate the key.
    ///
    /// Default: the cookie's max age, or 7 days when there is none (browser-session cookies,
    /// header sessions). `None` writes no expiry.
    pub fn ttl(mut self, ttl: impl Into<Option<Duration>>) -> Self {
        self.draft.ttl = Some(ttl.into());
        self
    }

    /// Sends the value without any transformer: the client can read it and change it at will.
    /// [`build`](crate::SessionsConfig::build) refuses a by-value session without a
    /// transformer unless its registration calls this ([`ConfigError::Unprotected`]), and
    /// refuses this together with a transformer.
    ///
    /// Only for Ktor parity (Ktor's unprotected `cookie<T>("name")`) or data that is neither
    /// secret nor trusted, such as a display preference. Everything else wants
    /// [`Encrypt`](crate::Encrypt) (hides and authenticates) or [`Sign`](crate::Sign).
    ///
    /// ```
    /// use typed_sessions::{ConfigError, Encrypt, Key, SessionsConfig};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct User;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Theme;
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie::<User>("user", |c| c.transform(Encrypt::new(Key::generate())))
    ///     .cookie::<Theme>("theme", |c| c.unprotected()) // readable and forgeable, on purpose
    ///     .build()?;
    ///
    /// let forgotten = SessionsConfig::new().cookie::<Theme>("theme", |c| c).build();
    /// assert!(matches!(forgotten, Err(ConfigError::Unprotected { .. })));
    /// # Ok::<(), ConfigError>(())
    /// ```
    ///
    /// [`ConfigError::Unprotected`]: crate::ConfigError::Unprotected
    pub fn unprotected(mut self) -> Self {
        self.draft.unprotected = true;
        self
    }
}
