//! The cookie transport: attributes, their validation, and the `Set-Cookie` line.
//!
//! Everything about a session's cookie that does not change per response is rendered once, when
//! the configuration is built: the `name=` prefix, the attribute suffix, and the whole deletion
//! cookie. A response only adds the encoded value, `Max-Age` and a cached `Expires` date.
//!
//! The attribute order is Ktor's:
//! `name=value; Max-Age=N; Expires=DATE; Domain=D; Path=P; Secure; HttpOnly; SameSite=S; ext...`.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::RenderError;
use super::encoding::CookieEncoding;
use super::http_date;
use crate::error::ConfigError;

/// Ktor's default cookie lifetime: 7 days.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The largest `Set-Cookie` value (name, value and attributes) a session may produce. Browsers
/// drop larger cookies silently (RFC 6265 §6.1), so the library refuses to send one.
pub const MAX_COOKIE_SIZE: usize = 4096;

/// The `SameSite` cookie attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Sent with same-site requests and top-level navigations (the default).
    Lax,
    /// Sent with every request; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// The attributes of a session cookie, set through the cookie settings of
/// [`SessionBuilder`](crate::SessionBuilder).
///
/// Defaults are secure: `Path=/`, `Max-Age` 7 days, `Secure`, `HttpOnly`, `SameSite=Lax`, no
/// `Domain`, Ktor's URI encoding. [`CookieConfig::ktor_defaults`] gives Ktor's own defaults
/// instead (`Secure` off, no `SameSite`, and Ktor's `$x-enc` marker attribute).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CookieConfig {
    pub(crate) path: Option<String>,
    pub(crate) domain: Option<String>,
    pub(crate) max_age: Option<Duration>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: Option<SameSite>,
    pub(crate) extensions: Vec<(String, Option<String>)>,
    pub(crate) encoding: CookieEncoding,
    pub(crate) encoding_marker: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            path: Some("/".to_owned()),
            domain: None,
            max_age: Some(DEFAULT_MAX_AGE),
            secure: true,
            http_only: true,
            same_site: Some(SameSite::Lax),
            extensions: Vec::new(),
            encoding: CookieEncoding::Uri,
            encoding_marker: false,
        }
    }
}

impl CookieConfig {
    /// Ktor's defaults exactly: `Path=/`, 7 days, `HttpOnly`, no `Secure`, no `SameSite`, URI
    /// encoding, and the `$x-enc=URI_ENCODING` attribute Ktor appends to every `Set-Cookie`.
    pub(crate) fn ktor_defaults() -> CookieConfig {
        CookieConfig {
            secure: false,
            same_site: None,
            encoding_marker: true,
            ..CookieConfig::default()
        }
    }
}

/// A session cookie ready to render: the parts that never change, computed at build time.
#[derive(Debug)]
pub(crate) struct CookieTransport {
    name: String,
    /// `name=`.
    prefix: String,
    /// `; Domain=..; Path=..; Secure; HttpOnly; SameSite=..; ext..`.
    suffix: String,
    /// The complete deletion cookie.
    removal: http::HeaderValue,
    max_age: Option<Duration>,
    pub(crate) encoding: CookieEncoding,
}

