//! The lifetime policy of by-id sessions, enforced by the server whatever the client sends.
//!
//! A record expires at the earlier of `created_at + lifetime` and, with an idle timeout,
//! `last use + idle_timeout`. Using a session renews the idle deadline, but only once
//! `renew_fraction` of the idle window has passed since the last renewal, so a busy session is
//! not rewritten on every request. Sessions listed as a user's devices also record when they
//! were last used, throttled the same way (see [`Lifetime::due_for_renewal`]).

use std::time::{Duration, SystemTime};

use super::super::loaded::Stored;
use crate::clock::FOREVER;

/// Without an idle timeout, the longest a tracked "last seen" time lags behind the real last
/// use.
const LAST_SEEN_LAG_MAX: Duration = Duration::from_secs(3600);

/// How long a by-id session lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lifetime {
    /// The absolute lifetime, counted from creation.
    pub(crate) lifetime: Duration,
    /// The idle timeout, if any.
    pub(crate) idle_timeout: Option<Duration>,
    /// Which part of the idle window must pass before a use renews it.
    pub(crate) renew_fraction: f64,
    /// The longest lifetime a handler may choose for one session ("remember me").
    pub(crate) max_lifetime: Duration,
}

impl Lifetime {
    /// The longest lifetime a handler may choose for one session.
    pub(crate) fn max(&self) -> Duration {
        self.max_lifetime
    }

    /// The end of the absolute lifetime of a session created at `created_at`.
    pub(crate) fn ends_at(&self, created_at: SystemTime) -> SystemTime {
        created_at
            .checked_add(self.lifetime)
            .or_else(|| created_at.checked_add(FOREVER))
            .unwrap_or(created_at)
    }

    /// The expiry of a session whose absolute lifetime ends at `ends_at`, used at `now`.
    pub(crate) fn expiry(&self, ends_at: SystemTime, now: SystemTime) -> SystemTime {
        match self.idle_timeout.and_then(|idle| now.checked_add(idle)) {
            Some(idle) if idle < ends_at => idle,
            _ => ends_at,
        }
    }

    /// Whether a session read at `now` is due for a write that renews it: its idle deadline
    /// would move by at least `renew_fraction` of the idle window, or (when `last_seen` is
    /// tracked) its last-seen time lags by at least `renew_fraction` of the idle window, or
    /// without an idle timeout of the lifetime, at most [`LAST_SEEN_LAG_MAX`].
    pub(crate) fn due_for_renewal(
        &self,
        stored: &Stored,
        now: SystemTime,
        last_seen: bool,
    ) -> bool {
        (last_seen && self.last_seen_due(stored, now)) || self.idle_due(stored, now)
    }

    fn idle_due(&self, stored: &Stored, now: SystemTime) -> bool {
        let Some(idle) = self.idle_timeout else {
            return false;
        };
        let renewed = self.expiry(stored.meta.lifetime_ends_at, now);
        if renewed <= stored.expires_at {
            return false; // capped by the absolute lifetime: nothing to gain
        }
        let gained = renewed
            .duration_since(stored.expires_at)
            .unwrap_or(Duration::ZERO);
        gained.as_secs_f64() >= idle.as_secs_f64() * self.renew_fraction && !gained.is_zero()
    }

    fn last_seen_due(&self, stored: &Stored, now: SystemTime) -> bool {
        let window = self
            .idle_timeout
            .unwrap_or_else(|| self.lifetime.min(LAST_SEEN_LAG_MAX * 4));
        let lag = now
            .duration_since(stored.meta.last_seen)
            .unwrap_or(Duration::ZERO);
        !lag.is_zero() && lag.as_secs_f64() >= window.as_secs_f64() * self.renew_fraction
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SessionId;
    use crate::storage::{Metadata, Revision};

    fn stored(created_at: SystemTime, expires_at: SystemTime) -> Stored {
        Stored {
            id: SessionId::generate(),
            created_at,
            expires_at,
            revision: Revision::new(),
            meta: Metadata::new(created_at, created_at + Duration::from_secs(3600)),
        }
    }

    #[test]
    fn the_earlier_deadline_wins_and_renewal_is_throttled() {
        let policy = Lifetime {
            lifetime: Duration::from_secs(3600),
            idle_timeout: Some(Duration::from_secs(600)),
            renew_fraction: 0.25,
            max_lifetime: Duration::from_secs(3600),
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let ends = policy.ends_at(t0);
        assert_eq!(ends, t0 + Duration::from_secs(3600));
        assert_eq!(policy.expiry(ends, t0), t0 + Duration::from_secs(600));
        let late = t0 + Duration::from_secs(3300);
        assert_eq!(policy.expiry(ends, late), t0 + Duration::from_secs(3600));
        let record = stored(t0, t0 + Duration::from_secs(600));
        for tracked in [false, true] {
            assert!(!policy.due_for_renewal(&record, t0 + Duration::from_secs(149), tracked));
            assert!(policy.due_for_renewal(&record, t0 + Duration::from_secs(150), tracked));
        }
        // Capped by the absolute lifetime: nothing to gain, unless last seen is tracked.
        let capped = stored(t0, t0 + Duration::from_secs(3600));
        assert!(!policy.due_for_renewal(&capped, late, false));
        assert!(policy.due_for_renewal(&capped, late, true));
    }

    #[test]
    fn last_seen_without_an_idle_timeout_lags_at_most_an_hour() {
        let week = Duration::from_secs(7 * 24 * 3600);
        let policy = Lifetime {
            lifetime: week,
            idle_timeout: None,
            renew_fraction: 0.25,
            max_lifetime: week,
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let record = stored(t0, t0 + week);
        let minute = Duration::from_secs(60);
        assert!(!policy.due_for_renewal(&record, t0 + minute * 59, true));
        assert!(policy.due_for_renewal(&record, t0 + minute * 60, true));
        assert!(
            !policy.due_for_renewal(&record, t0 + minute * 60, false),
            "not tracked"
        );
        // A short lifetime: a quarter of it.
        let short = Lifetime {
            lifetime: minute * 20,
            ..policy
        };
        assert!(!short.due_for_renewal(&record, t0 + minute * 4, true));
        assert!(short.due_for_renewal(&record, t0 + minute * 5, true));
    }

    #[test]
    fn an_overflowing_lifetime_is_capped_not_a_panic() {
        let policy = Lifetime {
            lifetime: Duration::MAX,
            idle_timeout: None,
            renew_fraction: 0.25,
            max_lifetime: Duration::MAX,
        };
        let t0 = SystemTime::UNIX_EPOCH;
        assert_eq!(policy.ends_at(t0), t0 + FOREVER);
        assert_eq!(policy.expiry(policy.ends_at(t0), t0), t0 + FOREVER);
    }
}
