//! The per-session builder handed to the closures of [`SessionsConfig`](super::SessionsConfig).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::id::{IdentityFn, RequestInfo};
use crate::serializer::{
    BinaryCodec, BinarySerializer, Codec, ErasedCodec, SerdeFormat, SessionSerializer,
    SessionVersion, VersionedCodec,
};
use crate::storage::OnLimit;
use crate::storage::SessionStorage;
use crate::tracker::by_id::{Limit, PrincipalFn};
use crate::transform::{Chain, Transformer};
use crate::transport::{CookieConfig, CookieEncoding, SameSite};

/// Marker types that say what kind of session a [`SessionBuilder`] configures, so that each
/// kind offers only the settings that apply to it.
pub mod kind {
    /// A session whose serialized value travels in a cookie.
    #[derive(Debug)]
    pub enum CookieByValue {}
    /// A session whose id travels in a cookie; the value is kept in a storage.
    #[derive(Debug)]
    pub enum CookieById {}
    /// A session whose serialized value travels in a header.
    #[derive(Debug)]
    pub enum HeaderByValue {}
    /// A session whose id travels in a header; the value is kept in a storage.
    #[derive(Debug)]
    pub enum HeaderById {}

    /// Kinds carried in a cookie.
    pub trait Cookie: sealed::Sealed {}
    impl Cookie for CookieByValue {}
    impl Cookie for CookieById {}

    /// Kinds carried by value.
    pub trait ByValue: sealed::Sealed {}
    impl ByValue for CookieByValue {}
    impl ByValue for HeaderByValue {}

    /// Kinds carried by id.
    pub trait ById: sealed::Sealed {}
    impl ById for CookieById {}
    impl ById for HeaderById {}

    /// Any kind.
    pub trait Any: sealed::Sealed {}
    impl<K: sealed::Sealed> Any for K {}

    mod sealed {
        pub trait Sealed {}
        impl Sealed for super::CookieByValue {}
        impl Sealed for super::CookieById {}
        impl Sealed for super::HeaderByValue {}
        impl Sealed for super::HeaderById {}
    }
}

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
/// `T` is the session type and `K` the [kind](kind) of session, which decides which settings
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
impl<T: Send + Sync + 'static, K: kind::Any> SessionBuilder<T, K> {
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
impl<T: SessionVersion, K: kind::Any> SessionBuilder<T, K> {
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

/// Cookie settings.
impl<T, K: kind::Cookie> SessionBuilder<T, K> {
    /// The cookie `Path` (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.draft.cookie.path = Some(path.into());
        self
    }

    /// Sends the cookie without a `Path` attribute (the browser then uses the request's
    /// directory).
    pub fn no_path(mut self) -> Self {
        self.draft.cookie.path = None;
        self
    }

