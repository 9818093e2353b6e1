//! Transports: how the session string travels between server and client.
//!
//! * cookie: a cookie with every attribute browsers know, rendered once at build time (see
//!   [`SessionsConfig::cookie`](crate::SessionsConfig::cookie) and the cookie settings of
//!   [`SessionBuilder`](crate::SessionBuilder));
//! * header: a custom request and response header, for APIs (see
//!   [`SessionsConfig::header`](crate::SessionsConfig::header)).
//!
//! Reading is one pass over the request's `Cookie` headers that picks out only the registered
//! names and keeps a reference-counted handle on the header bytes; nothing is copied or decoded
//! until a handler asks for the session.

pub(crate) mod cookie;
pub(crate) mod encoding;
pub(crate) mod header;
mod http_date;
pub(crate) mod incoming;
mod slots;

pub use cookie::{DEFAULT_MAX_AGE, MAX_COOKIE_SIZE, SameSite};
pub use encoding::CookieEncoding;
pub use header::MAX_HEADER_SIZE;

use cookie::CookieTransport;
use header::HeaderTransport;

/// Why a transport could not put a value into its response header: the same for cookies and
/// headers, so the pipeline maps both to one [`SessionError`](crate::SessionError) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenderError {
    /// The value holds characters the cookie encoding or a header cannot carry.
    Unencodable,
    /// The finished header would be `size` bytes long, over `limit`.
    TooLarge {
        /// The size it would have had.
        size: usize,
        /// The transport's limit.
        limit: usize,
    },
}

/// The transport of one session.
#[derive(Debug)]
pub(crate) enum Transport {
    Cookie(CookieTransport),
    Header(HeaderTransport),
}

impl Transport {
    /// Decodes the raw incoming text into the transformed value (cookie encoding only).
    pub(crate) fn decode<'a>(&self, raw: &'a str) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Transport::Cookie(c) => c.encoding.decode(raw),
            Transport::Header(_) => Some(std::borrow::Cow::Borrowed(raw)),
        }
    }
}
