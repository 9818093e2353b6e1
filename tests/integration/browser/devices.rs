//! Users and their devices in headless Chromium: two browsers with separate profiles log in
//! as the same user; each account page lists both devices (from the storage's principal
//! index); one logs the other out; a password change in one logs the other out; "log out other
//! devices"; "remember me" gives a lasting cookie, an ordinary login a browser-session one.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, Locator};

use super::harness::{DemoServer, Driver, browsers, free_port};
use super::pages::{click, cookie, every_form_has_a_token, fill, log_in, log_in_with, page, text};
use crate::support::servers::{temp_dir, watchdog};

#[test]
fn two_browsers_see_and_end_each_others_sessions() {
    let test = "browser::devices::two_browsers_see_and_end_each_others_sessions";
    let Some((chromium, chromedriver)) = browsers(test) else {
        return;
    };
    let dir = temp_dir("devices");
    watchdog(&dir);
    let started = Instant::now();
    let server = DemoServer::start(free_port(), &dir.join("demo-data"), &dir, 1);
    let driver = Driver::start(&chromedriver, &dir);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let steps = scenario(server.port, &driver, &chromium, &dir);
        tokio::time::timeout(Duration::from_secs(240), steps)
            .await
            .expect("the devices scenario finished within 4 minutes");
    });
    eprintln!("{test}: done in {:.1} s", started.elapsed().as_secs_f64());
}

/// One row of the account page's device table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// The device column: "Chrome on Linux", with "(this device)" on the current one.
    what: String,
    /// Browser or API token.
    kind: String,
    /// Whether the row is marked as this device.
    current: bool,
    /// The handle its "log out this device" form sends.
    handle: String,
    /// When it logged in and was last seen, as shown.
    created: String,
    last_seen: String,
}

