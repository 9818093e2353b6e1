//! The configuration: which sessions exist, how each travels, where each lives.
//!
//! [`SessionsConfig`] registers session types, each under a unique name and a unique Rust type,
//! as a cookie or a header, by value or by id. [`SessionsConfig::build`] checks everything and
//! returns the [`SessionsLayer`]; every configuration mistake is an error there, never a panic
//! or a surprise at request time.

pub(crate) mod builder;
mod compile;
pub mod kind;

use std::any::TypeId;
use std::net::IpAddr;
use std::sync::Arc;

pub use crate::id::RequestInfo;
pub use builder::{DEFAULT_RENEW_FRACTION, DEFAULT_STORAGE_TIMEOUT, SessionBuilder};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::ConfigError;
use crate::layer::SessionsLayer;
use crate::metrics::Metrics;
use crate::pipeline::{AddressFn, Pipeline, Pipelines};
use crate::serializer::{Codec, Json};
use crate::storage::SessionStorage;
use builder::Draft;
use compile::compile;

/// What a session type must be: owned, cloneable, shareable between threads, and (for the
/// default JSON serializer) serde-serializable. Implemented for every such type.
pub trait SessionData: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> SessionData for T {}

/// Registers session types and builds the [`SessionsLayer`].
///
/// ```
/// use std::time::Duration;
/// use typed_sessions::{Encrypt, Key, Sign, SessionsConfig, storage::MemoryStorage};
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct UserSession { id: String, count: u32 }
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct CartSession { items: Vec<u64> }
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct ApiSession { token: String }
///
/// let key = Key::generate(); // production: Key::from_hex(&secret)?
/// let layer = SessionsConfig::new()
///     .cookie::<UserSession>("user_session", |c| c
///         .max_age(Duration::from_secs(600))
///         .transform(Encrypt::new(key.clone())))
///     .cookie_with_storage::<CartSession, _>("cart_session", MemoryStorage::new(), |c| c.path("/shop"))
///     .header::<ApiSession>("x-api-session", |h| h.transform(Sign::new(key)))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "nothing happens until `build` is called and the layer is added to a router"]
pub struct SessionsConfig {
    drafts: Vec<Registration>,
    clock: SharedClock,
    metrics: bool,
    address: Option<AddressFn>,
}

/// One registered session, waiting for [`SessionsConfig::build`] to compile it.
struct Registration {
    type_id: TypeId,
    type_name: &'static str,
    name: String,
    /// Compiles the pipeline, with metrics on or off.
    compile: Box<dyn FnOnce(Metrics) -> Result<Pipeline, ConfigError> + Send>,
}

impl std::fmt::Debug for SessionsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionsConfig")
            .field(
                "sessions",
                &self
                    .drafts
                    .iter()
                    .map(|d| (&d.name, d.type_name))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig::new()
    }
}

impl SessionsConfig {
    /// An empty configuration.
    pub fn new() -> SessionsConfig {
        SessionsConfig {
            drafts: Vec::new(),
            clock: Arc::new(SystemClock),
            metrics: false,
            address: None,
        }
    }

