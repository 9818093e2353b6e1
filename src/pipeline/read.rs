//! The read direction: what the request brought → transport decoding → transformer chain →
//! tracker.

use std::borrow::Cow;
use std::time::SystemTime;

use super::Pipeline;
use crate::error::StorageError;
use crate::id::SessionId;
use crate::tracker::{ByValue, Invalid, Loaded, Outcome, Tracker};
use crate::transform::{ChainRead, TransformContext};
use crate::transport::incoming::Incoming;

impl Pipeline {
    /// The context the transformers see for this session at `now`, with the expiry a value
    /// written now carries (by-id sessions carry none: the server enforces theirs).
    pub(crate) fn context(&self, now: SystemTime) -> TransformContext<'_> {
        let expires_at = match &self.tracker {
            Tracker::ByValue(by_value) => by_value.expiry(now),
            Tracker::ById(_) => None,
        };
        TransformContext::new(&self.name, now).with_expiry(expires_at)
    }

    /// Decodes the transport encoding and runs the transformer chain backwards: the string the
    /// tracker works with, or why there is none.
    pub(crate) fn unwrap<'a>(
        &self,
        incoming: &'a Incoming,
        now: SystemTime,
    ) -> Result<ChainRead<'a>, Invalid> {
        let raw = incoming
            .text(self.source.limit())
            .ok_or(Invalid::Encoding)?;
        let ctx = self.context(now);
        let read = match self.transport.decode(raw).ok_or(Invalid::Encoding)? {
            Cow::Borrowed(decoded) => self.chain.read(&ctx, decoded),
            Cow::Owned(decoded) => self.chain.read(&ctx, &decoded).map(ChainRead::into_owned),
        };
        read.map_err(Invalid::Rejected)
    }

    /// Whether the value the request brought is, once unwrapped, exactly `serialized` (for
    /// `send_only_if_modified` on a session the handler did not read; no storage involved).
    pub(crate) fn brought_equals(
        &self,
        incoming: Option<&Incoming>,
        serialized: &[u8],
        now: SystemTime,
    ) -> Option<bool> {
        let unwrapped = self.unwrap(incoming?, now).ok()?;
        Some(unwrapped.value.as_bytes() == serialized)
    }

    /// The well-formed id the request brought for this by-id session, without a storage read.
    pub(crate) fn brought_id(
        &self,
        incoming: Option<&Incoming>,
        now: SystemTime,
    ) -> Option<SessionId> {
        let by_id = self.tracker.by_id()?;
        let unwrapped = self.unwrap(incoming?, now).ok()?;
        by_id.ids.parse(&unwrapped.value)
    }

    /// Loads the session a request brought. Never fails on client input; fails only when the
    /// storage does.
    pub(crate) async fn load(
        &self,
        incoming: Option<&Incoming>,
        now: SystemTime,
    ) -> Result<Loaded, StorageError> {
        let Some(incoming) = incoming else {
            self.metrics.loaded(&self.name, "absent", None);
            return Ok(Loaded::absent());
        };
        let loaded = match &self.tracker {
            Tracker::ByValue(by_value) => match self.unwrap(incoming, now) {
                Err(reason) => Loaded::invalid(reason, None),
                Ok(unwrapped) => {
                    let (stale_key, expires_at) = (unwrapped.stale_key, unwrapped.expires_at);
                    let mut loaded = ByValue::load(
                        self.codec.as_ref(),
                        &self.name,
                        unwrapped.value.into_owned(),
                    );
                    if let Outcome::Valid(valid) = &mut loaded.outcome {
                        valid.stale_key = stale_key;
                        (valid.value_expires_at, valid.expiry_cut) =
                            by_value.cut_expiry(expires_at, now);
                        if valid.expiry_cut {
                            tracing::debug!(
                                session = %self.name,
                                "session value outlives the configured ttl; re-sent expiring sooner"
                            );
                        }
                    }
                    loaded
                }
            },
            Tracker::ById(by_id) => {
                // Only the id and two small fields of the unwrapped value are kept across the
                // storage read, so that the future stays small.
                let brought = self.unwrap(incoming, now).map(|read| {
                    (
                        by_id.ids.parse(&read.value),
                        read.stale_key,
                        read.expires_at,
                    )
                });
                match brought {
                    Err(reason) => Loaded::invalid(reason, None),
                    Ok((None, ..)) => Loaded::invalid(Invalid::MalformedId, None),
                    Ok((Some(id), stale_key, expires_at)) => {
                        let mut loaded = by_id.load_id(self.codec.as_ref(), id, now).await?;
                        if let Outcome::Valid(valid) = &mut loaded.outcome {
                            valid.stale_key = stale_key;
                            valid.value_expires_at = expires_at;
                        }
                        loaded
                    }
                }
            }
        };
        self.record_load(&loaded);
        Ok(loaded)
    }

    /// Reads the by-id session `id` again from its storage (after a conditional update lost a
    /// race).
    pub(crate) async fn reload(
        &self,
        id: &SessionId,
        now: SystemTime,
    ) -> Result<Loaded, StorageError> {
        match &self.tracker {
            Tracker::ById(by_id) => by_id.load_id(self.codec.as_ref(), id.clone(), now).await,
            Tracker::ByValue(_) => Ok(Loaded::absent()),
        }
    }

    fn record_load(&self, loaded: &Loaded) {
        match &loaded.outcome {
            Outcome::Absent => self.metrics.loaded(&self.name, "absent", None),
            Outcome::Valid(_) => self.metrics.loaded(&self.name, "valid", None),
            Outcome::Newer => {
                tracing::debug!(session = %self.name, "session of a newer version of its type; left as it is");
                self.metrics.loaded(&self.name, "newer", None);
            }
            Outcome::Invalid { reason, .. } => {
                tracing::debug!(session = %self.name, reason = reason.as_str(), "invalid session value; it will be cleared");
                self.metrics
                    .loaded(&self.name, "invalid", Some(reason.as_str()));
            }
        }
    }
}
