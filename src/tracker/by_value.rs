//! By value: the transported string is the serialized session itself.

use std::time::{Duration, SystemTime};

use super::intent::{Change, Header, Intent};
use super::loaded::{Invalid, Loaded, Outcome, Valid};
use crate::metrics::Event;
use crate::serializer::{Decoded, ErasedCodec};

/// The by-value settings of one session.
#[derive(Debug)]
pub(crate) struct ByValue {
    /// The expiry written into protected values (`None`: none).
    pub(crate) ttl: Option<Duration>,
    /// Ktor's `sendOnlyIfModified`: a `set` of the value the request brought sends nothing.
    pub(crate) send_only_if_modified: bool,
}

/// What the response does with a by-value session.
pub(crate) enum ValueWrite {
    /// Nothing.
    Nothing,
    /// Send the value rendered at `set`.
    Send { header: Header, event: Event },
    /// Tell the client to drop its copy.
    Remove { event: Option<Event> },
    /// Send the value the request brought again, under the current key (after a rotation) or
    /// the current version (after a migration), with the expiry it carried cut to the ttl (an
    /// implicit write: it must never fail the request).
    Reissue {
        serialized: Vec<u8>,
        expires_at: Option<SystemTime>,
    },
}

impl ByValue {
    /// The expiry of a value written at `now`.
    pub(crate) fn expiry(&self, now: SystemTime) -> Option<SystemTime> {
        self.ttl.and_then(|ttl| now.checked_add(ttl))
    }

    /// The expiry a value read at `now` keeps, and whether it was cut: the one it `carried`,
    /// but never later than a value written now would get. So shortening the ttl shortens the
    /// values already issued: one that outlives the new ttl is re-sent expiring `now + ttl`,
    /// and a re-sent value is not cut again (its expiry is then within the ttl), so reading it
    /// repeatedly never extends it. A value that carries no expiry (Ktor's formats, or one
    /// written with `ttl(None)`) is not cut.
    pub(crate) fn cut_expiry(
        &self,
        carried: Option<SystemTime>,
        now: SystemTime,
    ) -> (Option<SystemTime>, bool) {
        match (carried, self.expiry(now)) {
            (Some(carried), Some(limit)) if carried > limit => (Some(limit), true),
            _ => (carried, false),
        }
    }

    /// Deserializes an unwrapped incoming value (migrating a value of an older version, and
    /// serializing it again under the current one).
    pub(crate) fn load(codec: &dyn ErasedCodec, name: &str, text: String) -> Loaded {
        let decoded = codec.decode_text(&text).and_then(|decoded| match decoded {
            Decoded::Current(value) => Ok(Some((value, text.into_bytes(), false))),
            Decoded::Migrated(value) => {
                let current = codec.serialize_text(value.as_ref())?;
                Ok(Some((value, current.into_bytes(), true)))
            }
            Decoded::Newer => Ok(None),
        });
        match decoded {
            Ok(Some((value, serialized, migrated))) => Loaded {
                value: Some(value),
                outcome: Outcome::Valid(Valid {
                    serialized,
                    migrated,
                    stored: None,
                    stale_key: false,
                    value_expires_at: None,
                    expiry_cut: false,
                }),
            },
            Ok(None) => Loaded::newer(),
            Err(_) => {
                // The serializer's message may quote the value: it is not logged.
                tracing::debug!(session = %name, "session value could not be deserialized");
                Loaded::invalid(Invalid::Undecodable, None)
            }
        }
    }

    /// Decides the write for `intent`, given what was loaded (if the handler read the
    /// session), whether the request brought a value, and, for `send_only_if_modified` on a
    /// session that was not read, whether the value it brought serializes as a given string.
    #[inline]
    pub(crate) fn decide(
        &self,
        intent: Intent,
        loaded: Option<&Loaded>,
        brought: bool,
        brought_equals: impl FnOnce(&[u8]) -> Option<bool>,
    ) -> ValueWrite {
        match intent.change {
            Change::Set(new) => {
                if self.send_only_if_modified && brought && !intent.ended {
                    let same = match loaded {
                        Some(loaded) => loaded.valid().map(|v| v.serialized == new.serialized),
                        None => brought_equals(&new.serialized),
                    };
                    if same == Some(true) {
                        return ValueWrite::Nothing;
                    }
                }
                let Some(header) = new.rendered else {
                    return ValueWrite::Nothing;
                };
                let existed = !intent.ended && loaded.and_then(Loaded::valid).is_some();
                let event = if existed {
                    Event::Updated
                } else {
                    Event::Created
                };
                ValueWrite::Send { header, event }
            }
            Change::Clear => ValueWrite::Remove {
                event: brought.then_some(Event::Cleared),
            },
            // Conditional updates are for by-id sessions only.
            Change::Written(_) => ValueWrite::Nothing,
            Change::Keep => match loaded.map(|l| &l.outcome) {
                Some(Outcome::Invalid { .. }) => ValueWrite::Remove { event: None },
                Some(Outcome::Valid(valid))
                    if valid.stale_key || valid.migrated || valid.expiry_cut =>
                {
                    ValueWrite::Reissue {
                        serialized: valid.serialized.clone(),
                        expires_at: valid.value_expires_at,
                    }
                }
                _ => ValueWrite::Nothing,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_expiry_beyond_the_ttl_is_cut() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        let by_value = |ttl| ByValue {
            ttl,
            send_only_if_modified: false,
        };
        let limit = now + hour;
        let cut = |ttl, carried| by_value(ttl).cut_expiry(carried, now);
        assert_eq!(cut(Some(hour), Some(limit + hour)), (Some(limit), true));
        assert_eq!(cut(Some(hour), Some(limit)), (Some(limit), false));
        assert_eq!(cut(Some(hour), Some(now)), (Some(now), false));
        // Nothing to cut to, or nothing carried: unchanged.
        assert_eq!(cut(None, Some(limit + hour)), (Some(limit + hour), false));
        assert_eq!(cut(Some(hour), None), (None, false));
        // A ttl that overflows the clock cuts nothing.
        assert_eq!(cut(Some(Duration::MAX), Some(limit)), (Some(limit), false));
    }
}
