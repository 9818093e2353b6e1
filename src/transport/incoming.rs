//! The session values a request brings, found in one pass over its headers.

use http::{HeaderMap, HeaderName, HeaderValue, header::COOKIE};

use super::MAX_HEADER_SIZE;
use super::Transport;
use super::cookie::MAX_COOKIE_SIZE;
use super::slots::SlotSet;

/// Cookie headers larger than this in total are not scanned: no browser sends one, and
/// scanning it would let a client make every request expensive.
pub const MAX_COOKIE_HEADER_TOTAL: usize = 64 * 1024;

/// The raw value a request brought for one session, as a cheap handle on the header bytes.
/// `Debug` shows its length only: it is a session value or id.
#[derive(Clone)]
pub(crate) struct Incoming {
    header: HeaderValue,
    start: usize,
    end: usize,
}

impl std::fmt::Debug for Incoming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Incoming")
            .field("len", &self.end.saturating_sub(self.start))
            .finish_non_exhaustive()
    }
}

impl Incoming {
    fn whole(header: HeaderValue) -> Incoming {
        let end = header.len();
        Incoming {
            header,
            start: 0,
            end,
        }
    }

    /// The raw text, or `None` if it is not valid text or longer than any value this library
    /// writes (which makes the session invalid).
    pub(crate) fn text(&self, limit: usize) -> Option<&str> {
        let bytes = self.header.as_bytes().get(self.start..self.end)?;
        if bytes.len() > limit {
            return None;
        }
        std::str::from_utf8(bytes).ok()
    }
}

/// Where each registered session looks for its value.
#[derive(Debug)]
pub(crate) enum Source {
    /// The cookie with this name.
    Cookie(Box<[u8]>),
    /// The first request header with this name.
    Header(HeaderName),
}

/// `Cookie`, as a static name.
static COOKIE_HEADER: HeaderName = COOKIE;

impl Source {
    /// Where `transport` carries a session's value in a request.
    pub(crate) fn of(transport: &Transport) -> Source {
        match transport {
            Transport::Cookie(c) => Source::Cookie(c.name().as_bytes().into()),
            Transport::Header(h) => Source::Header(h.header().clone()),
        }
    }

    /// The request header that carries the value (`Cookie` for every cookie).
    pub(crate) fn header(&self) -> &HeaderName {
        match self {
            Source::Cookie(_) => &COOKIE_HEADER,
            Source::Header(name) => name,
        }
    }

    /// The longest value accepted from this source.
    pub(crate) fn limit(&self) -> usize {
        match self {
            Source::Cookie(_) => MAX_COOKIE_SIZE,
            Source::Header(_) => MAX_HEADER_SIZE,
        }
    }
}

/// Which kinds of sources a configuration has, so a request captures only what can matter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceKinds {
    /// Some session travels in a cookie.
    pub(crate) cookies: bool,
    /// Some session travels in a header of its own.
    pub(crate) headers: bool,
}

impl SourceKinds {
    pub(crate) fn of<'s>(mut sources: impl Iterator<Item = &'s Source> + Clone) -> SourceKinds {
        SourceKinds {
            cookies: sources.clone().any(|s| matches!(s, Source::Cookie(_))),
            headers: sources.any(|s| matches!(s, Source::Header(_))),
        }
    }
}

/// The request headers that may hold session values, captured when the request arrives: cheap
/// reference-counted handles on the header bytes, nothing parsed or copied. The scan happens
/// only when a handler first uses a session ([`Captured::scan`]), so a request that never
/// touches its sessions pays for no parsing. `Debug` counts the headers, never shows them.
#[derive(Default)]
pub(crate) struct Captured {
    first_cookie: Option<HeaderValue>,
    more_cookies: Vec<HeaderValue>,
    /// The value of each header source, by source index (empty without header sources).
    headers: Box<[Option<HeaderValue>]>,
}

impl std::fmt::Debug for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Captured")
            .field(
                "cookie_headers",
                &(usize::from(self.first_cookie.is_some()) + self.more_cookies.len()),
            )
            .field(
                "session_headers",
                &self.headers.iter().filter(|h| h.is_some()).count(),
            )
            .finish()
    }
}

