//! Times as whole milliseconds since the Unix epoch: how the Redis and SQL storages store them.
//!
//! Millisecond precision is what Redis's `PXAT` takes, fits a signed 64-bit SQL integer for
//! the next 290 million years, and is far finer than any session lifetime. Converting rounds
//! down, so a stored record never outlives the time it was given.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `time` as milliseconds since the epoch; times before the epoch are 0.
pub(crate) fn to_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `time` as signed milliseconds since the epoch, for SQL `BIGINT` columns.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) fn to_millis_i64(time: SystemTime) -> i64 {
    i64::try_from(to_millis(time)).unwrap_or(i64::MAX)
}

/// The time `millis` milliseconds after the epoch (saturating far in the future).
pub(crate) fn from_millis(millis: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(millis))
        .unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 1000))
}

/// The time `millis` milliseconds after the epoch; negative values are the epoch.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) fn from_millis_i64(millis: i64) -> SystemTime {
    from_millis(u64::try_from(millis).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_milliseconds_and_rounds_down() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(from_millis(to_millis(t)), t);
        let finer = t + Duration::from_micros(999);
        assert_eq!(from_millis(to_millis(finer)), t);
        assert_eq!(to_millis(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert!(from_millis(u64::MAX) > t);
    }

    #[test]
    fn any_stored_number_is_a_time_without_panicking() {
        // What a tampered row or value may hold: the extremes of both column types.
        let far = from_millis(u64::MAX);
        assert!(far > UNIX_EPOCH + Duration::from_secs(100_000 * 365 * 86_400));
        assert_eq!(to_millis(far), u64::MAX);
        #[cfg(any(feature = "postgres", feature = "sqlite"))]
        {
            assert_eq!(from_millis_i64(i64::MIN), UNIX_EPOCH);
            assert_eq!(from_millis_i64(-1), UNIX_EPOCH);
            assert!(from_millis_i64(i64::MAX) > UNIX_EPOCH);
            assert_eq!(to_millis_i64(far), i64::MAX);
        }
        // The latest time the clock can hold converts back saturated, not wrapped.
        let latest = UNIX_EPOCH + Duration::new(i64::MAX as u64, 999_999_999);
        assert_eq!(to_millis(latest), u64::MAX);
    }
}