impl CookieTransport {
    /// Validates `config` for cookie `name` and pre-renders everything it can.
    pub(crate) fn new(name: &str, config: &CookieConfig) -> Result<CookieTransport, ConfigError> {
        validate_name(name)?;
        validate(name, config)?;
        let mut suffix = String::new();
        if let Some(domain) = &config.domain {
            let _ = write!(suffix, "; Domain={domain}");
        }
        if let Some(path) = &config.path {
            let _ = write!(suffix, "; Path={path}");
        }
        if config.secure {
            suffix.push_str("; Secure");
        }
        if config.http_only {
            suffix.push_str("; HttpOnly");
        }
        if let Some(same_site) = config.same_site {
            let _ = write!(suffix, "; SameSite={}", same_site.as_str());
        }
        for (key, value) in &config.extensions {
            match value {
                Some(value) => {
                    let _ = write!(suffix, "; {key}={value}");
                }
                None => {
                    let _ = write!(suffix, "; {key}");
                }
            }
        }
        if config.encoding_marker {
            let _ = write!(suffix, "; $x-enc={}", config.encoding.ktor_name());
        }
        let removal = format!("{name}=; Max-Age=0; Expires={}{suffix}", http_date::EPOCH);
        let removal =
            http::HeaderValue::from_str(&removal).map_err(|_| ConfigError::InvalidCombination {
                name: name.to_owned(),
                reason: "the cookie attributes do not form a valid header value".into(),
            })?;
        Ok(CookieTransport {
            name: name.to_owned(),
            prefix: format!("{name}="),
            suffix,
            removal,
            max_age: config.max_age,
            encoding: config.encoding,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The lifetime the cookie asks the browser for.
    pub(crate) fn max_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The deletion cookie: empty value, `Max-Age=0`, `Expires` in 1970, every attribute.
    pub(crate) fn removal(&self) -> http::HeaderValue {
        self.removal.clone()
    }

    /// Renders the `Set-Cookie` value for an already transformed session value.
    ///
    /// Fails when the value cannot be encoded or the cookie would exceed [`MAX_COOKIE_SIZE`]
    /// (the error carries the size it would have had).
    pub(crate) fn render(
        &self,
        value: &str,
        now: SystemTime,
    ) -> Result<http::HeaderValue, RenderError> {
        self.render_lasting(value, now, self.max_age)
    }

    /// [`render`](Self::render) with a cookie that lasts until `until` rather than the
    /// configured max age (a session whose lifetime was chosen for it).
    pub(crate) fn render_until(
        &self,
        value: &str,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<http::HeaderValue, RenderError> {
        let remaining = until.duration_since(now).unwrap_or(Duration::ZERO);
        self.render_lasting(value, now, Some(remaining))
    }

    fn render_lasting(
        &self,
        value: &str,
        now: SystemTime,
        max_age: Option<Duration>,
    ) -> Result<http::HeaderValue, RenderError> {
        if !self.encoding.can_encode(value) {
            return Err(RenderError::Unencodable);
        }
        let encoded = self.encoding.encode(value);
        let mut digits = itoa::Buffer::new();
        let max_age = max_age.map(|max_age| {
            let secs = max_age.as_secs();
            (max_age, secs, digits.format(secs.min(i32::MAX as u64)))
        });
        // The exact length, so that the header's bytes take over the string's allocation
        // (a `Bytes` made from a vector with spare capacity allocates a second block).
        let attributes = max_age.as_ref().map_or(0, |(_, secs, digits)| {
            MAX_AGE.len()
                + digits.len()
                + if *secs > 0 {
                    EXPIRES.len() + http_date::LEN
                } else {
                    0
                }
        });
        let mut line = String::with_capacity(
            self.prefix.len() + encoded.len() + attributes + self.suffix.len(),
        );
        line.push_str(&self.prefix);
        line.push_str(&encoded);
        if let Some((max_age, secs, digits)) = max_age {
            line.push_str(MAX_AGE);
            line.push_str(digits);
            if secs > 0 {
                line.push_str(EXPIRES);
                http_date::push_expires(&mut line, now, max_age);
            }
        }
        line.push_str(&self.suffix);
        if line.len() > MAX_COOKIE_SIZE {
            return Err(RenderError::TooLarge {
                size: line.len(),
                limit: MAX_COOKIE_SIZE,
            });
        }
        http::HeaderValue::from_maybe_shared(bytes::Bytes::from(line))
            .map_err(|_| RenderError::Unencodable)
    }
}

const MAX_AGE: &str = "; Max-Age=";
const EXPIRES: &str = "; Expires=";

/// RFC 6265 `cookie-name` = RFC 7230 `token`; a leading `$` is refused (such names are
/// reserved, and Ktor skips them when parsing).
pub(crate) fn validate_name(name: &str) -> Result<(), ConfigError> {
    let invalid = |reason| ConfigError::InvalidCookieName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.starts_with('$') {
        return Err(invalid("names starting with `$` are reserved"));
    }
    if !name.bytes().all(is_token_byte) {
        return Err(invalid(
            "only letters, digits and !#$%&'*+-.^_`|~ are allowed (no spaces, separators or control characters)",
        ));
    }
    Ok(())
}

/// An RFC 7230 `tchar`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// An attribute value must not end the attribute early or break the header line.
fn validate_attribute(name: &str, attribute: &str, value: &str) -> Result<(), ConfigError> {
    if value.bytes().any(|b| b == b';' || b < b' ' || b == 0x7f) {
        return Err(ConfigError::InvalidAttribute {
            name: name.to_owned(),
            attribute: attribute.to_owned(),
            reason: "the value must not contain `;` or control characters",
        });
    }
    if value.len() > 1024 {
        return Err(ConfigError::InvalidAttribute {
            name: name.to_owned(),
            attribute: attribute.to_owned(),
            reason: "browsers ignore attribute values over 1024 bytes",
        });
    }
    Ok(())
}

fn validate(name: &str, c: &CookieConfig) -> Result<(), ConfigError> {
    let combination = |reason: &'static str| ConfigError::InvalidCombination {
        name: name.to_owned(),
        reason: reason.into(),
    };
    if let Some(path) = &c.path {
        validate_attribute(name, "Path", path)?;
        if !path.starts_with('/') {
            return Err(ConfigError::InvalidAttribute {
                name: name.to_owned(),
                attribute: "Path".to_owned(),
                reason: "a cookie path must start with `/`",
            });
        }
    }
    if let Some(domain) = &c.domain {
        validate_attribute(name, "Domain", domain)?;
        if domain.is_empty() || domain.bytes().any(|b| b == b' ' || b == b',') {
            return Err(ConfigError::InvalidAttribute {
                name: name.to_owned(),
                attribute: "Domain".to_owned(),
                reason: "a domain must be a non-empty host name",
            });
        }
    }
    for (key, value) in &c.extensions {
        if key.is_empty() || !key.bytes().all(is_token_byte) {
            return Err(ConfigError::InvalidAttribute {
                name: name.to_owned(),
                attribute: key.clone(),
                reason: "an attribute name must be a token",
            });
        }
        let reserved = [
            "path", "domain", "max-age", "expires", "secure", "httponly", "samesite",
        ];
        if reserved.contains(&key.to_ascii_lowercase().as_str()) {
            return Err(ConfigError::InvalidAttribute {
                name: name.to_owned(),
                attribute: key.clone(),
                reason: "this attribute has its own setting; use it instead of an extension",
            });
        }
        if let Some(value) = value {
            validate_attribute(name, key, value)?;
        }
    }
    if c.same_site == Some(SameSite::None) && !c.secure {
        return Err(combination(
            "`SameSite=None` requires `Secure`; browsers reject the cookie otherwise",
        ));
    }
    if has_cookie_prefix(name, "__Host-") {
        if !c.secure {
            return Err(combination("a `__Host-` cookie must be `Secure`"));
        }
        if c.domain.is_some() {
            return Err(combination("a `__Host-` cookie must not have a `Domain`"));
        }
        if c.path.as_deref() != Some("/") {
            return Err(combination("a `__Host-` cookie must have `Path=/`"));
        }
    }
    if has_cookie_prefix(name, "__Secure-") && !c.secure {
        return Err(combination("a `__Secure-` cookie must be `Secure`"));
    }
    Ok(())
}

/// Whether cookie `name` carries `prefix`, compared as browsers compare it: ignoring ASCII case
/// (RFC 6265bis; `__HOST-s` gets the `__Host-` rules in current browsers).
fn has_cookie_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn render(name: &str, c: &CookieConfig, value: &str) -> String {
        let t = CookieTransport::new(name, c).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        t.render(value, now).unwrap().to_str().unwrap().to_owned()
    }

    #[test]
    fn ktor_default_cookie_is_byte_identical() {
        assert_eq!(
            render(
                "user_session",
                &CookieConfig::ktor_defaults(),
                r#"{"id":"123abc","count":0}"#
            ),
            "user_session=%7B%22id%22%3A%22123abc%22%2C%22count%22%3A0%7D; Max-Age=604800; \
             Expires=Tue, 21 Nov 2023 22:13:20 GMT; Path=/; HttpOnly; $x-enc=URI_ENCODING"
        );
    }

    #[test]
    fn secure_defaults() {
        assert_eq!(
            render("s", &CookieConfig::default(), "v"),
            "s=v; Max-Age=604800; Expires=Tue, 21 Nov 2023 22:13:20 GMT; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn max_age_none_zero_and_huge() {
        let mut c = CookieConfig {
            max_age: None,
            ..CookieConfig::default()
        };
        assert_eq!(
            render("s", &c, "v"),
            "s=v; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
        c.max_age = Some(Duration::ZERO);
        assert_eq!(
            render("s", &c, "v"),
            "s=v; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
        c.max_age = Some(Duration::from_secs(u64::MAX));
        let line = render("s", &c, "v");
        assert!(
            line.contains("; Max-Age=2147483647; Expires=Fri, 31 Dec 9999 23:59:59 GMT;"),
            "{line}"
        );
        c.max_age = Some(Duration::from_secs(36500 * 86400));
        assert!(render("s", &c, "v").contains("Max-Age=2147483647;"));
    }

    #[test]
    fn removal_carries_every_attribute() {
        let c = CookieConfig {
            domain: Some("example.com".into()),
            path: Some("/shop".into()),
            same_site: Some(SameSite::None),
            extensions: vec![
                ("Partitioned".into(), None),
                ("Priority".into(), Some("High".into())),
            ],
            ..CookieConfig::default()
        };
        let t = CookieTransport::new("cart", &c).unwrap();
        assert_eq!(
            t.removal().to_str().unwrap(),
            "cart=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Domain=example.com; \
             Path=/shop; Secure; HttpOnly; SameSite=None; Partitioned; Priority=High"
        );
    }

    #[test]
    fn size_guard() {
        let t = CookieTransport::new("s", &CookieConfig::default()).unwrap();
        let now = SystemTime::now();
        assert!(t.render(&"a".repeat(3900), now).is_ok());
        assert!(
            matches!(t.render(&"a".repeat(4096), now), Err(RenderError::TooLarge { size, limit: 4096 }) if size > 4096)
        );
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let bad_name = |n: &str| CookieTransport::new(n, &CookieConfig::default()).unwrap_err();
        assert!(matches!(
            bad_name(""),
            ConfigError::InvalidCookieName { .. }
        ));
        assert!(matches!(
            bad_name("a b"),
            ConfigError::InvalidCookieName { .. }
        ));
        assert!(matches!(
            bad_name("a;b"),
            ConfigError::InvalidCookieName { .. }
        ));
        assert!(matches!(
            bad_name("$x"),
            ConfigError::InvalidCookieName { .. }
        ));
        assert!(matches!(
            bad_name("é"),
            ConfigError::InvalidCookieName { .. }
        ));

        let bad =
            |c: CookieConfig, name: &str| CookieTransport::new(name, &c).unwrap_err().to_string();
        let none_insecure = CookieConfig {
            same_site: Some(SameSite::None),
            secure: false,
            ..Default::default()
        };
        assert!(bad(none_insecure, "s").contains("SameSite=None"));
        let host_domain = CookieConfig {
            domain: Some("a.com".into()),
            ..Default::default()
        };
        assert!(bad(host_domain, "__Host-s").contains("Domain"));
        let host_path = CookieConfig {
            path: Some("/x".into()),
            ..Default::default()
        };
        assert!(bad(host_path, "__Host-s").contains("Path=/"));
        let host_insecure = CookieConfig {
            secure: false,
            same_site: None,
            ..Default::default()
        };
        assert!(bad(host_insecure.clone(), "__Host-s").contains("Secure"));
        assert!(bad(host_insecure, "__Secure-s").contains("Secure"));
        let injected = CookieConfig {
            path: Some("/; Domain=evil.com".into()),
            ..Default::default()
        };
        assert!(bad(injected, "s").contains("Path"));
        let crlf = CookieConfig {
            domain: Some("a.com\r\nX: y".into()),
            ..Default::default()
        };
        assert!(bad(crlf, "s").contains("Domain"));
        let dup = CookieConfig {
            extensions: vec![("SameSite".into(), Some("Strict".into()))],
            ..Default::default()
        };
        assert!(bad(dup, "s").contains("SameSite"));
        assert!(CookieTransport::new("__Host-s", &CookieConfig::default()).is_ok());
    }
}