/// The device table of the account page the browser shows.
async fn devices(client: &Client) -> Vec<Row> {
    assert_eq!(page(client).await, "account");
    let mut rows = Vec::new();
    for tr in client
        .find_all(Locator::Css("#devices tr.device"))
        .await
        .unwrap()
    {
        let cell = |css: &'static str| {
            let tr = tr.clone();
            async move {
                tr.find(Locator::Css(css))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        let handle = tr
            .find(Locator::Css("input[name=handle]"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .unwrap_or_default();
        rows.push(Row {
            what: cell("td.what").await,
            kind: tr.attr("data-kind").await.unwrap().unwrap_or_default(),
            current: tr.attr("data-current").await.unwrap().is_some(),
            handle,
            created: cell("td.created").await,
            last_seen: cell("td.last-seen").await,
        });
    }
    rows
}

/// The one row marked "this device", and the others.
fn this_and_others(rows: &[Row]) -> (&Row, Vec<&Row>) {
    let current: Vec<&Row> = rows.iter().filter(|r| r.current).collect();
    assert_eq!(current.len(), 1, "exactly one row is this device: {rows:?}");
    let others = rows.iter().filter(|r| !r.current).collect();
    (current[0], others)
}

/// Sends the password form of the account page.
async fn change_password(client: &Client, current: &str, new: &str) {
    fill(client, "#password input[name=current]", current).await;
    fill(client, "#password input[name=new]", new).await;
    click(client, "#change-password").await;
}

async fn scenario(port: u16, driver: &Driver, chromium: &Path, dir: &Path) {
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let a = driver.browser(chromium, &dir.join("profile-a")).await;
    let b = driver.browser(chromium, &dir.join("profile-b")).await;

    // A logs in without "remember me": its session cookie ends with the browser session.
    a.goto(&url("/login")).await.unwrap();
    log_in(&a, "alice", "wonderland").await;
    assert_eq!(page(&a).await, "shop");
    assert_eq!(text(&a, "#flash").await, "Welcome, alice.");
    let a_cookie = cookie(&a, "user_session")
        .await
        .expect("A's session cookie");
    assert_eq!(
        a_cookie.expires_datetime(),
        None,
        "a browser-session cookie"
    );

    // B logs in as alice too, with "remember me": a cookie that lasts about 30 days.
    b.goto(&url("/login")).await.unwrap();
    log_in_with(&b, "alice", "wonderland", true).await;
    assert_eq!(page(&b).await, "shop");
    assert_eq!(
        text(&b, "#flash").await,
        "Welcome, alice. This browser is remembered."
    );
    let b_cookie = cookie(&b, "user_session")
        .await
        .expect("B's session cookie");
    let expires = b_cookie
        .expires_datetime()
        .expect("a remembered login's cookie has an expiry")
        .unix_timestamp();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let days = (expires - i64::try_from(now).unwrap()) as f64 / 86_400.0;
    assert!((29.9..=30.001).contains(&days), "expires in {days} days");

    // A's account page lists both devices: A marked as this device, B not; B's page lists
    // the same two, the other way round.
    a.goto(&url("/account")).await.unwrap();
    every_form_has_a_token(&a).await;
    let a_rows = devices(&a).await;
    assert_eq!(a_rows.len(), 2, "{a_rows:?}");
    let (a_this, a_others) = this_and_others(&a_rows);
    assert_eq!(a_this.what, "Chrome on Linux (this device)");
    assert_eq!(a_others[0].what, "Chrome on Linux");
    for row in &a_rows {
        assert_eq!(row.kind, "browser");
        assert!(row.created.ends_with(" GMT"), "{row:?}");
        assert!(row.last_seen.ends_with(" GMT"), "{row:?}");
        assert_eq!(row.handle.len(), 43, "a handle, not a session id");
    }
    assert_eq!(
        text(&a, "#device-count").await,
        "2 device(s) of alice are logged in."
    );
    b.goto(&url("/account")).await.unwrap();
    let b_rows = devices(&b).await;
    let (b_this, b_others) = this_and_others(&b_rows);
    assert_eq!(b_rows.len(), 2, "{b_rows:?}");
    assert_eq!(b_this.handle, a_others[0].handle, "A lists B's session");
    assert_eq!(b_others[0].handle, a_this.handle, "B lists A's session");

    // A logs B out ("log out this device" on B's row): B's next request is logged out, A not.
    click(
        &a,
        "#devices tr.device:not([data-current]) button.end-device",
    )
    .await;
    assert_eq!(text(&a, "#flash").await, "The device is logged out.");
    let a_rows = devices(&a).await;
    assert_eq!(a_rows.len(), 1, "{a_rows:?}");
    assert!(a_rows[0].current);
    b.refresh().await.unwrap();
    assert_eq!(page(&b).await, "login", "B was logged out");
    b.goto(&url("/shop")).await.unwrap();
    assert_eq!(page(&b).await, "login");
    a.refresh().await.unwrap();
    assert_eq!(page(&a).await, "account", "A stays logged in");

    // A handle that names no session of alice's ends nothing (A's own handle with its first
    // character changed: a well-formed handle of no session).
    let first = if a_this.handle.starts_with('A') {
        "B"
    } else {
        "A"
    };
    let garbled = format!("{first}{}", &a_this.handle[1..]);
    let form = a
        .find(Locator::Css("#devices tr.device input[name=handle]"))
        .await
        .unwrap();
    a.execute(
        "arguments[0].value = arguments[1]",
        vec![serde_json::to_value(&form).unwrap(), garbled.into()],
    )
    .await
    .unwrap();
    click(&a, "#devices tr.device button.end-device").await;
    assert_eq!(page(&a).await, "account", "A is still logged in");
    assert_eq!(text(&a, "p.error#flash").await, "No such device");
    assert_eq!(devices(&a).await.len(), 1);

    // B logs in again; A sees two devices again.
    log_in(&b, "alice", "wonderland").await;
    assert_eq!(page(&b).await, "shop");
    a.refresh().await.unwrap();
    assert_eq!(devices(&a).await.len(), 2);

    // A password change with a wrong current password is refused and ends nothing.
    change_password(&a, "not-the-password", "looking-glass").await;
    assert_eq!(
        text(&a, "p.error#flash").await,
        "The current password is not right"
    );
    assert_eq!(devices(&a).await.len(), 2);
    b.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&b).await, "account", "B is still logged in");

    // The password changes in A: B is logged out, A stays logged in.
    change_password(&a, "wonderland", "looking-glass").await;
    assert_eq!(page(&a).await, "account");
    assert_eq!(
        text(&a, "#flash").await,
        "Password changed. Logged out 1 other device(s)."
    );
    let a_rows = devices(&a).await;
    assert_eq!(a_rows.len(), 1, "{a_rows:?}");
    assert!(a_rows[0].current);
    b.refresh().await.unwrap();
    assert_eq!(
        page(&b).await,
        "login",
        "B was logged out by the password change"
    );
    a.goto(&url("/shop")).await.unwrap();
    assert_eq!(page(&a).await, "shop", "A stays logged in");
    assert_eq!(text(&a, "#user").await, "alice");

    // The old password no longer works; the new one does.
    b.goto(&url("/login")).await.unwrap();
    log_in(&b, "alice", "wonderland").await;
    assert_eq!(page(&b).await, "login");
    assert_eq!(text(&b, "p.error#flash").await, "Credentials are not valid");
    log_in(&b, "alice", "looking-glass").await;
    assert_eq!(page(&b).await, "shop");

    // "Log out other devices" in A: B is logged out, A is not.
    a.goto(&url("/account")).await.unwrap();
    assert_eq!(devices(&a).await.len(), 2);
    click(&a, "#logout-others").await;
    assert_eq!(page(&a).await, "account");
    assert_eq!(text(&a, "#flash").await, "Logged out 1 other device(s).");
    assert_eq!(devices(&a).await.len(), 1);
    b.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&b).await, "login", "B was logged out");
    a.refresh().await.unwrap();
    assert_eq!(page(&a).await, "account", "A stays logged in");

    // "Log out this device" on A's own row is a logout.
    click(&a, "#devices tr.device[data-current] button.end-device").await;
    assert_eq!(page(&a).await, "login");
    assert_eq!(text(&a, "#flash").await, "You are logged out.");
    a.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&a).await, "login");

    a.close().await.unwrap();
    b.close().await.unwrap();
}
