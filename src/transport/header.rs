//! The header transport: the value travels raw in a custom request and response header.

use http::{HeaderName, HeaderValue};

use super::RenderError;
use crate::error::ConfigError;

/// The largest header value a session may produce or accept.
pub const MAX_HEADER_SIZE: usize = 8192;

/// A session carried in header `name`.
#[derive(Debug)]
pub(crate) struct HeaderTransport {
    header: HeaderName,
}

impl HeaderTransport {
    pub(crate) fn new(name: &str) -> Result<HeaderTransport, ConfigError> {
        let invalid = |reason| ConfigError::InvalidHeaderName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if !name.bytes().all(super::cookie::is_token_byte) {
            return Err(invalid(
                "only letters, digits and !#$%&'*+-.^_`|~ are allowed (no spaces, separators or control characters)",
            ));
        }
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid("not a valid HTTP header name"))?;
        const RESERVED: [&str; 6] = [
            "cookie",
            "set-cookie",
            "host",
            "content-length",
            "transfer-encoding",
            "connection",
        ];
        if RESERVED.contains(&header.as_str()) {
            return Err(invalid("this header has a meaning of its own in HTTP"));
        }
        Ok(HeaderTransport { header })
    }

    pub(crate) fn header(&self) -> &HeaderName {
        &self.header
    }

    /// The response header value for a transformed session value.
    pub(crate) fn render(&self, value: &str) -> Result<HeaderValue, RenderError> {
        if value.len() > MAX_HEADER_SIZE {
            return Err(RenderError::TooLarge {
                size: value.len(),
                limit: MAX_HEADER_SIZE,
            });
        }
        HeaderValue::from_str(value).map_err(|_| RenderError::Unencodable)
    }
}
