//! The expiry inside a signed or encrypted value is capped by the current configuration:
//! shortening the ttl shortens the values already issued.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use typed_sessions::clock::{Clock, ManualClock};
use typed_sessions::transform::{Encrypt, Key, Sign, TransformContext, Transformer};
use typed_sessions::{SessionsConfig, SessionsLayer};

use crate::common::{TestUserSession, get, user_routes};

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

fn layer(clock: &ManualClock, ttl: Duration, protect: impl Transformer) -> SessionsLayer {
    SessionsConfig::new()
        .clock(clock.clone())
        .cookie::<TestUserSession>("s", |c| c.max_age(WEEK).ttl(ttl).transform(protect))
        .build()
        .unwrap()
}

/// The expiry a modern value carries (whole seconds).
fn carried(protect: &impl Transformer, cookie: &str, now: SystemTime) -> SystemTime {
    let value = cookie.strip_prefix("s=").unwrap();
    let ctx = TransformContext::new("s", now);
    protect
        .read(&ctx, value)
        .unwrap()
        .expires_at
        .expect("an expiry")
}

fn whole_seconds(at: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(at.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

#[tokio::test]
async fn shortening_the_ttl_shortens_values_already_issued() {
    let key = Key::generate();
    shortened("encrypt", Encrypt::new(key.clone())).await;
    shortened("sign", Sign::new(key)).await;
}

async fn shortened(name: &str, protect: impl Transformer + Clone) {
    let clock = ManualClock::new();
    clock.set(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    // Issued under a ttl of a week.
    let before = user_routes().layer(layer(&clock, WEEK, protect.clone()));
    let issued = get(&before, "/set/id1", None)
        .await
        .cookie_pair("s")
        .unwrap();
    let issued_at = clock.now();
    assert_eq!(
        carried(&protect, &issued, issued_at),
        whole_seconds(issued_at + WEEK)
    );

    // The ttl is shortened to an hour; a minute later the client comes back.
    let after = user_routes().layer(layer(&clock, HOUR, protect.clone()));
    clock.advance(Duration::from_secs(60));
    let read = get(&after, "/get", Some(&issued)).await;
    assert_eq!(read.body, "id1", "{name}");
    let cut = read
        .cookie_pair("s")
        .expect("the value is re-sent with a shorter expiry");
    let limit = whole_seconds(clock.now() + HOUR);
    assert_eq!(carried(&protect, &cut, clock.now()), limit, "{name}");

    // Reading the re-sent value neither cuts nor extends it again.
    clock.advance(Duration::from_secs(30 * 60));
    let again = get(&after, "/get", Some(&cut)).await;
    assert_eq!(again.body, "id1");
    assert!(again.set_cookies().is_empty(), "{name}: re-sent again");

    // It ends an hour after the cut, six days and more before its old expiry.
    clock.advance(Duration::from_secs(31 * 60));
    let late = get(&after, "/get", Some(&cut)).await;
    assert_eq!(late.body, "none", "{name}");

    // The documented limit: a copy of the original value, replayed by a client that never
    // keeps the re-sent cookie, reads until its own expiry (each read re-sends a cut one).
    let replay = get(&after, "/get", Some(&issued)).await;
    assert_eq!(replay.body, "id1");
    assert!(replay.cookie_pair("s").is_some());
    clock.set(issued_at + WEEK);
    assert_eq!(get(&after, "/get", Some(&issued)).await.body, "none");
}

#[tokio::test]
async fn values_within_the_ttl_are_left_alone() {
    let clock = ManualClock::new();
    let key = Key::generate();
    let app = user_routes().layer(layer(&clock, HOUR, Encrypt::new(key.clone())));
    let issued = get(&app, "/set/id1", None).await.cookie_pair("s").unwrap();
    clock.advance(Duration::from_secs(59 * 60));
    let read = get(&app, "/get", Some(&issued)).await;
    assert_eq!(read.body, "id1");
    assert!(read.set_cookies().is_empty());
    // Lengthening the ttl does not lengthen them either.
    let longer = user_routes().layer(layer(&clock, WEEK, Encrypt::new(key)));
    let read = get(&longer, "/get", Some(&issued)).await;
    assert_eq!(read.body, "id1");
    assert!(read.set_cookies().is_empty());
    clock.advance(Duration::from_secs(2 * 60));
    assert_eq!(get(&longer, "/get", Some(&issued)).await.body, "none");
}
