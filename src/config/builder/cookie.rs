//! The cookie attributes of sessions carried in a cookie.

use std::time::Duration;

use super::SessionBuilder;
use crate::config::kind;
use crate::transport::cookie::CookieConfig;
use crate::transport::{CookieEncoding, SameSite};

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

    /// Ktor's cookie defaults exactly: `Path=/`, 7 days, `HttpOnly`, no `Secure`, no
    /// `SameSite`, URI encoding, and the `$x-enc=URI_ENCODING` attribute Ktor appends to every
    /// `Set-Cookie`. Settings made after this call apply on top.
    pub fn ktor_defaults(mut self) -> Self {
        let ktor = CookieConfig::ktor_defaults();
        self.draft.cookie.secure = ktor.secure;
        self.draft.cookie.same_site = ktor.same_site;
        self.draft.cookie.encoding_marker = ktor.encoding_marker;
        self
    }
}