impl Captured {
    /// Takes handles on the `Cookie` headers (if any source is a cookie) and on each header
    /// source's header.
    pub(crate) fn capture<'s>(
        headers: &HeaderMap,
        sources: impl Iterator<Item = &'s Source>,
        kinds: SourceKinds,
    ) -> Captured {
        let mut captured = Captured::default();
        if kinds.headers {
            captured.headers = sources
                .map(|source| match source {
                    Source::Header(name) => headers.get(name).cloned(),
                    Source::Cookie(_) => None,
                })
                .collect();
        }
        if !kinds.cookies {
            return captured;
        }
        let cookies = headers.get_all(COOKIE);
        let total: usize = cookies.iter().map(HeaderValue::len).sum();
        if total > MAX_COOKIE_HEADER_TOTAL {
            tracing::debug!(total, "Cookie headers too large; not scanned for sessions");
            return captured;
        }
        let mut cookies = cookies.iter();
        captured.first_cookie = cookies.next().cloned();
        captured.more_cookies.extend(cookies.cloned());
        captured
    }

    /// Finds each source's value and hands it to `found(index, value)`.
    ///
    /// One pass over the `Cookie` headers serves every cookie session. When a cookie name
    /// appears more than once, the **first** occurrence wins: browsers send the cookie with the
    /// longest matching path first (RFC 6265 §5.4), which is the one the most specific session
    /// layer set.
    pub(crate) fn scan<'s>(
        &self,
        sources: impl Iterator<Item = &'s Source> + Clone,
        mut found: impl FnMut(usize, Incoming),
    ) {
        let mut wanted = SlotSet::default();
        for (slot, source) in sources.clone().enumerate() {
            match source {
                Source::Header(_) => {
                    if let Some(Some(value)) = self.headers.get(slot) {
                        found(slot, Incoming::whole(value.clone()));
                    }
                }
                Source::Cookie(_) => wanted.insert(slot),
            }
        }
        let cookies = self.first_cookie.iter().chain(self.more_cookies.iter());
        for header in cookies {
            let bytes = header.as_bytes();
            let mut part_start = 0;
            while part_start <= bytes.len() {
                if wanted.is_empty() {
                    return;
                }
                let rest = bytes.get(part_start..).unwrap_or_default();
                let part_len = memchr::memchr(b';', rest).unwrap_or(rest.len());
                let part = rest.get(..part_len).unwrap_or_default();
                let this_start = part_start;
                part_start += part_len + 1;
                let Some((name, start, stop)) = split_pair(part) else {
                    continue;
                };
                for (slot, source) in sources.clone().enumerate() {
                    if let Source::Cookie(expected) = source
                        && **expected == *name
                        && wanted.remove(slot)
                    {
                        found(
                            slot,
                            Incoming {
                                header: header.clone(),
                                start: this_start + start,
                                end: this_start + stop,
                            },
                        );
                    }
                }
            }
        }
    }
}

/// Captures and scans `headers` at once (see [`Captured`]); for the fuzz targets and tests.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn collect(headers: &HeaderMap, sources: &[Source], found: impl FnMut(usize, Incoming)) {
    let kinds = SourceKinds {
        cookies: true,
        headers: true,
    };
    Captured::capture(headers, sources.iter(), kinds).scan(sources.iter(), found);
}

fn is_space(b: &u8) -> bool {
    *b == b' ' || *b == b'\t'
}

/// Splits one `name=value` pair into its trimmed name and the range of its trimmed, unquoted
/// value within `part`.
fn split_pair(part: &[u8]) -> Option<(&[u8], usize, usize)> {
    let eq = memchr::memchr(b'=', part)?;
    let (name, rest) = part.split_at_checked(eq)?;
    let name = trim(name);
    let value = rest.get(1..)?;
    let lead = value.iter().take_while(|b| is_space(b)).count();
    let trail = value
        .iter()
        .skip(lead)
        .rev()
        .take_while(|b| is_space(b))
        .count();
    let mut start = eq + 1 + lead;
    let mut stop = part.len() - trail;
    if let Some([b'"', inner @ .., b'"']) = part.get(start..stop) {
        start += 1;
        stop = start + inner.len();
    }
    (!name.is_empty()).then_some((name, start, stop))
}

