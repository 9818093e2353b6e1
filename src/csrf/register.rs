//! [`SessionsConfig::csrf`]: the CSRF cookie, registered like any other session.

use std::time::Duration;

use super::layer::CsrfLayer;
use super::secret::CsrfSecret;
use crate::config::{SessionBuilder, SessionsConfig, kind};
use crate::transform::Encrypt;

/// How long a browser keeps its CSRF cookie: a year (as Django does), so that a form left open
/// for days still submits. The cookie grants nothing on its own, so it carries no expiry
/// inside its value.
pub const CSRF_COOKIE_MAX_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

impl SessionsConfig {
    /// Registers the cookie of the CSRF protection `csrf` under `name`: a by-value session
    /// holding the browser's [`CsrfSecret`], encrypted with the layer's key, kept
    /// [a year](CSRF_COOKIE_MAX_AGE), with the library's cookie defaults (`HttpOnly`,
    /// `Secure`, `SameSite=Lax`, `Path=/`). `configure` adjusts it like any cookie session
    /// (`secure(false)` for plain-http development; a `__Host-` name in production keeps
    /// sibling subdomains from planting one).
    ///
    /// The cookie is written only when a response carries a [`CsrfToken`](super::CsrfToken)
    /// and the browser has none yet; no request creates anything on the server.
    ///
    /// ```
    /// use typed_sessions::csrf::CsrfConfig;
    /// use typed_sessions::{Key, SessionsConfig};
    ///
    /// let key = Key::generate();
    /// let csrf = CsrfConfig::new(key.clone()).build()?;
    /// let sessions = SessionsConfig::new()
    ///     .csrf("__Host-csrf", &csrf, |c| c)
    ///     .build()?;
    /// # Ok::<(), typed_sessions::ConfigError>(())
    /// ```
    pub fn csrf(
        self,
        name: &str,
        csrf: &CsrfLayer,
        configure: impl FnOnce(
            SessionBuilder<CsrfSecret, kind::CookieByValue>,
        ) -> SessionBuilder<CsrfSecret, kind::CookieByValue>,
    ) -> Self {
        let keys = csrf.keys().clone();
        self.cookie::<CsrfSecret>(name, move |c| {
            configure(
                c.max_age(CSRF_COOKIE_MAX_AGE)
                    .ttl(None)
                    .transform(Encrypt::new(keys)),
            )
        })
    }
}
