//! `store sessions` and `store end`: a user's sessions listed and ended through the principal
//! index, on a directory, SQLite, Redis, Redis Cluster and PostgreSQL, with sessions filed as
//! the sessions layer files a login (the layer's own part is tested by the library's tests).

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use typed_sessions::storage::{Namespace, Record, SessionId, SessionStorage, open_url};

use super::{run, servers};

/// The session name the tool is given (`--session account`).
static ACCOUNT: LazyLock<Namespace> = LazyLock::new(|| Namespace::new("account"));

/// Files a login of `user` on `device` (its description, as the layer derives it from the
/// `User-Agent`), last seen at `at`, under the session name `account`, with an id made as the
/// layer makes it (starting with the prefix the storage asks for: Redis Cluster keeps a user's
/// sessions in one hash slot).
async fn log_in(
    storage: &dyn SessionStorage,
    user: &str,
    device: &str,
    at: SystemTime,
) -> SessionId {
    let random = SessionId::generate();
    let prefix = storage
        .principal_id_prefix(&ACCOUNT, user)
        .unwrap_or_default();
    let id = SessionId::parse(&format!("{prefix}{}", &random.as_str()[prefix.len()..]))
        .expect("the storage's id prefix makes a valid id");
    let data = format!(r#"{{"user":"{user}","credentials":1}}"#);
    let mut record = Record::new(data, at, at + Duration::from_secs(3600)).with_principal(user);
    record.meta.device = Some(device.into());
    storage.create(ACCOUNT.key(&id), &record, at).await.unwrap();
    id
}

/// Whether the session `id` is still there.
async fn is_live(storage: &dyn SessionStorage, id: &SessionId) -> bool {
    let key = ACCOUNT.key(id);
    storage
        .load(key, SystemTime::now())
        .await
        .unwrap()
        .is_some()
}

/// Logs ada in on three devices, a second apart, and bob on one, on the storage at `url`, then
/// lists and ends their sessions with the tool.
async fn expect_principal_commands(url: &str) {
    let storage: Arc<dyn SessionStorage> = open_url(url).await.unwrap();
    let storage = storage.as_ref();
    let start = SystemTime::now() - Duration::from_secs(10);
    let mut devices = Vec::new();
    for (n, device) in ["Firefox on Linux", "Safari on iOS", "Chrome on Windows"]
        .into_iter()
        .enumerate()
    {
        let at = start + Duration::from_secs(n as u64);
        devices.push(log_in(storage, "ada", device, at).await);
    }
    let bob = log_in(storage, "bob", "Firefox on Linux", start).await;

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
    for id in &devices {
        assert!(
            !list.all().contains(id.as_str()),
            "an id was printed: {list:#?}"
        );
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
    assert!(
        !is_live(storage, &devices[1]).await,
        "the phone is logged out"
    );
    assert!(is_live(storage, &devices[0]).await);

    let all = run(&["store", "end", url, "--session", "account", "ada", "--all"]).expect(0);
    assert!(all.has_line("ended: 2"), "{all:#?}");
    for id in &devices {
        assert!(!is_live(storage, id).await);
    }
    assert!(is_live(storage, &bob).await, "bob keeps his session");
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
