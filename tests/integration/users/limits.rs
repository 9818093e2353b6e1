//! The limit of sessions per user (ending the oldest, or refusing the login) and "remember
//! me" lifetimes bounded by the configured maximum, on every storage.

use std::time::{Duration, SystemTime};

use typed_sessions::clock::{Clock, ManualClock};
use typed_sessions::storage::{OnLimit, Principals};

use super::{CHROME_WINDOWS, Device, FIREFOX_LINUX, SAFARI_IPHONE, Users, account_app};
use crate::support::storages;

const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_beyond_the_limit_ends_the_least_recently_used_session() {
    for named in storages::every("limit_end_oldest").await {
        let name = named.name;
        let clock = ManualClock::new();
        let app = account_app(named.storage.clone(), &clock, Users::default(), |c| {
            c.max_sessions_per_principal(2, OnLimit::EndOldest)
        });
        let mut laptop = Device::new(FIREFOX_LINUX);
        let mut phone = Device::new(SAFARI_IPHONE);
        let mut office = Device::new(CHROME_WINDOWS);
        laptop.body(&app, "/login/ada").await;
        clock.advance(Duration::from_secs(10));
        phone.body(&app, "/login/ada").await;
        clock.advance(Duration::from_secs(10));
        assert_eq!(office.body(&app, "/login/ada").await, "ok", "{name}");
        assert_eq!(
            laptop.body(&app, "/me").await,
            "none",
            "{name}: the oldest ended"
        );
        assert_eq!(phone.body(&app, "/me").await, "ada", "{name}");
        assert_eq!(office.body(&app, "/me").await, "ada", "{name}");
        let principals = Principals::new(named.storage.clone(), "account");
        assert_eq!(
            principals.sessions("ada", clock.now()).await.unwrap().len(),
            2,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_beyond_the_limit_is_refused_when_configured_so() {
    for named in storages::every("limit_refuse").await {
        let name = named.name;
        let clock = ManualClock::new();
        let app = account_app(named.storage.clone(), &clock, Users::default(), |c| {
            c.max_sessions_per_principal(2, OnLimit::Refuse)
        });
        let mut laptop = Device::new(FIREFOX_LINUX);
        let mut phone = Device::new(SAFARI_IPHONE);
        let mut office = Device::new(CHROME_WINDOWS);
        laptop.body(&app, "/login/ada").await;
        phone.body(&app, "/login/ada").await;
        assert_eq!(office.body(&app, "/login/ada").await, "limit", "{name}");
        assert_eq!(
            office.cookie, None,
            "{name}: no session for the refused login"
        );
        assert_eq!(
            laptop.body(&app, "/me").await,
            "ada",
            "{name}: the others stay"
        );
        assert_eq!(phone.body(&app, "/me").await, "ada", "{name}");
        // Logging in again on a device that already is ada's replaces its own session.
        assert_eq!(laptop.body(&app, "/login/ada").await, "ok", "{name}");
        // Another user is not affected, and a logout makes room.
        assert_eq!(office.body(&app, "/login/bob").await, "ok", "{name}");
        assert_eq!(phone.body(&app, "/end_all").await, "2", "{name}");
        assert_eq!(office.body(&app, "/login/ada").await, "ok", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_me_lasts_what_was_chosen_up_to_the_configured_maximum() {
    for named in storages::every("remember_me").await {
        let name = named.name;
        let clock = ManualClock::new();
        let app = account_app(named.storage.clone(), &clock, Users::default(), |c| {
            c.max_age(None).lifetime(DAY).max_lifetime(7 * DAY)
        });
        let mut kiosk = Device::new(FIREFOX_LINUX);
        let login = kiosk.call(&app, "/login/ada").await;
        assert!(
            !login.set_cookie("account").unwrap().contains("Max-Age"),
            "{name}: an ordinary login keeps a browser-session cookie"
        );
        let mut laptop = Device::new(SAFARI_IPHONE);
        let remember = laptop.call(&app, "/remember/ada").await;
        let set = remember.set_cookie("account").unwrap();
        assert!(
            set.contains("Max-Age=604800"),
            "{name}: 30 days asked, 7 allowed: {set}"
        );

        let principals = Principals::new(named.storage.clone(), "account");
        let now = clock.now();
        let devices = principals.sessions("ada", now).await.unwrap();
        let mut ends: Vec<Duration> = devices
            .iter()
            .map(|d| d.expires_at.duration_since(now).unwrap())
            .collect();
        ends.sort();
        assert_eq!(ends, [DAY, 7 * DAY], "{name}");

        // After the day, only the remembered session is left, and its cookie keeps its end.
        clock.advance(DAY + Duration::from_secs(1));
        assert_eq!(kiosk.body(&app, "/me").await, "none", "{name}");
        let later = laptop.call(&app, "/me").await;
        assert_eq!(later.body, "ada", "{name}");
        if let Some(set) = later.set_cookie("account") {
            assert!(
                set.contains("Max-Age=518399"),
                "{name}: the remaining lifetime: {set}"
            );
        }
        clock.advance(6 * DAY);
        assert_eq!(
            laptop.body(&app, "/me").await,
            "none",
            "{name}: seven days at most"
        );
        let _: SystemTime = clock.now();
    }
}
