//! Where a request comes from, as the browser says: Fetch Metadata (`Sec-Fetch-Site`) and
//! `Origin`, checked against the request's own host and the trusted origins before any token
//! is looked at.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderName, Uri};

use super::rejection::CsrfRejection;

/// `Sec-Fetch-Site` (not among `http`'s constants).
static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// An origin: scheme, host and port, lowercased, the port explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` as browsers serialize an origin (no path, no user
    /// information); `None` for anything else, `null` included.
    pub(crate) fn parse(text: &str) -> Option<Origin> {
        let (scheme, authority) = text.split_once("://")?;
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return None;
        }
        let scheme = scheme.to_ascii_lowercase();
        let (host, port) = split_authority(authority)?;
        let port = match port {
            Some(port) => port,
            None => default_port(&scheme)?,
        };
        Some(Origin { scheme, host, port })
    }

    /// Whether this origin is the host a request was sent to (`Host`, or the URI's authority
    /// under HTTP/2), the port defaulting to the origin's scheme's. The scheme is not
    /// compared: a server behind a TLS-terminating proxy does not see it.
    fn is_host(&self, authority: &str) -> bool {
        match split_authority(authority) {
            Some((host, port)) => {
                host == self.host && port.or_else(|| default_port(&self.scheme)) == Some(self.port)
            }
            None => false,
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// `host[:port]` (an IPv6 host in brackets) into the lowercased host and the port.
fn split_authority(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (inside, rest) = v6.split_once(']')?;
            let port = match rest {
                "" => None,
                rest => Some(rest.strip_prefix(':')?),
            };
            (format!("[{inside}]"), port)
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        },
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
        });
    if !host_ok {
        return None;
    }
    let port = match port {
        None => None,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse().ok()?)
        }
        Some(_) => return None,
    };
    Some((host.to_ascii_lowercase(), port))
}

/// The origin policy: which requests may reach the token check.
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginPolicy {
    /// Origins allowed besides the request's own host, whatever `Sec-Fetch-Site` says.
    pub(crate) trusted: Vec<Origin>,
    /// Whether `Sec-Fetch-Site: same-site` (another origin of this site) is allowed.
    pub(crate) allow_same_site: bool,
}

