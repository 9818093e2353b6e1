//! The response headers around the sessions: the sessions' own headers ([`Outgoing`]), `Vary`,
//! `Cache-Control`, and the error response that replaces the handler's when a session cannot be
//! written.

use http::header::{CACHE_CONTROL, Entry, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Response};

use crate::error::SessionError;
use crate::tracker::Header;

/// The headers the write-out adds to a response, straight into its header map, remembering
/// which were added so that an error response can carry them over.
pub(crate) struct Outgoing<'r> {
    headers: &'r mut HeaderMap,
    /// How many `Set-Cookie` values were appended (the last ones of the map).
    cookies: usize,
    /// The session headers that were appended (each holds one value).
    named: Vec<HeaderName>,
}

impl<'r> Outgoing<'r> {
    pub(super) fn new(headers: &'r mut HeaderMap) -> Outgoing<'r> {
        Outgoing {
            headers,
            cookies: 0,
            named: Vec::new(),
        }
    }

    /// Adds one session's header.
    #[inline]
    pub(crate) fn push(&mut self, (name, value): Header) {
        if name == SET_COOKIE {
            self.cookies += 1;
        } else {
            self.named.push(name.clone());
        }
        self.headers.append(name, value);
    }

    /// Whether any session header was added.
    pub(super) fn wrote(&self) -> bool {
        self.cookies > 0 || !self.named.is_empty()
    }

    /// The response that replaces the handler's when a session could not be written: the
    /// error's status (`503` for a storage outage), no body, never cached, with the headers of
    /// the sessions whose change did happen.
    pub(super) fn into_error_response<B: Default>(self, error: &SessionError) -> Response<B> {
        let mut failed = Response::new(B::default());
        *failed.status_mut() = error.status();
        let out = failed.headers_mut();
        out.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let cookies: Vec<&HeaderValue> = self.headers.get_all(SET_COOKIE).iter().collect();
        let ours = cookies.len().saturating_sub(self.cookies);
        for value in cookies.into_iter().skip(ours) {
            out.append(SET_COOKIE, value.clone());
        }
        for name in self.named {
            if let Some(value) = self.headers.get_all(&name).iter().next_back() {
                out.append(name.clone(), value.clone());
            }
        }
        failed
    }
}

/// Adds each of `names` to `Vary` (each once, and only if the response does not vary on it,
/// or on everything, already): a response that depends on a session varies on the header that
/// carries it.
#[inline]
pub(super) fn vary<'n>(headers: &mut HeaderMap, names: impl Iterator<Item = &'n HeaderName>) {
    for name in names {
        // One lookup: a response without `Vary` (the usual case) gets it inserted in place.
        match headers.entry(VARY) {
            Entry::Vacant(vacant) => {
                vacant.insert(HeaderValue::from(name.clone()));
            }
            Entry::Occupied(mut occupied) => {
                if !occupied.iter().any(|v| names_header(v, name)) {
                    occupied.append(HeaderValue::from(name.clone()));
                }
            }
        }
    }
}

/// Whether one `Vary` value names `name` (or everything).
fn names_header(value: &HeaderValue, name: &HeaderName) -> bool {
    value.to_str().is_ok_and(|v| {
        v.split(',')
            .any(|t| t.trim() == "*" || t.trim().eq_ignore_ascii_case(name.as_str()))
    })
}

/// Keeps a response that writes a session out of shared caches: `no-store` when the
/// application set no `Cache-Control`; when it set one that a shared cache may store (neither
/// `private` nor `no-store`), its `public` and `s-maxage` directives are dropped and `private`
/// is added, so browsers may still cache it for the one user it belongs to.
#[inline]
pub(super) fn keep_private(headers: &mut HeaderMap) {
    let mut occupied = match headers.entry(CACHE_CONTROL) {
        Entry::Vacant(vacant) => {
            vacant.insert(HeaderValue::from_static("no-store"));
            return;
        }
        Entry::Occupied(occupied) => occupied,
    };
    let name = |d: &str| {
        d.split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    let directives: Vec<String> = occupied
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    if directives
        .iter()
        .any(|d| matches!(name(d).as_str(), "private" | "no-store"))
    {
        return;
    }
    let mut kept: Vec<&str> = directives
        .iter()
        .map(String::as_str)
        .filter(|d| !matches!(name(d).as_str(), "public" | "s-maxage"))
        .collect();
    kept.push("private");
    let value = HeaderValue::from_str(&kept.join(", "))
        .unwrap_or_else(|_| HeaderValue::from_static("no-store"));
    occupied.insert(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_control(set: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in set {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        keep_private(&mut headers);
        let all: Vec<&str> = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        all.join(" | ")
    }

    #[test]
    fn a_session_response_is_never_left_to_shared_caches() {
        assert_eq!(cache_control(&[]), "no-store");
        assert_eq!(cache_control(&["no-store"]), "no-store");
        assert_eq!(
            cache_control(&["private, max-age=60"]),
            "private, max-age=60"
        );
        assert_eq!(
            cache_control(&["public, max-age=3600"]),
            "max-age=3600, private"
        );
        assert_eq!(
            cache_control(&["max-age=60, s-maxage=600"]),
            "max-age=60, private"
        );
        assert_eq!(cache_control(&["max-age=60"]), "max-age=60, private");
        assert_eq!(
            cache_control(&["PUBLIC", "S-MaxAge=5, must-revalidate"]),
            "must-revalidate, private"
        );
        assert_eq!(cache_control(&["no-cache"]), "no-cache, private");
    }

    #[test]
    fn vary_names_each_header_once() {
        let mut headers = HeaderMap::new();
        headers.append(VARY, HeaderValue::from_static("Accept-Encoding, cookie"));
        let session = HeaderName::from_static("x-session");
        let cookie = http::header::COOKIE;
        vary(&mut headers, [&cookie, &session, &session].into_iter());
        let all: Vec<&str> = headers
            .get_all(VARY)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(all, ["Accept-Encoding, cookie", "x-session"]);
    }
}