    /// Records the client's address with each new session of a user, truncated to its network
    /// (`/24` for IPv4, `/48` for IPv6) before it is stored, for account pages ("where am I
    /// logged in"). Off unless called: `address` says where the address is (the socket address
    /// your server puts in the request extensions, or the leftmost `X-Forwarded-For` behind a
    /// proxy you trust), and is called once per request while a session records devices.
    ///
    /// ```
    /// use std::net::{IpAddr, SocketAddr};
    /// use typed_sessions::SessionsConfig;
    ///
    /// // axum's `into_make_service_with_connect_info::<SocketAddr>()` puts the peer address in
    /// // the extensions as `ConnectInfo<SocketAddr>`; a plain `SocketAddr` works the same way.
    /// let config = SessionsConfig::new().client_address(|_headers, extensions| {
    ///     extensions.get::<SocketAddr>().map(|peer| peer.ip())
    /// });
    /// ```
    pub fn client_address(
        mut self,
        address: impl Fn(&http::HeaderMap, &http::Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    ) -> Self {
        self.address = Some(Arc::new(address));
        self
    }

    /// Uses `clock` for every time-dependent decision (for tests; see [`crate::clock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Reports counters and histograms through the [`metrics`](https://docs.rs/metrics) facade
    /// (feature `metrics`; off by default), to whatever recorder the application installed.
    #[cfg_attr(
        feature = "axum",
        doc = "The guide lists every name and label: [`guide::tour`](crate::guide::tour#metrics), \"Metrics\"."
    )]
    #[cfg_attr(
        not(feature = "axum"),
        doc = "The guide lists every name and label (`typed_sessions::guide::tour`, \"Metrics\")."
    )]
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = enabled;
        self
    }

    /// Registers `T` as a session carried whole (serialized) in cookie `name`.
    ///
    /// Without a transformer the value would be readable and forgeable by the client, so
    /// [`build`](Self::build) refuses it: add [`Encrypt`](crate::transform::Encrypt)
    /// (recommended) or [`Sign`](crate::transform::Sign), or say
    /// [`unprotected()`](SessionBuilder::unprotected) if that is really meant.
    pub fn cookie<T: SessionData>(
        self,
        name: &str,
        configure: impl FnOnce(
            SessionBuilder<T, kind::CookieByValue>,
        ) -> SessionBuilder<T, kind::CookieByValue>,
    ) -> Self {
        self.register(name, None, configure)
    }

    /// Registers `T` as a session kept in `storage`, whose id travels in cookie `name`.
    ///
    /// `storage` is any [`SessionStorage`]: a storage of its own, or one shared with other
    /// sessions, a [sweeper](crate::storage::spawn_sweeper) or the application as an
    /// `Arc<S>` or the `Arc<dyn SessionStorage>` [`open_url`](crate::storage::open_url)
    /// returns (an `Arc` is a storage too).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use typed_sessions::SessionsConfig;
    /// use typed_sessions::storage::{MemoryStorage, SessionStorage};
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Cart;
    /// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct Wizard;
    ///
    /// let shared: Arc<dyn SessionStorage> = Arc::new(MemoryStorage::new());
    /// let layer = SessionsConfig::new()
    ///     .cookie_with_storage::<Cart, _>("cart", Arc::clone(&shared), |c| c.path("/shop"))
    ///     .cookie_with_storage::<Wizard, _>("wizard", shared, |c| c)
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn cookie_with_storage<T: SessionData, St: SessionStorage>(
        self,
        name: &str,
        storage: St,
        configure: impl FnOnce(
            SessionBuilder<T, kind::CookieById>,
        ) -> SessionBuilder<T, kind::CookieById>,
    ) -> Self {
        self.register(name, Some(shared(storage)), configure)
    }

    /// Registers `T` as a session carried whole in header `name`: the server sends it in that
    /// response header when a handler sets it, and the client sends it back in the same
    /// request header. Like [`cookie`](Self::cookie), it needs a transformer or
    /// [`unprotected()`](SessionBuilder::unprotected).
    pub fn header<T: SessionData>(
        self,
        name: &str,
        configure: impl FnOnce(
            SessionBuilder<T, kind::HeaderByValue>,
        ) -> SessionBuilder<T, kind::HeaderByValue>,
    ) -> Self {
        self.register(name, None, configure)
    }

    /// Registers `T` as a session kept in `storage`, whose id travels in header `name`. Like
    /// [`cookie_with_storage`](Self::cookie_with_storage), `storage` may be shared (an `Arc`).
    pub fn header_with_storage<T: SessionData, St: SessionStorage>(
        self,
        name: &str,
        storage: St,
        configure: impl FnOnce(
            SessionBuilder<T, kind::HeaderById>,
        ) -> SessionBuilder<T, kind::HeaderById>,
    ) -> Self {
        self.register(name, Some(shared(storage)), configure)
    }

    fn register<T: SessionData, K: kind::sealed::Kind>(
        mut self,
        name: &str,
        storage: Option<Arc<dyn SessionStorage>>,
        configure: impl FnOnce(SessionBuilder<T, K>) -> SessionBuilder<T, K>,
    ) -> Self {
        let default_codec = Box::new(Codec::<T, Json>::new(Json));
        let builder = configure(SessionBuilder::new(
            Draft::new(name, storage),
            default_codec,
        ));
        let type_name = std::any::type_name::<T>();
        self.drafts.push(Registration {
            type_id: TypeId::of::<T>(),
            type_name,
            name: name.to_owned(),
            compile: Box::new(move |metrics| {
                compile(builder.draft, K::HEADER, type_name, builder.codec, metrics)
            }),
        });
        self
    }

    /// Checks the configuration and builds the layer.
    ///
    /// Fails on the first mistake: a repeated name or type, an invalid cookie or header name,
    /// an invalid attribute or combination of attributes, an unusable transformer setting, a
    /// by-value session without a transformer that does not say
    /// [`unprotected()`](SessionBuilder::unprotected).
    pub fn build(self) -> Result<SessionsLayer, ConfigError> {
        let metrics = Metrics::new(self.metrics);
        let mut compiled: Vec<(TypeId, Pipeline)> = Vec::with_capacity(self.drafts.len());
        for registration in self.drafts {
            if compiled.iter().any(|(_, p)| p.name == registration.name) {
                return Err(ConfigError::DuplicateName {
                    name: registration.name,
                });
            }
            if let Some((_, existing)) = compiled.iter().find(|(t, _)| *t == registration.type_id) {
                return Err(ConfigError::DuplicateType {
                    type_name: registration.type_name.to_owned(),
                    existing: existing.name.clone(),
                });
            }
            let pipeline = (registration.compile)(metrics)?;
            compiled.push((registration.type_id, pipeline));
        }
        Ok(SessionsLayer::new(Pipelines::new(
            compiled,
            self.clock,
            self.address,
        )))
    }
}

/// `storage` as the pipelines hold it: an `Arc<dyn SessionStorage>` is shared as it is (a
/// second `Arc` around it would cost every storage call another indirection and another boxed
/// future), anything else is put in an `Arc`.
fn shared<St: SessionStorage>(storage: St) -> Arc<dyn SessionStorage> {
    match (&storage as &dyn std::any::Any).downcast_ref::<Arc<dyn SessionStorage>>() {
        Some(shared) => Arc::clone(shared),
        None => Arc::new(storage),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    /// One distinct session type per `N`.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Many<const N: usize>;

    macro_rules! register {
        ($config:expr; $($n:literal)*) => {
            $config $(.cookie::<Many<$n>>(concat!("s", $n), |c| c.unprotected()))*
        };
    }

    #[test]
    fn more_than_128_sessions_build() {
        let config = register!(SessionsConfig::new(); 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 126 127 128 129 130);
        assert!(config.build().is_ok());
    }

    #[test]
    fn a_shared_storage_is_not_wrapped_again() {
        let storage: Arc<dyn SessionStorage> = Arc::new(MemoryStorage::new());
        assert!(Arc::ptr_eq(&shared(Arc::clone(&storage)), &storage));
        let concrete = Arc::new(MemoryStorage::new());
        let wrapped = shared(Arc::clone(&concrete));
        assert_eq!(
            Arc::strong_count(&concrete),
            2,
            "the Arc<MemoryStorage> is kept inside"
        );
        drop(wrapped);
        assert_eq!(Arc::strong_count(&concrete), 1);
    }
}
