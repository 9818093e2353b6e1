//! [`CsrfConfig`]: the settings of the CSRF protection, checked by
//! [`build`](CsrfConfig::build) into the [`CsrfLayer`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::HeaderName;

use super::form::DEFAULT_FORM_LIMIT;
use super::layer::{BoundId, CsrfLayer, Settings, bound_id};
use super::origin::{Origin, OriginPolicy};
use super::rejection::Refusal;
use crate::error::ConfigError;
use crate::transform::KeyRing;

/// The form field a token travels in by default.
pub const DEFAULT_FIELD: &str = "csrf_token";

/// The request header a token travels in by default (for scripts and API clients).
pub const DEFAULT_HEADER: &str = "x-csrf-token";

/// The settings of the CSRF protection. [`build`](Self::build) checks them and returns the
/// [`CsrfLayer`].
///
/// ```
/// use typed_sessions::csrf::{CsrfConfig, Refusal};
/// use typed_sessions::Key;
/// # #[derive(Clone, serde::Serialize, serde::Deserialize)] struct UserSession;
///
/// let csrf = CsrfConfig::new(Key::generate())
///     .bind::<UserSession>()                        // tokens change when its id changes
///     .exempt("/webhooks")                          // signed by the sender instead
///     .trust_origin("https://admin.example.com")    // a front end on another site
///     .exempt_header_sessions(true)                 // API clients with a header session
///     .build()?;
/// # Ok::<(), typed_sessions::ConfigError>(())
/// ```
#[must_use = "nothing is protected until `build` is called and the layer is added to a router"]
pub struct CsrfConfig {
    keys: KeyRing,
    bound: Option<(BoundId, &'static str)>,
    exempt: Vec<String>,
    trusted: Vec<String>,
    allow_same_site: bool,
    exempt_header_sessions: bool,
    field: String,
    header: String,
    form_limit: usize,
    refusal: Refusal,
}

impl fmt::Debug for CsrfConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsrfConfig")
            .field("bound", &self.bound.map(|(_, name)| name))
            .field("exempt", &self.exempt)
            .field("trusted", &self.trusted)
            .field("allow_same_site", &self.allow_same_site)
            .field("exempt_header_sessions", &self.exempt_header_sessions)
            .field("field", &self.field)
            .field("header", &self.header)
            .field("form_limit", &self.form_limit)
            .finish_non_exhaustive()
    }
}

impl CsrfConfig {
    /// The protection with tokens derived from `keys` (a [`Key`](crate::Key) or a
    /// [`KeyRing`]: tokens issued under a previous key of the ring still verify). The token
    /// key is derived from each master key with HKDF for this purpose alone, so the
    /// application's one key can serve its sessions and this layer.
    pub fn new(keys: impl Into<KeyRing>) -> CsrfConfig {
        CsrfConfig {
            keys: keys.into(),
            bound: None,
            exempt: Vec::new(),
            trusted: Vec::new(),
            allow_same_site: false,
            exempt_header_sessions: false,
            field: DEFAULT_FIELD.to_owned(),
            header: DEFAULT_HEADER.to_owned(),
            form_limit: DEFAULT_FORM_LIMIT,
            refusal: Refusal::Forbidden,
        }
    }

