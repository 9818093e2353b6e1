//! The device list and ending devices, on every storage; the index untouched by requests
//! that keep their principal; "last seen"; the address, off by default.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use typed_sessions::clock::ManualClock;
use typed_sessions::storage::{
    Created, MemoryStorage, Namespace, PrincipalSession, Principals, Record, Revision,
    SessionHandle, SessionKey, SessionStorage, StorageError, Updated,
};

use super::{
    CHROME_WINDOWS, Device, FIREFOX_LINUX, SAFARI_IPHONE, Users, account_app, account_app_with,
    listed,
};
use crate::support::storages;

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_lists_and_ends_their_devices_on_every_storage() {
    for named in storages::every("devices").await {
        let name = named.name;
        let clock = ManualClock::new();
        let app = account_app(named.storage.clone(), &clock, Users::default(), |c| c);
        let mut laptop = Device::new(FIREFOX_LINUX);
        let mut phone = Device::new(SAFARI_IPHONE);
        let mut office = Device::new(CHROME_WINDOWS);
        let mut bob = Device::new(FIREFOX_LINUX);
        for device in [&mut laptop, &mut phone, &mut office] {
            assert_eq!(device.body(&app, "/login/ada").await, "ok", "{name}");
            clock.advance(SECOND);
        }
        assert_eq!(bob.body(&app, "/login/bob").await, "ok");

        let list = listed(&laptop.body(&app, "/devices").await);
        let descriptions: Vec<&str> = list.iter().map(|d| d.description.as_str()).collect();
        assert_eq!(
            descriptions,
            ["Chrome on Windows", "Safari on iOS", "Firefox on Linux"],
            "{name}: ada's three devices, the most recent first"
        );
        let current: Vec<bool> = list.iter().map(|d| d.current).collect();
        assert_eq!(current, [false, false, true], "{name}: this device marked");
        assert!(
            list.iter().all(|d| d.address == "-"),
            "{name}: no address by default"
        );
        for cookie in [&laptop.cookie, &phone.cookie, &office.cookie] {
            let id = cookie.as_ref().unwrap().split_once('=').unwrap().1;
            assert!(
                list.iter()
                    .all(|d| !d.handle.contains(id) && !id.contains(&d.handle)),
                "{name}: a handle is never the id"
            );
        }
        // The phone sees the same list, marked from its side.
        let from_phone = listed(&phone.body(&app, "/devices").await);
        assert_eq!(from_phone.len(), 3);
        assert!(from_phone[1].current && !from_phone[2].current, "{name}");
        assert_eq!(from_phone[2].handle, list[2].handle);

        // Another user's handle ends nothing.
        let bobs = listed(&bob.body(&app, "/devices").await);
        assert_eq!(bobs.len(), 1, "{name}");
        let bob_handle = bobs[0].handle.clone();
        assert_eq!(
            laptop.body(&app, &format!("/end/{bob_handle}")).await,
            "false"
        );
        assert_eq!(bob.body(&app, "/me").await, "bob", "{name}");
        assert_eq!(laptop.body(&app, "/end/not-a-handle").await, "bad handle");

        // "Log out this device" for the phone, from the laptop.
        let phone_handle = &list[1].handle;
        assert_eq!(
            laptop.body(&app, &format!("/end/{phone_handle}")).await,
            "true",
            "{name}"
        );
        assert_eq!(
            phone.body(&app, "/me").await,
            "none",
            "{name}: the phone is logged out"
        );
        assert_eq!(
            listed(&laptop.body(&app, "/devices").await).len(),
            2,
            "{name}"
        );

        // "Log out all other devices".
        assert_eq!(laptop.body(&app, "/end_others").await, "1", "{name}");
        assert_eq!(office.body(&app, "/me").await, "none", "{name}");
        let left = listed(&laptop.body(&app, "/devices").await);
        assert_eq!(left.len(), 1, "{name}");
        assert!(left[0].current);
        assert_eq!(
            laptop.body(&app, "/me").await,
            "ada",
            "{name}: this one stays"
        );

        // Outside a request: an administrator ends everything of bob's.
        let principals = Principals::new(named.storage.clone(), "account");
        let now = clock_now(&clock);
        assert_eq!(
            principals.sessions("bob", now).await.unwrap().len(),
            1,
            "{name}"
        );
        assert_eq!(principals.end_all("bob", None).await.unwrap(), 1, "{name}");
        assert!(principals.sessions("bob", now).await.unwrap().is_empty());
        assert_eq!(bob.body(&app, "/me").await, "none", "{name}");

        // "Log out everywhere", this device included.
        laptop.body(&app, "/login/ada").await;
        phone.body(&app, "/login/ada").await;
        assert_eq!(laptop.body(&app, "/end_all").await, "2", "{name}");
        assert_eq!(
            laptop.cookie, None,
            "{name}: the response drops this device's cookie"
        );
        assert_eq!(phone.body(&app, "/me").await, "none");
        assert!(
            principals.sessions("ada", now).await.unwrap().is_empty(),
            "{name}"
        );
    }
}

