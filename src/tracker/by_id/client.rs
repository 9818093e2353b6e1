//! What a by-id session records about the client that created it: a short device description
//! parsed from the `User-Agent` (browser and operating system family, never the raw string),
//! and, only when the application turns it on, its address truncated to its network.

use std::net::IpAddr;

use http::HeaderValue;

/// The client of the current request, as far as session metadata is concerned.
#[derive(Debug, Clone, Default)]
pub(crate) struct Client {
    /// The `User-Agent` header, unparsed (parsed only when a session is created).
    pub(crate) user_agent: Option<HeaderValue>,
    /// The address the application's function gave.
    pub(crate) address: Option<IpAddr>,
}

impl Client {
    /// "Firefox on Linux", "Safari on iOS", "curl": a browser and an operating system family.
    pub(crate) fn device(&self) -> Option<String> {
        let agent = self.user_agent.as_ref()?.to_str().ok()?;
        describe(agent)
    }

    /// The address truncated to its network: `/24` for IPv4, `/48` for IPv6.
    pub(crate) fn network(&self) -> Option<String> {
        self.address.map(network)
    }
}

/// The network of `address`, in CIDR notation.
pub(crate) fn network(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let [a, b, c, ..] = segments;
            format!("{a:x}:{b:x}:{c:x}::/48")
        }
    }
}

/// A short description of the browser and operating system a `User-Agent` names, from the
/// usual tokens; `None` for anything unrecognised. Order matters: Chrome's string contains
/// "Safari", Edge's and Opera's contain "Chrome", Android's contains "Linux".
pub(crate) fn describe(agent: &str) -> Option<String> {
    let has = |token: &str| agent.contains(token);
    let browser = if has("Edg/") || has("Edge/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chrome/") || has("CriOS/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") && has("Version/") {
        "Safari"
    } else if has("curl/") {
        "curl"
    } else {
        ""
    };
    let system = if has("iPhone") || has("iPad") || has("iPod") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") || has("X11") {
        "Linux"
    } else {
        ""
    };
    match (browser, system) {
        ("", "") => None,
        (browser, "") => Some(browser.to_owned()),
        ("", system) => Some(format!("a browser on {system}")),
        (browser, system) => Some(format!("{browser} on {system}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents_are_described_by_family_only() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari on macOS",
            ),
            ("curl/8.5.0", "curl"),
        ];
        for (agent, expected) in cases {
            assert_eq!(describe(agent).as_deref(), Some(expected), "{agent}");
        }
        assert_eq!(describe("something else"), None);
        assert_eq!(describe(""), None);
    }

    #[test]
    fn addresses_are_truncated_to_their_network() {
        assert_eq!(network("192.0.2.77".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(
            network("2001:db8:1234:5678::1".parse().unwrap()),
            "2001:db8:1234::/48"
        );
    }
}
