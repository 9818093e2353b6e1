//! The cookie `Expires` date, formatted at most once per second per thread.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The deletion cookie's `Expires`.
pub(crate) const EPOCH: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// The latest date an HTTP date can show (httpdate refuses later ones).
const LATEST_SECS: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z

thread_local! {
    /// The last (unix second, formatted date) this thread rendered.
    static CACHE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// The length of every date [`push_expires`] writes (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub(crate) const LEN: usize = 29;

/// Appends the IMF-fixdate of `now + max_age` (milliseconds truncated, as Ktor does), capped at
/// the end of year 9999.
pub(crate) fn push_expires(out: &mut String, now: SystemTime, max_age: Duration) {
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let secs = now_secs.saturating_add(max_age.as_secs()).min(LATEST_SECS);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs {
            let date = UNIX_EPOCH + Duration::from_secs(secs);
            cache.1.clear();
            cache.1.push_str(&httpdate::fmt_http_date(date));
            cache.0 = secs;
        }
        out.push_str(&cache.1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_caps() {
        let mut s = String::new();
        push_expires(&mut s, UNIX_EPOCH, Duration::ZERO);
        assert_eq!(s.len(), LEN);
        assert_eq!(s, EPOCH);
        s.clear();
        push_expires(
            &mut s,
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_999),
            Duration::from_secs(1),
        );
        assert_eq!(s, "Tue, 14 Nov 2023 22:13:21 GMT");
        s.clear();
        push_expires(&mut s, SystemTime::now(), Duration::from_secs(u64::MAX));
        assert_eq!(s, "Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
