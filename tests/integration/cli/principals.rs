//! `store sessions` and `store end`: a user's sessions listed and ended through the principal
//! index, on a directory, SQLite, Redis, Redis Cluster and PostgreSQL, after real logins.

use std::sync::Arc;

use typed_sessions::clock::ManualClock;
use typed_sessions::storage::{SessionId, SessionStorage, open_url};

use super::run;
use crate::support::servers;
use crate::users::{CHROME_WINDOWS, Device, FIREFOX_LINUX, SAFARI_IPHONE, Users, account_app};

/// Logs ada in on three devices and bob on one through the sessions layer on the storage at
/// `url`, then lists and ends their sessions with the tool.
async fn expect_principal_commands(url: &str) {
    let storage: Arc<dyn SessionStorage> = open_url(url).await.unwrap();
    let clock = ManualClock::new();
    let app = account_app(storage, &clock, Users::default(), |c| c);
    let mut devices = [
        Device::new(FIREFOX_LINUX),
        Device::new(SAFARI_IPHONE),
        Device::new(CHROME_WINDOWS),
    ];
    for device in &mut devices {
        device.body(&app, "/login/ada").await;
        clock.advance(std::time::Duration::from_secs(1));
    }
    let mut bob = Device::new(FIREFOX_LINUX);
    bob.body(&app, "/login/bob").await;

    let list = run(&["store", "sessions", url, "--session", "account", "ada"]).expect(0);
    assert_eq!(list.field("sessions"), Some("3"), "{list:#?}");
    let described: Vec<&str> = list
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("device: "))
        .collect();
    assert_eq!(
        described,
        ["Chrome on Windows", "Safari on iOS", "Firefox on Linux"],
        "{list:#?}"
    );
    for device in &devices {
        let id = device.cookie.as_ref().unwrap().split_once('=').unwrap().1;
        assert!(!list.all().contains(id), "an id was printed: {list:#?}");
    }
    let handles: Vec<&str> = list
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("handle: "))
        .collect();
    assert_eq!(handles.len(), 3);

    // Another user's handle ends nothing; ada's does.
    let bobs = run(&["store", "sessions", url, "--session", "account", "bob"]).expect(0);
    let bob_handle = bobs.field("handle").unwrap().to_owned();
    let wrong = run(&[
        "store",
        "end",
        url,
        "--session",
        "account",
        "ada",
        "--handle",
        &bob_handle,
    ])
    .expect(0);
    assert!(wrong.has_line("ended: 0"), "{wrong:#?}");
    let one = run(&[
        "store",
        "end",
        url,
        "--session",
        "account",
        "ada",
        "--handle",
        handles[1],
    ])
    .expect(0);
    assert!(one.has_line("ended: 1"), "{one:#?}");
    assert_eq!(
        devices[1].body(&app, "/me").await,
        "none",
        "the phone is logged out"
    );
    assert_eq!(devices[0].body(&app, "/me").await, "ada");

    let all = run(&["store", "end", url, "--session", "account", "ada", "--all"]).expect(0);
    assert!(all.has_line("ended: 2"), "{all:#?}");
    for device in &mut devices {
        assert_eq!(device.body(&app, "/me").await, "none");
    }
    assert_eq!(bob.body(&app, "/me").await, "bob", "bob keeps his session");
    let none = run(&["store", "sessions", url, "--session", "account", "ada"]).expect(0);
    assert!(none.has_line("sessions: 0"), "{none:#?}");

    // Handles (base64url) and custom ids may start with `-`: they are values, not options.
    let dash = format!("-{}", "A".repeat(42));
    let nobody = run(&[
        "store",
        "end",
        url,
        "--session",
        "account",
        "ada",
        "--handle",
        &dash,
    ])
    .expect(0);
    assert!(nobody.has_line("ended: 0"), "{nobody:#?}");
    let custom = run(&["store", "clear", url, "--session", "account", "-custom_id"]).expect(0);
    assert!(
        custom.field("removed").unwrap().starts_with("no"),
        "{custom:#?}"
    );

    run(&["store", "end", url, "--session", "account", "ada"]).expect_error(2, "--handle");
    run(&[
        "store",
        "end",
        url,
        "--session",
        "account",
        "ada",
        "--handle",
        "nope",
    ])
    .expect_error(2, "not a session handle");
}

fn unique() -> String {
    SessionId::generate().as_str()[..12].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_and_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sessions");
    std::fs::create_dir(&root).unwrap();
    expect_principal_commands(root.to_str().unwrap()).await;
    let db = servers::sqlite_dir().join(format!("cli-principals-{}.db", unique()));
    expect_principal_commands(&format!("sqlite://{}", db.display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_redis_cluster() {
    if let Some(server) = servers::redis("cli principals redis") {
        expect_principal_commands(&format!("{}?prefix=cli:{}:", server.url(), unique())).await;
    }
    if let Some(cluster) = servers::redis_cluster("cli principals cluster") {
        let url = format!("{}?prefix=cli:{}:", cluster.url(), unique());
        expect_principal_commands(&url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if let Some(server) = servers::postgres("cli principals postgres") {
        expect_principal_commands(&format!("{}?table=cli_p_{}", server.url(), unique())).await;
    }
}