fn clock_now(clock: &ManualClock) -> SystemTime {
    use typed_sessions::clock::Clock;
    clock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_of_user_moves_the_session_between_users() {
    for named in storages::every("switch_user").await {
        let name = named.name;
        let clock = ManualClock::new();
        let app = account_app(named.storage.clone(), &clock, Users::default(), |c| c);
        let principals = Principals::new(named.storage.clone(), "account");
        let mut device = Device::new(FIREFOX_LINUX);
        device.body(&app, "/login/ada").await;
        let first = device.cookie.clone();
        device.body(&app, "/login/bob").await;
        assert_ne!(device.cookie, first, "{name}: a login gets a new id");
        let now = clock_now(&clock);
        assert!(
            principals.sessions("ada", now).await.unwrap().is_empty(),
            "{name}"
        );
        assert_eq!(
            principals.sessions("bob", now).await.unwrap().len(),
            1,
            "{name}"
        );
        let mut old = Device::new(FIREFOX_LINUX);
        old.cookie = first;
        assert_eq!(
            old.body(&app, "/me").await,
            "none",
            "{name}: the old id is gone"
        );
    }
}

/// Counts every call a storage receives, principal index calls apart; ending a user's
/// sessions fails while `fail_ending` is set.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryStorage,
    calls: AtomicUsize,
    index_calls: AtomicUsize,
    fail_ending: AtomicBool,
}

impl Counting {
    fn call(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
    fn index_call(&self) {
        self.index_calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl SessionStorage for Counting {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        self.call();
        self.inner.load(key, now).await
    }
    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        self.call();
        self.inner.create(key, record, now).await
    }
    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.call();
        self.inner.update(key, record, now).await
    }
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        self.call();
        self.inner.update_if(key, record, expected, now).await
    }
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.call();
        self.inner.delete(key).await
    }
    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.call();
        self.inner.change_id(old, new, record, now).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        self.inner.delete_expired(now).await
    }
    fn supports_principals(&self) -> bool {
        true
    }
    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        self.index_call();
        self.inner.sessions_of(namespace, principal, now).await
    }
    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        self.index_call();
        self.inner.delete_of(namespace, principal, handle).await
    }
    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        self.index_call();
        if self.fail_ending.load(Ordering::SeqCst) {
            return Err(StorageError::unavailable(
                "ending sessions fails in this test",
            ));
        }
        self.inner.delete_all_of(namespace, principal, except).await
    }
}

#[tokio::test]
async fn a_password_change_whose_other_devices_cannot_be_ended_still_moves_this_session() {
    let storage = Arc::new(Counting::default());
    let clock = ManualClock::new();
    let app = account_app(storage.clone(), &clock, Users::default(), |c| c);
    let mut laptop = Device::new(FIREFOX_LINUX);
    laptop.body(&app, "/login/ada").await;
    let mut stolen = Device::new(FIREFOX_LINUX);
    stolen.cookie = laptop.cookie.clone();
    storage.fail_ending.store(true, Ordering::SeqCst);
    let answer = laptop.call(&app, "/password").await;
    assert_eq!(answer.status, 503, "the failure is reported");
    assert_ne!(
        laptop.cookie, stolen.cookie,
        "the session got a new id all the same"
    );
    assert_eq!(laptop.body(&app, "/me").await, "ada");
    assert_eq!(
        stolen.body(&app, "/me").await,
        "none",
        "the old id does not carry the new credentials"
    );
}