fn trim(s: &[u8]) -> &[u8] {
    let lead = s.iter().take_while(|b| is_space(b)).count();
    let trail = s
        .iter()
        .skip(lead)
        .rev()
        .take_while(|b| is_space(b))
        .count();
    s.get(lead..s.len() - trail).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(cookie_headers: &[&str], names: &[&str]) -> Vec<Option<String>> {
        let mut headers = HeaderMap::new();
        for h in cookie_headers {
            headers.append(COOKIE, HeaderValue::from_str(h).unwrap());
        }
        let sources: Vec<Source> = names
            .iter()
            .map(|n| Source::Cookie(n.as_bytes().into()))
            .collect();
        let mut out = vec![None; sources.len()];
        collect(&headers, &sources, |i, v| out[i] = Some(v));
        out.into_iter()
            .map(|o| o.and_then(|i| i.text(4096).map(str::to_owned)))
            .collect()
    }

    #[test]
    fn picks_registered_names_only() {
        assert_eq!(
            scan(&["a=1; s=two; b=3"], &["s", "b", "zz"]),
            vec![Some("two".into()), Some("3".into()), None]
        );
    }

    #[test]
    fn finds_every_one_of_many_sessions() {
        let names: Vec<String> = (0..300).map(|i| format!("s{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let header = [299, 0, 128, 127, 200]
            .map(|i| format!("s{i}=v{i}"))
            .join("; ");
        let found = scan(&[&header], &names);
        for (i, value) in found.iter().enumerate() {
            let expected = [0, 127, 128, 200, 299]
                .contains(&i)
                .then(|| format!("v{i}"));
            assert_eq!(value, &expected, "session {i}");
        }
    }

    #[test]
    fn first_occurrence_wins_within_and_across_headers() {
        assert_eq!(
            scan(&["s=first; s=second"], &["s"]),
            vec![Some("first".into())]
        );
        assert_eq!(scan(&["x=1", "s=a", "s=b"], &["s"]), vec![Some("a".into())]);
    }

    #[test]
    fn whitespace_quotes_and_odd_pairs() {
        assert_eq!(
            scan(&["  s = \"v 1\" ;t="], &["s", "t"]),
            vec![Some("v 1".into()), Some("".into())]
        );
        assert_eq!(scan(&["s; =x; s=ok"], &["s"]), vec![Some("ok".into())]);
        assert_eq!(scan(&["ss=1; s=2"], &["s"]), vec![Some("2".into())]);
        assert_eq!(
            scan(&["s={\"id\":1}"], &["s"]),
            vec![Some("{\"id\":1}".into())]
        );
    }

    #[test]
    fn oversized_cookie_headers_are_not_scanned() {
        let big = format!("s=1; pad={}", "x".repeat(MAX_COOKIE_HEADER_TOTAL));
        assert_eq!(scan(&[&big], &["s"]), vec![None]);
    }

    #[test]
    fn non_utf8_and_long_values_are_invalid() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_bytes(b"s=\xff\xfe").unwrap());
        let sources = vec![Source::Cookie(b"s"[..].into())];
        let mut out = vec![None; 1];
        collect(&headers, &sources, |i, v| out[i] = Some(v));
        let incoming = out[0].as_ref().unwrap();
        assert_eq!(incoming.text(4096), None);
        assert_eq!(
            scan(&[&format!("s={}", "a".repeat(5000))], &["s"]),
            vec![None]
        );
    }

    #[test]
    fn debug_never_shows_what_a_request_brought() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("s=SECRET-VALUE; other=x"));
        headers.append("x-s", HeaderValue::from_static("SECRET-HEADER"));
        let sources = [
            Source::Cookie(b"s"[..].into()),
            Source::Header(HeaderName::from_static("x-s")),
        ];
        let kinds = SourceKinds::of(sources.iter());
        let captured = Captured::capture(&headers, sources.iter(), kinds);
        let mut found = Vec::new();
        captured.scan(sources.iter(), |_, incoming| found.push(incoming));
        assert_eq!(found.len(), 2);
        let debug = format!("{captured:?} {found:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("len"), "{debug}");
    }
}
