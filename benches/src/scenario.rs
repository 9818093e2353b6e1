//! The load scenarios: which route each connection requests, whether it keeps its cookies, and
//! what each answer must be.

use std::fmt;
use std::str::FromStr;

use crate::app::{COUNTER_PATH, LARGE_PATH, UNTOUCHED_BODY, UNTOUCHED_PATH};

/// A load scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// Each connection keeps its session: `/counter` answers 1, 2, 3, ...
    Sticky,
    /// No cookie is kept: every request starts a new session and `/counter` answers 1.
    Fresh,
    /// Each connection gets a session once (one `/counter` request before the load), then
    /// requests `/untouched` with its cookie: the session is sent but never used.
    Untouched,
    /// Like `Sticky`, with the 2 KiB session on `/large`.
    Large,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 4] = [
        Scenario::Sticky,
        Scenario::Fresh,
        Scenario::Untouched,
        Scenario::Large,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Sticky => "sticky",
            Scenario::Fresh => "fresh",
            Scenario::Untouched => "untouched",
            Scenario::Large => "large",
        }
    }

    /// The route requested under load.
    pub fn path(self) -> &'static str {
        match self {
            Scenario::Sticky | Scenario::Fresh => COUNTER_PATH,
            Scenario::Untouched => UNTOUCHED_PATH,
            Scenario::Large => LARGE_PATH,
        }
    }

    /// Whether a connection sends back the cookies it was given.
    pub fn keeps_cookies(self) -> bool {
        !matches!(self, Scenario::Fresh)
    }

    /// The request each connection makes once before the load (to get a session), if any.
    pub fn setup_path(self) -> Option<&'static str> {
        match self {
            Scenario::Untouched => Some(COUNTER_PATH),
            _ => None,
        }
    }

    /// The body the `n`-th load request of a connection (1-based, setup not counted) must
    /// get. `stateless` is the baseline, which has no sessions and always answers `1`.
    pub fn expected(self, n: u64, stateless: bool) -> Expected {
        match self {
            Scenario::Untouched => Expected::Text(UNTOUCHED_BODY),
            Scenario::Fresh => Expected::Count(1),
            Scenario::Sticky | Scenario::Large if stateless => Expected::Count(1),
            Scenario::Sticky | Scenario::Large => Expected::Count(n),
        }
    }
}

/// What an answer's body must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// A decimal count.
    Count(u64),
    /// A constant text.
    Text(&'static str),
}

impl Expected {
    /// Whether `body` is what was expected.
    pub fn matches(self, body: &[u8]) -> bool {
        match self {
            Expected::Text(text) => body == text.as_bytes(),
            Expected::Count(n) => parse_count(body) == Some(n),
        }
    }
}

/// An exact decimal count: digits only, no leading zero.
fn parse_count(body: &[u8]) -> Option<u64> {
    let digits = !body.is_empty() && body.iter().all(u8::is_ascii_digit);
    let leading_zero = body.len() > 1 && body.first() == Some(&b'0');
    if !digits || leading_zero {
        return None;
    }
    std::str::from_utf8(body).ok()?.parse().ok()
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Count(n) => write!(f, "{n}"),
            Expected::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scenario `{s}` (known: {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_exactly() {
        assert!(Expected::Count(0).matches(b"0"));
        assert!(Expected::Count(17).matches(b"17"));
        assert!(Expected::Count(u64::MAX).matches(u64::MAX.to_string().as_bytes()));
        assert!(!Expected::Count(17).matches(b"170"));
        assert!(!Expected::Count(17).matches(b"1"));
        assert!(Expected::Text("untouched").matches(b"untouched"));
    }

    #[test]
    fn expectations() {
        assert_eq!(Scenario::Sticky.expected(3, false), Expected::Count(3));
        assert_eq!(Scenario::Sticky.expected(3, true), Expected::Count(1));
        assert_eq!(Scenario::Fresh.expected(3, false), Expected::Count(1));
        assert_eq!(
            Scenario::Untouched.expected(3, false),
            Expected::Text(UNTOUCHED_BODY)
        );
    }
}