#[tokio::test]
async fn requests_that_keep_their_principal_cost_no_extra_storage_call() {
    // The same requests with and without a principal: the same storage calls, and none of
    // them a call of the index.
    let mut counts = Vec::new();
    for with_principal in [false, true] {
        let storage = Arc::new(Counting::default());
        let clock = ManualClock::new();
        let layer = typed_sessions::SessionsConfig::new()
            .clock(clock.clone())
            .cookie_with_storage::<super::Account, _>("account", storage.clone(), |c| {
                let c = c.secure(false).idle_timeout(Duration::from_secs(600));
                if with_principal {
                    c.principal(|a: &super::Account| Some(a.user.clone()))
                } else {
                    c
                }
            })
            .build()
            .unwrap();
        let app = super::account_routes(Users::default()).layer(layer);
        let mut device = Device::new(FIREFOX_LINUX);
        device.body(&app, "/login/ada").await;
        let after_login = storage.calls.load(Ordering::SeqCst);
        for _ in 0..20 {
            assert_eq!(device.body(&app, "/me").await, "ada");
            clock.advance(Duration::from_secs(30));
        }
        counts.push((
            after_login,
            storage.calls.load(Ordering::SeqCst) - after_login,
            storage.index_calls.load(Ordering::SeqCst),
        ));
    }
    let (plain, principal) = (counts[0], counts[1]);
    assert_eq!(
        principal.1, plain.1,
        "sticky requests: the same calls {counts:?}"
    );
    assert_eq!(principal.2, 0, "no index call: {counts:?}");
    // 20 reads, and a renewal every 150 s of the 600 s idle window (every fifth request).
    assert_eq!(plain.1, 20 + 3, "{counts:?}");
}

#[tokio::test]
async fn last_seen_follows_use_no_more_often_than_the_renewal_throttle() {
    let storage: Arc<dyn SessionStorage> = Arc::new(MemoryStorage::new());
    let clock = ManualClock::new();
    let app = account_app(storage.clone(), &clock, Users::default(), |c| c);
    let principals = Principals::new(storage, "account");
    let mut device = Device::new(FIREFOX_LINUX);
    device.body(&app, "/login/ada").await;
    let login = clock_now(&clock);
    let last_seen =
        || async { principals.sessions("ada", clock_now(&clock)).await.unwrap()[0].last_seen };
    // No idle timeout and a 7-day lifetime: "last seen" lags at most an hour.
    clock.advance(Duration::from_secs(59 * 60));
    device.body(&app, "/me").await;
    assert_eq!(last_seen().await, login, "not rewritten within the hour");
    clock.advance(Duration::from_secs(60));
    device.body(&app, "/me").await;
    assert_eq!(
        last_seen().await,
        clock_now(&clock),
        "rewritten after an hour"
    );
    assert_ne!(last_seen().await, login);
}

#[tokio::test]
async fn the_address_is_recorded_only_when_turned_on_and_only_as_a_network() {
    for (address, expected) in [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::/48"),
    ] {
        let clock = ManualClock::new();
        let storage: Arc<dyn SessionStorage> = Arc::new(MemoryStorage::new());
        let app = account_app_with(
            storage,
            &clock,
            Users::default(),
            |config| {
                config.client_address(|headers, _| {
                    headers
                        .get("x-forwarded-for")?
                        .to_str()
                        .ok()?
                        .parse::<IpAddr>()
                        .ok()
                })
            },
            |c| c,
        );
        let answer = crate::common::get_with(
            &app,
            "/login/ada",
            &[("user-agent", FIREFOX_LINUX), ("x-forwarded-for", address)],
        )
        .await;
        let mut device = Device::new(FIREFOX_LINUX);
        device.cookie = answer.cookie_pair("account");
        let list = listed(&device.body(&app, "/devices").await);
        assert_eq!(list[0].address, expected);
        assert_eq!(list[0].description, "Firefox on Linux");
    }
}