    /// Binds tokens to the by-id session of type `T` (the login): a token includes the id
    /// of that session, so it is valid for that session only, and every token issued before
    /// a login, a [`regenerate`](crate::Sessions::regenerate), a password change
    /// ([`credentials_changed`](crate::Sessions::credentials_changed)) or a logout stops
    /// working.
    /// Without a bound session, tokens are bound to the browser's CSRF cookie alone.
    ///
    /// `T` must be registered as a by-id session with a sessions layer around this one
    /// (otherwise each checked request fails with a `500` and the reason is logged).
    pub fn bind<T: Send + Sync + 'static>(mut self) -> Self {
        self.bound = Some((bound_id::<T>, std::any::type_name::<T>()));
        self
    }

    /// Exempts the requests whose path is `prefix` or lies below it (`"/webhooks"` exempts
    /// `/webhooks` and `/webhooks/github`, not `/webhooks-old`), for endpoints that other
    /// sites call on purpose and that authenticate the sender themselves. The path is the one
    /// the layer sees: inside a nested router, axum has removed the nesting prefix.
    ///
    /// Another way to exempt routes is to add the layer only to the others (axum's
    /// `route_layer`, or a nested router).
    pub fn exempt(mut self, prefix: impl Into<String>) -> Self {
        self.exempt.push(prefix.into());
        self
    }

    /// Trusts requests whose `Origin` is `origin` (`scheme://host[:port]`, as browsers send
    /// it), whatever their `Sec-Fetch-Site` says: a front end served from another site. They
    /// still need a token. The request's own host is always allowed.
    pub fn trust_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted.push(origin.into());
        self
    }

    /// Allows requests from other origins of the same site (`Sec-Fetch-Site: same-site`,
    /// sibling subdomains); they still need a token. Off by default: a sibling subdomain
    /// that serves user content could otherwise post forms here.
    pub fn allow_same_site(mut self, allow: bool) -> Self {
        self.allow_same_site = allow;
        self
    }

    /// Exempts requests that carry a header session and no cookie session (the CSRF cookie
    /// aside). Browsers never attach such a header on their own, and a cross-site page
    /// cannot add one without the server's CORS consent, so these requests are not
    /// browser-driven: API clients. Off by default.
    pub fn exempt_header_sessions(mut self, exempt: bool) -> Self {
        self.exempt_header_sessions = exempt;
        self
    }

    /// The form field that carries the token (default [`DEFAULT_FIELD`], `csrf_token`):
    /// letters, digits, `_`, `-` and `.` only, so it can be written into HTML as is.
    pub fn field_name(mut self, name: impl Into<String>) -> Self {
        self.field = name.into();
        self
    }

    /// The request header that carries the token (default [`DEFAULT_HEADER`],
    /// `x-csrf-token`). A token in the header is used before the form field, and the body is
    /// then not read.
    pub fn header_name(mut self, name: impl Into<String>) -> Self {
        self.header = name.into();
        self
    }

    /// How many bytes of a URL-encoded form the layer reads to find the token (default
    /// [`DEFAULT_FORM_LIMIT`], 2 MiB). A larger form without the header is refused
    /// ([`CsrfRejection::FormTooLarge`](super::CsrfRejection::FormTooLarge)).
    pub fn form_limit(mut self, bytes: usize) -> Self {
        self.form_limit = bytes;
        self
    }

    /// What a refused request gets (default: `403` with the reason, see [`Refusal`]).
    pub fn refusal(mut self, refusal: Refusal) -> Self {
        self.refusal = refusal;
        self
    }

    /// Checks the settings and builds the layer. Fails on an invalid origin, field or header
    /// name, exempt path or form limit.
    pub fn build(self) -> Result<CsrfLayer, ConfigError> {
        let invalid = |reason: String| ConfigError::Csrf {
            reason: Cow::Owned(reason),
        };
        let trusted = self
            .trusted
            .iter()
            .map(|text| {
                Origin::parse(text).ok_or_else(|| {
                    invalid(format!(
                        "`{text}` is not an origin (`scheme://host[:port]`, no path)"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let field_ok = !self.field.is_empty()
            && self
                .field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !field_ok {
            return Err(invalid(format!(
                "`{}` is not a usable form field name (letters, digits, `_`, `-`, `.`)",
                self.field
            )));
        }
        let header = HeaderName::from_bytes(self.header.as_bytes())
            .map_err(|_| invalid(format!("`{}` is not a valid header name", self.header)))?;
        if let Some(path) = self.exempt.iter().find(|p| !p.starts_with('/')) {
            return Err(invalid(format!(
                "the exempt path `{path}` does not start with `/`"
            )));
        }
        if self.form_limit == 0 {
            return Err(invalid(
                "the form limit must be more than zero bytes".into(),
            ));
        }
        Ok(CsrfLayer::new(Arc::new(Settings {
            tokens: super::token::TokenKeys::new(&self.keys),
            keys: self.keys,
            bound: self.bound.map(|(f, _)| f),
            exempt: self
                .exempt
                .into_iter()
                .map(|p| p.trim_end_matches('/').to_owned())
                .collect(),
            origins: OriginPolicy {
                trusted,
                allow_same_site: self.allow_same_site,
            },
            exempt_header_sessions: self.exempt_header_sessions,
            field: self.field.into(),
            header,
            form_limit: self.form_limit,
            refusal: self.refusal,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Key;

    fn reason(config: CsrfConfig) -> String {
        match config.build() {
            Err(ConfigError::Csrf { reason }) => reason.into_owned(),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn mistakes_are_build_errors() {
        let new = || CsrfConfig::new(Key::generate());
        assert!(reason(new().trust_origin("https://a.com/path")).contains("not an origin"));
        assert!(reason(new().trust_origin("null")).contains("not an origin"));
        assert!(reason(new().field_name("a\"b")).contains("form field"));
        assert!(reason(new().field_name("")).contains("form field"));
        assert!(reason(new().header_name("x csrf")).contains("header name"));
        assert!(reason(new().exempt("webhooks")).contains("start with `/`"));
        assert!(reason(new().form_limit(0)).contains("form limit"));
        let built = new()
            .trust_origin("https://a.com")
            .exempt("/hooks/")
            .field_name("_token")
            .header_name("X-XSRF-Token")
            .build();
        assert!(built.is_ok());
    }
}
