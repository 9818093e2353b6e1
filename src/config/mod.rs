//! The configuration: which sessions exist, how each travels, where each lives.
//!
//! [`SessionsConfig`] registers session types, each under a unique name and a unique Rust type,
//! as a cookie or a header, by value or by id. [`SessionsConfig::build`] checks everything and
//! returns the [`SessionsLayer`]; every configuration mistake is an error there, never a panic
//! or a surprise at request time.

pub(crate) mod builder;

use std::any::TypeId;
use std::net::IpAddr;
use std::sync::Arc;

pub use crate::id::RequestInfo;
pub use builder::{DEFAULT_RENEW_FRACTION, DEFAULT_STORAGE_TIMEOUT, SessionBuilder, kind};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::ConfigError;
use crate::id::{IdGenerator, Namespace};
use crate::layer::SessionsLayer;
use crate::metrics::Metrics;
use crate::pipeline::{AddressFn, Parts, Pipeline, Pipelines};
use crate::serializer::{Codec, ErasedCodec, Json};
use crate::storage::SessionStorage;
use crate::tracker::by_id::{Lifetime, Principals, StorageCalls};
use crate::tracker::{ById, ByValue, Tracker};
use crate::transport::cookie::CookieTransport;
use crate::transport::header::HeaderTransport;
use crate::transport::incoming::MAX_SESSIONS;
use crate::transport::{DEFAULT_MAX_AGE, Transport};
use builder::Draft;

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

    /// Reports counters and histograms through the `metrics` facade (feature `metrics`; off by
    /// default). See [`crate::metrics`] for the names and labels.
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
    pub fn cookie_with_storage<T: SessionData, St: SessionStorage>(
        self,
        name: &str,
        storage: St,
        configure: impl FnOnce(
            SessionBuilder<T, kind::CookieById>,
        ) -> SessionBuilder<T, kind::CookieById>,
    ) -> Self {
        self.register(name, Some(Arc::new(storage)), configure)
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

    /// Registers `T` as a session kept in `storage`, whose id travels in header `name`.
    pub fn header_with_storage<T: SessionData, St: SessionStorage>(
        self,
        name: &str,
        storage: St,
        configure: impl FnOnce(
            SessionBuilder<T, kind::HeaderById>,
        ) -> SessionBuilder<T, kind::HeaderById>,
    ) -> Self {
        self.register(name, Some(Arc::new(storage)), configure)
    }

    /// Registers a session whose storage is already shared (an `Arc`), so several
    /// configurations or the application itself can use the same storage. `K` is the
    /// [kind]: [`kind::CookieById`] or [`kind::HeaderById`].
    pub fn with_shared_storage<T: SessionData, K: KindInfo + kind::ById>(
        self,
        name: &str,
        storage: Arc<dyn SessionStorage>,
        configure: impl FnOnce(SessionBuilder<T, K>) -> SessionBuilder<T, K>,
    ) -> Self {
        self.register(name, Some(storage), configure)
    }

    fn register<T: SessionData, K: KindInfo>(
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
        if self.drafts.len() > MAX_SESSIONS {
            return Err(ConfigError::TooManySessions {
                count: self.drafts.len(),
                limit: MAX_SESSIONS,
            });
        }
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

/// What the registration code needs to know about a kind.
pub trait KindInfo: kind::Any {
    /// Carried in a header (not a cookie).
    const HEADER: bool;
}
impl KindInfo for kind::CookieByValue {
    const HEADER: bool = false;
}
impl KindInfo for kind::CookieById {
    const HEADER: bool = false;
}
impl KindInfo for kind::HeaderByValue {
    const HEADER: bool = true;
}
impl KindInfo for kind::HeaderById {
    const HEADER: bool = true;
}

/// Compiles one registration into its pipeline; every mistake is a [`ConfigError`].
fn compile(
    draft: Draft,
    header: bool,
    type_name: &'static str,
    codec: Box<dyn ErasedCodec>,
    metrics: Metrics,
) -> Result<Pipeline, ConfigError> {
    let name = draft.name;
    let invalid = |reason: &'static str| ConfigError::Invalid {
        name: name.clone(),
        reason: reason.into(),
    };
    let transport = if header {
        Transport::Header(HeaderTransport::new(&name)?)
    } else {
        Transport::Cookie(CookieTransport::new(&name, &draft.cookie)?)
    };
    let cookie_max_age = match &transport {
        Transport::Cookie(c) => c.max_age().filter(|d| !d.is_zero()),
        Transport::Header(_) => None,
    };
    let default_lifetime = cookie_max_age.unwrap_or(DEFAULT_MAX_AGE);
    if draft.storage.is_none() {
        match (draft.chain.is_empty(), draft.unprotected) {
            (true, false) => return Err(ConfigError::Unprotected { name }),
            (false, true) => {
                return Err(invalid(
                    "`unprotected()` and a transformer contradict each other; remove one",
                ));
            }
            _ => {}
        }
    }
    let tracker = match draft.storage {
        None if codec.version().is_some() && draft.chain.is_empty() => {
            return Err(invalid(
                "a versioned by-value session needs a transformer (`Encrypt` or `Sign`): the version travels inside what it authenticates",
            ));
        }
        None => Tracker::ByValue(ByValue {
            ttl: draft.ttl.unwrap_or(Some(default_lifetime)),
            send_only_if_modified: draft.send_only_if_modified,
        }),
        Some(storage) => {
            let lifetime = draft.lifetime.unwrap_or(default_lifetime);
            if lifetime.is_zero() {
                return Err(invalid("the lifetime must be longer than zero"));
            }
            if draft.idle_timeout.is_some_and(|d| d.is_zero()) {
                return Err(invalid("the idle timeout must be longer than zero"));
            }
            if !(0.0..=1.0).contains(&draft.renew_fraction) {
                return Err(invalid("`renew_after` must be between 0.0 and 1.0"));
            }
            if draft.storage_timeout.is_some_and(|d| d.is_zero()) {
                return Err(invalid("the storage timeout must be longer than zero"));
            }
            let wants_index = draft.principal.is_some() || draft.principal_limit.is_some();
            if wants_index && !storage.supports_principals() {
                return Err(invalid(
                    "sessions with a principal need a storage that keeps a principal index (every storage of this crate does, but the Ktor-compatible directory layout)",
                ));
            }
            let devices = draft.devices.unwrap_or(draft.principal.is_some());
            Tracker::ById(ById {
                storage: StorageCalls::new(
                    storage,
                    Namespace::new(&name),
                    draft.storage_timeout,
                    metrics,
                ),
                lifetime: Lifetime {
                    lifetime,
                    idle_timeout: draft.idle_timeout,
                    renew_fraction: draft.renew_fraction,
                    max_lifetime: draft.max_lifetime.unwrap_or(lifetime),
                },
                principals: Principals {
                    of_value: draft.principal,
                    limit: draft.principal_limit,
                    devices,
                },
                ids: IdGenerator::new(draft.identity),
                send_only_if_modified: draft.send_only_if_modified,
                version: codec.version(),
                metrics,
                update_locks: crate::tracker::UpdateLocks::default(),
            })
        }
    };
    Ok(Pipeline::new(Parts {
        name,
        type_name,
        transport,
        chain: draft.chain,
        codec,
        tracker,
        metrics,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One distinct session type per `N`.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Many<const N: usize>;

    macro_rules! register {
        ($config:expr; $($n:literal)*) => {
            $config $(.cookie::<Many<$n>>(concat!("s", $n), |c| c.unprotected()))*
        };
    }

    #[test]
    fn more_sessions_than_the_scan_serves_is_a_build_error() {
        let too_many = register!(SessionsConfig::new(); 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 126 127 128);
        assert_eq!(
            too_many.build().err(),
            Some(ConfigError::TooManySessions {
                count: MAX_SESSIONS + 1,
                limit: MAX_SESSIONS
            })
        );
    }

    #[test]
    fn the_limit_itself_builds() {
        let config = register!(SessionsConfig::new(); 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115 116 117 118 119 120 121 122 123 124 125 126 127);
        assert!(config.build().is_ok());
    }
}
