//! The timeout of by-id storage calls: on by default, configurable, and off only when asked;
//! a call that runs out of time is a `503`, and a call that answers at once never arms a timer.

use std::time::{Duration, Instant, SystemTime};

use typed_sessions::config::DEFAULT_STORAGE_TIMEOUT;
use typed_sessions::storage::{
    Created, MemoryStorage, Record, SessionKey, SessionStorage, StorageError,
};
use typed_sessions::{SessionId, SessionsConfig};

use crate::common::{TestUserSession, get, user_routes};

/// A backend that never answers.
#[derive(Debug)]
struct Hanging;

#[async_trait::async_trait]
impl SessionStorage for Hanging {
    async fn load(&self, _: SessionKey<'_>, _: SystemTime) -> Result<Option<Record>, StorageError> {
        std::future::pending().await
    }
    async fn create(
        &self,
        _: SessionKey<'_>,
        _: &Record,
        _: SystemTime,
    ) -> Result<Created, StorageError> {
        std::future::pending().await
    }
    async fn update(
        &self,
        _: SessionKey<'_>,
        _: &Record,
        _: SystemTime,
    ) -> Result<bool, StorageError> {
        std::future::pending().await
    }
    async fn delete(&self, _: SessionKey<'_>) -> Result<bool, StorageError> {
        std::future::pending().await
    }
    async fn delete_expired(&self, _: SystemTime) -> Result<u64, StorageError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_backend_that_does_not_answer_is_a_prompt_503() {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", Hanging, |c| {
            c.storage_timeout(Duration::from_millis(100))
        })
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let cookie = format!("s={}", SessionId::generate().as_str());
    let started = Instant::now();
    for path in ["/get", "/set/x", "/clear"] {
        let answer = get(&router, path, Some(&cookie)).await;
        assert_eq!(answer.status, 503, "{path}");
        assert!(answer.set_cookies().is_empty(), "{path}");
    }
    assert_eq!(
        get(&router, "/set/x", None).await.status,
        503,
        "creating times out too"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn by_default_a_backend_that_does_not_answer_is_a_503_after_the_default_timeout() {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", Hanging, |c| c)
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let cookie = format!("s={}", SessionId::generate().as_str());
    // Paused time: the runtime jumps to the next timer when idle, so this takes no real time,
    // and without a timeout the request would wait for ever.
    let started = tokio::time::Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(3600),
        get(&router, "/get", Some(&cookie)),
    )
    .await
    .expect("the request hung: no default storage timeout");
    assert_eq!(answer.status, 503);
    assert!(answer.set_cookies().is_empty());
    assert_eq!(started.elapsed(), DEFAULT_STORAGE_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn the_timeout_can_be_set_or_turned_off() {
    let cookie = format!("s={}", SessionId::generate().as_str());
    let with = |timeout: Option<Duration>| {
        user_routes().layer(
            SessionsConfig::new()
                .cookie_with_storage::<TestUserSession, _>("s", Hanging, |c| {
                    c.storage_timeout(timeout)
                })
                .build()
                .unwrap(),
        )
    };
    let started = tokio::time::Instant::now();
    let answer = get(&with(Some(Duration::from_secs(30))), "/get", Some(&cookie)).await;
    assert_eq!(answer.status, 503);
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    // Turned off: the call waits as long as the backend does (here, past an hour).
    let off = with(None);
    let waited =
        tokio::time::timeout(Duration::from_secs(3600), get(&off, "/get", Some(&cookie))).await;
    assert!(waited.is_err(), "answered without a timeout");
}

#[test]
fn a_call_that_answers_at_once_arms_no_timer() {
    // A runtime without timers panics when a timer is armed: the memory storage answers at the
    // first poll, so a by-id session with the default timeout works on it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let layer = SessionsConfig::new()
            .cookie_with_storage::<TestUserSession, _>("s", MemoryStorage::new(), |c| c)
            .build()
            .unwrap();
        let router = user_routes().layer(layer);
        let set = get(&router, "/set/id1", None).await;
        assert_eq!(set.status, 200);
        let cookie = set.cookie_pair("s").unwrap();
        assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "id1");
    });
}

/// A backend that answers after `delay`, and promises that its calls end within `bound`.
#[derive(Debug)]
struct Bounded {
    delay: Duration,
    bound: Duration,
    inner: MemoryStorage,
}

#[async_trait::async_trait]
impl SessionStorage for Bounded {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        tokio::time::sleep(self.delay).await;
        self.inner.load(key, now).await
    }
    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        tokio::time::sleep(self.delay).await;
        self.inner.create(key, record, now).await
    }
    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        tokio::time::sleep(self.delay).await;
        self.inner.update(key, record, now).await
    }
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.inner.delete(key).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        self.inner.delete_expired(now).await
    }
    fn call_bound(&self) -> Option<Duration> {
        Some(self.bound)
    }
}

/// A storage that bounds its own calls within the layer's timeout is not timed a second time;
/// one whose bound is longer is timed as any other. (This storage breaks its promise, taking
/// 2 s where it promised 1 s, so that the test can see who would time the call.)
#[tokio::test(start_paused = true)]
async fn a_storage_that_bounds_its_own_calls_within_the_timeout_is_not_timed_again() {
    let with = |bound: Duration| {
        user_routes().layer(
            SessionsConfig::new()
                .cookie_with_storage::<TestUserSession, _>(
                    "s",
                    Bounded {
                        delay: Duration::from_secs(2),
                        bound,
                        inner: MemoryStorage::new(),
                    },
                    |c| c.storage_timeout(Duration::from_secs(1)),
                )
                .build()
                .unwrap(),
        )
    };
    let started = tokio::time::Instant::now();
    let trusted = get(&with(Duration::from_secs(1)), "/set/x", None).await;
    assert_eq!(trusted.status, 200, "the layer armed a timer of its own");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    let started = tokio::time::Instant::now();
    let timed = get(&with(Duration::from_millis(1001)), "/set/x", None).await;
    assert_eq!(timed.status, 503, "a bound past the timeout is not trusted");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}