    /// The cookie `Domain` (none by default, which keeps the cookie on the exact host).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.draft.cookie.domain = Some(domain.into());
        self
    }

    /// How long the browser keeps the cookie (default 7 days). `None` makes a browser-session
    /// cookie (no `Max-Age`, no `Expires`); zero makes the browser delete it at once. `Max-Age`
    /// is clamped to `i32::MAX` seconds; `Expires` is computed from it.
    pub fn max_age(mut self, max_age: impl Into<Option<Duration>>) -> Self {
        self.draft.cookie.max_age = max_age.into();
        self
    }

    /// The `Secure` flag (on by default; turn it off only for plain-http development).
    pub fn secure(mut self, secure: bool) -> Self {
        self.draft.cookie.secure = secure;
        self
    }

    /// The `HttpOnly` flag (on by default).
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.draft.cookie.http_only = http_only;
        self
    }

    /// The `SameSite` attribute (`Lax` by default); `None` (the Rust `Option::None`) omits it.
    pub fn same_site(mut self, same_site: impl Into<Option<SameSite>>) -> Self {
        self.draft.cookie.same_site = same_site.into();
        self
    }

    /// Adds an attribute of your own: `key=value`, or a bare `key` when `value` is `None`
    /// (for example `Partitioned`, or `Priority=High`).
    pub fn attribute(mut self, key: impl Into<String>, value: Option<&str>) -> Self {
        self.draft
            .cookie
            .extensions
            .push((key.into(), value.map(str::to_owned)));
        self
    }

    /// How the value is encoded in the cookie (Ktor's URI encoding by default).
    pub fn encoding(mut self, encoding: CookieEncoding) -> Self {
        self.draft.cookie.encoding = encoding;
        self
    }

    /// Ktor's cookie defaults exactly: `Secure` off, no `SameSite`, and the `$x-enc` attribute
    /// Ktor appends (see [`CookieConfig::ktor_defaults`]). Settings made after this call apply
    /// on top.
    pub fn ktor_defaults(mut self) -> Self {
        let ktor = CookieConfig::ktor_defaults();
        self.draft.cookie.secure = ktor.secure;
        self.draft.cookie.same_site = ktor.same_site;
        self.draft.cookie.encoding_marker = ktor.encoding_marker;
        self
    }

    /// Replaces every cookie attribute at once.
    pub fn cookie_config(mut self, config: CookieConfig) -> Self {
        self.draft.cookie = config;
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

/// Users and their devices: the principal index of sessions carried by id.
impl<T: Send + Sync + 'static, K: kind::ById> SessionBuilder<T, K> {
    /// Files each session under the user (the principal) its value names, in the storage's
    /// principal index, so that a user's sessions can be listed and ended
    /// ([`Sessions::devices`](crate::Sessions::devices),
    /// [`Principals`](crate::storage::Principals)). The index follows the session in the same
    /// atomic operation as every write; when the principal changes (a login), the session gets
    /// a new id. Also records each session's device (see
    /// [`device_metadata`](Self::device_metadata)). The storage must keep a principal index
    /// ([`supports_principals`](crate::storage::SessionStorage::supports_principals)); every
    /// storage of this crate does but the Ktor-compatible directory layout.
    ///
    /// ```
    /// use typed_sessions::{SessionsConfig, storage::MemoryStorage};
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct Account { user: Option<String> }
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie_with_storage::<Account, _>("account", MemoryStorage::new(), |c| {
    ///         c.principal(|account: &Account| account.user.clone())
    ///     })
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn principal(mut self, of: impl Fn(&T) -> Option<String> + Send + Sync + 'static) -> Self {
        self.draft.principal = Some(std::sync::Arc::new(move |value| {
            value.downcast_ref::<T>().and_then(&of)
        }));
        self
    }
}

/// The binary format of sessions carried by id.
impl<T: Send + Sync + 'static, K: kind::ById> SessionBuilder<T, K> {
    /// Stores the session in a binary format of yours (the record holds bytes, so a compact
    /// format needs no base64). JSON stays the default.
    ///
    /// ```
    /// use typed_sessions::serializer::{BinarySerializer, SerializerError};
    /// use typed_sessions::{SessionsConfig, storage::MemoryStorage};
    ///
    /// // Registration asks for serde as for every session type; `Compact` does not use it.
    /// #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// struct Visits(u64);
    /// struct Compact;
    /// impl BinarySerializer<Visits> for Compact {
    ///     fn serialize(&self, v: &Visits) -> Result<Vec<u8>, SerializerError> {
    ///         Ok(v.0.to_le_bytes().to_vec())
    ///     }
    ///     fn deserialize(&self, bytes: &[u8]) -> Result<Visits, SerializerError> {
    ///         let bytes = bytes.try_into().map_err(|_| SerializerError::new("not 8 bytes"))?;
    ///         Ok(Visits(u64::from_le_bytes(bytes)))
    ///     }
    /// }
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie_with_storage::<Visits, _>("visits", MemoryStorage::new(), |c| {
    ///         c.binary_serializer(Compact)
    ///     })
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn binary_serializer<S: BinarySerializer<T>>(mut self, serializer: S) -> Self {
        self.codec = Box::new(BinaryCodec::<T, S>::new(serializer));
        self
    }
}

/// Settings of sessions carried by id.
impl<T, K: kind::ById> SessionBuilder<T, K> {
    /// The absolute lifetime of a session, counted from its creation and enforced by the
    /// server whatever the client sends. Default: the cookie's max age, or 7 days when there
    /// is none.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.draft.lifetime = Some(lifetime);
        self
    }

    /// The idle timeout: a session not used for this long expires, on the server. Using it
    /// renews it (see [`renew_after`](Self::renew_after)). None by default.
    pub fn idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.draft.idle_timeout = Some(idle_timeout);
        self
    }

    /// Which part of the idle window must have passed since the last renewal before a read
    /// renews the session (default `0.25`). Higher values write less often; `0.0` renews on
    /// every use.
    pub fn renew_after(mut self, fraction: f64) -> Self {
        self.draft.renew_fraction = fraction;
        self
    }

    /// How long one storage call may take before it counts as an outage: the request then gets
    /// `503` instead of waiting. Default [`DEFAULT_STORAGE_TIMEOUT`] (5 s), for every storage:
    /// a stuck lock, a dead network mount or a storage of your own that never answers cannot
    /// hang a request. `None` turns it off, for a storage that bounds its own calls.
    ///
    /// The timer starts only for a call that does not finish at once, so storages that answer
    /// immediately (the memory storage, a warm cache) never arm one. It needs a tokio runtime
    /// with timers enabled (`#[tokio::main]` and `#[tokio::test]` enable them; a runtime built
    /// by hand needs `enable_time` or `enable_all`), or `None` here.
    ///
    /// ```
    /// use std::time::Duration;
    /// use typed_sessions::{SessionsConfig, storage::MemoryStorage};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Api;
    ///
    /// let layer = SessionsConfig::new()
    ///     .cookie_with_storage::<Cart, _>("cart", MemoryStorage::new(), |c| c
    ///         .storage_timeout(Duration::from_millis(500)))
    ///     .header_with_storage::<Api, _>("x-api", MemoryStorage::new(), |h| h
    ///         .storage_timeout(None)) // no timeout: the storage bounds its own calls
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn storage_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.draft.storage_timeout = timeout.into();
        self
    }

    /// At most `max` live sessions per principal (Spring Security's "maximum sessions"): a login
    /// beyond it ends the least recently used sessions ([`OnLimit::EndOldest`]) or is refused
    /// with [`SessionError::SessionLimit`](crate::SessionError::SessionLimit)
    /// ([`OnLimit::Refuse`]). Concurrent logins of one user can briefly exceed it by the number
    /// of logins in flight.
    pub fn max_sessions_per_principal(mut self, max: usize, overflow: OnLimit) -> Self {
        self.draft.principal_limit = Some(Limit {
            max: max.max(1),
            overflow,
        });
        self
    }

    /// The longest lifetime a handler may choose for one session with
    /// [`Sessions::set_lifetime`](crate::Sessions::set_lifetime) ("remember me"). Default: the
    /// session's [`lifetime`](Self::lifetime).
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.draft.max_lifetime = Some(max);
        self
    }

    /// Whether each session records a short description of its device (browser and operating
    /// system family, parsed from the `User-Agent` when the session is created; the raw header
    /// is never stored). On for sessions with a [`principal`](Self::principal), off otherwise.
    pub fn device_metadata(mut self, enabled: bool) -> Self {
        self.draft.devices = Some(enabled);
        self
    }

    /// A custom id generator (Ktor's `identity { call -> ... }`). Its ids must still be
    /// 1 to 128 characters from `[A-Za-z0-9_-]`; an id that is not is refused with an error.
    pub fn identity(
        mut self,
        generator: impl Fn(&RequestInfo) -> String + Send + Sync + 'static,
    ) -> Self {
        self.draft.identity = Some(Arc::new(generator));
        self
    }
}