impl OriginPolicy {
    /// Checks where the request comes from:
    ///
    /// 1. `Sec-Fetch-Site: same-origin` or `none` (the user typed the address, or a
    ///    bookmark): allowed; the browser vouches for it.
    /// 2. `same-site`: allowed if configured or if the `Origin` is trusted; `cross-site` and
    ///    unknown values: allowed only if the `Origin` is trusted.
    /// 3. Without `Sec-Fetch-Site` (older browsers, other clients): an `Origin`, if present,
    ///    must be the request's own host or a trusted origin; `null` never is.
    pub(crate) fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), CsrfRejection> {
        let origin = headers
            .get(ORIGIN)
            .map(|value| value.to_str().ok().and_then(Origin::parse));
        let trusted = matches!(&origin, Some(Some(o)) if self.trusted.contains(o));
        if let Some(site) = headers.get(&SEC_FETCH_SITE) {
            return match site.as_bytes() {
                b"same-origin" | b"none" => Ok(()),
                _ if trusted => Ok(()),
                b"same-site" if self.allow_same_site => Ok(()),
                b"same-site" => Err(CsrfRejection::SameSite),
                b"cross-site" => Err(CsrfRejection::CrossSite),
                _ => Err(CsrfRejection::UnknownFetchSite),
            };
        }
        let own = || {
            let host = headers.get(HOST).and_then(|h| h.to_str().ok());
            host.or_else(|| uri.authority().map(|a| a.as_str()))
        };
        match origin {
            None => Ok(()),
            Some(_) if trusted => Ok(()),
            Some(Some(origin)) if own().is_some_and(|host| origin.is_host(host)) => Ok(()),
            Some(_) => Err(CsrfRejection::ForeignOrigin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &OriginPolicy, headers: &[(&str, &str)]) -> Result<(), CsrfRejection> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        policy.check(&map, &Uri::from_static("/form"))
    }

    #[test]
    fn origins_parse_as_browsers_serialize_them() {
        let o = Origin::parse("HTTPS://Example.COM").unwrap();
        assert_eq!(o.to_string(), "https://example.com:443");
        assert_eq!(
            Origin::parse("http://127.0.0.1:8080").unwrap().to_string(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            Origin::parse("http://[::1]:3000").unwrap().to_string(),
            "http://[::1]:3000"
        );
        for bad in [
            "null",
            "",
            "example.com",
            "https://",
            "https://a.com/path",
            "https://user@a.com",
            "https://a.com:",
            "https://a.com:99999",
            "ftp://a.com",
            "1http://a.com",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn fetch_metadata_decides_first() {
        let policy = OriginPolicy::default();
        let site = |v: &'static str| ("sec-fetch-site", v);
        assert_eq!(check(&policy, &[site("same-origin")]), Ok(()));
        assert_eq!(check(&policy, &[site("none")]), Ok(()));
        assert_eq!(
            check(&policy, &[site("cross-site")]),
            Err(CsrfRejection::CrossSite)
        );
        assert_eq!(
            check(&policy, &[site("same-site")]),
            Err(CsrfRejection::SameSite)
        );
        assert_eq!(
            check(&policy, &[site("elsewhere")]),
            Err(CsrfRejection::UnknownFetchSite)
        );
        // Cross-site even though the Origin looks like the host: the browser knows better.
        let spoof = [
            site("cross-site"),
            ("origin", "http://shop.test"),
            ("host", "shop.test"),
        ];
        assert_eq!(check(&policy, &spoof), Err(CsrfRejection::CrossSite));
        let lenient = OriginPolicy {
            allow_same_site: true,
            ..OriginPolicy::default()
        };
        assert_eq!(check(&lenient, &[site("same-site")]), Ok(()));
        assert_eq!(
            check(&lenient, &[site("cross-site")]),
            Err(CsrfRejection::CrossSite)
        );
    }

    #[test]
    fn a_trusted_origin_passes_whatever_the_site() {
        let policy = OriginPolicy {
            trusted: vec![Origin::parse("https://admin.example.com").unwrap()],
            allow_same_site: false,
        };
        let from = |origin: &'static str, site: &'static str| {
            check(&policy, &[("origin", origin), ("sec-fetch-site", site)])
        };
        assert_eq!(from("https://admin.example.com", "cross-site"), Ok(()));
        assert_eq!(from("https://admin.example.com:443", "same-site"), Ok(()));
        assert_eq!(
            from("http://admin.example.com", "cross-site"),
            Err(CsrfRejection::CrossSite),
            "another scheme is another origin"
        );
    }

    #[test]
    fn without_fetch_metadata_the_origin_must_be_the_host() {
        let policy = OriginPolicy::default();
        let host = ("host", "shop.test:8080");
        assert_eq!(
            check(&policy, &[host]),
            Ok(()),
            "no Origin: the token decides"
        );
        assert_eq!(
            check(&policy, &[host, ("origin", "http://shop.test:8080")]),
            Ok(())
        );
        assert_eq!(
            check(&policy, &[host, ("origin", "https://SHOP.test:8080")]),
            Ok(())
        );
        for foreign in [
            "http://evil.test:8080",
            "http://shop.test",
            "http://shop.test:8081",
            "null",
            "garbage",
        ] {
            assert_eq!(
                check(&policy, &[host, ("origin", foreign)]),
                Err(CsrfRejection::ForeignOrigin),
                "{foreign}"
            );
        }
        assert_eq!(
            check(
                &policy,
                &[("host", "shop.test"), ("origin", "https://shop.test")]
            ),
            Ok(()),
            "default ports on both sides"
        );
        assert_eq!(
            check(&policy, &[("origin", "http://shop.test")]),
            Err(CsrfRejection::ForeignOrigin),
            "no host to compare with"
        );
    }
}
