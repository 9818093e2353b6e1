//! The write direction: a value → serializer → transformer chain → the transport's header.

use std::time::SystemTime;

use http::HeaderValue;
use http::header::SET_COOKIE;

use super::Pipeline;
use crate::error::SessionError;
use crate::serializer::SerializerError;
use crate::tracker::{AnyValue, Header, NewValue, Tracker};
use crate::transform::TransformContext;
use crate::transport::{RenderError, Transport};

impl Pipeline {
    /// A value the handler set, made ready for the response: serialized at once, and for
    /// by-value sessions protected and rendered too, so a value that cannot be sent (too large
    /// for a cookie, say) is an error at `set` rather than a cookie the browser drops.
    pub(crate) fn prepare(
        &self,
        value: AnyValue,
        now: impl FnOnce() -> SystemTime,
    ) -> Result<NewValue, SessionError> {
        let failed = |source| SessionError::Serialize {
            name: self.name.clone(),
            source,
        };
        let (serialized, rendered) = match self.tracker {
            Tracker::ByValue(_) => {
                let text = self.codec.serialize_text(value.as_ref()).map_err(failed)?;
                let rendered = self.render(&text, now())?;
                (text.into_bytes(), Some(rendered))
            }
            Tracker::ById(_) => {
                let bytes = self.codec.serialize_bytes(value.as_ref()).map_err(failed)?;
                (bytes, None)
            }
        };
        Ok(NewValue {
            value,
            serialized,
            rendered,
        })
    }

    /// Protects `text` (a serialized session or an id) and renders its response header, with
    /// the expiry a value written at `now` carries.
    pub(crate) fn render(&self, text: &str, now: SystemTime) -> Result<Header, SessionError> {
        self.render_in(&self.context(now), text)
    }

    /// Renders a by-id session's id; a cookie lasts until `until` when the session's lifetime
    /// was chosen for it.
    pub(crate) fn render_id(
        &self,
        id: &str,
        now: SystemTime,
        until: Option<SystemTime>,
    ) -> Result<Header, SessionError> {
        match (until, &self.transport) {
            (Some(until), Transport::Cookie(cookie)) => {
                let ctx = self.context(now);
                let protected = self.protect(&ctx, id)?;
                cookie
                    .render_until(&protected, now, until)
                    .map(|value| (SET_COOKIE, value))
                    .map_err(|e| self.render_error(e))
            }
            _ => self.render(id, now),
        }
    }

    /// [`render`](Self::render) keeping the expiry `expires_at` (a value re-sent under the
    /// current key keeps the expiry it carried).
    pub(crate) fn render_keeping(
        &self,
        serialized: &[u8],
        now: SystemTime,
        expires_at: Option<SystemTime>,
    ) -> Result<Header, SessionError> {
        let text = std::str::from_utf8(serialized).map_err(|_| SessionError::Serialize {
            name: self.name.clone(),
            source: SerializerError::new("a by-value session must serialize to text"),
        })?;
        self.render_in(&self.context(now).with_expiry(expires_at), text)
    }

    /// The header that tells the client to drop its copy: an expired cookie, or an empty
    /// session header.
    pub(crate) fn removal(&self) -> Header {
        match &self.transport {
            Transport::Cookie(c) => (SET_COOKIE, c.removal()),
            Transport::Header(h) => (h.header().clone(), HeaderValue::from_static("")),
        }
    }

    fn render_in(&self, ctx: &TransformContext<'_>, text: &str) -> Result<Header, SessionError> {
        let protected = self.protect(ctx, text)?;
        let rendered = match &self.transport {
            Transport::Cookie(cookie) => cookie
                .render(&protected, ctx.now)
                .map(|value| (SET_COOKIE, value)),
            Transport::Header(header) => header
                .render(&protected)
                .map(|value| (header.header().clone(), value)),
        };
        rendered.map_err(|e| self.render_error(e))
    }

    /// Runs the transformer chain over `text`.
    fn protect<'a>(
        &self,
        ctx: &TransformContext<'_>,
        text: &'a str,
    ) -> Result<std::borrow::Cow<'a, str>, SessionError> {
        self.chain.write(ctx, text).map_err(|source| match source {
            crate::transform::TransformError::TooLarge { size, limit } => SessionError::TooLarge {
                name: self.name.clone(),
                size,
                limit,
            },
            source => SessionError::Transform {
                name: self.name.clone(),
                source,
            },
        })
    }

    /// The error of a value the transport could not render.
    fn render_error(&self, error: RenderError) -> SessionError {
        let name = self.name.clone();
        match error {
            RenderError::TooLarge { size, limit } => SessionError::TooLarge { name, size, limit },
            RenderError::Unencodable => SessionError::Unencodable { name },
        }
    }
}
