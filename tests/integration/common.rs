//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Serves `router` on a free loopback port until the test's runtime ends.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

/// A reqwest client that keeps cookies like a browser and does not follow redirects.
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The result of one request sent with `oneshot`.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The single `Set-Cookie` for cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        let mut found = self
            .set_cookies()
            .into_iter()
            .filter(|c| c.starts_with(&prefix));
        let first = found.next();
        assert!(
            found.next().is_none(),
            "more than one Set-Cookie for {name}"
        );
        first
    }

    /// The value part (`name=VALUE; ...`) of the `Set-Cookie` for `name`.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.set_cookie(name).map(|c| {
            let pair = c.split(';').next().unwrap();
            pair[name.len() + 1..].to_owned()
        })
    }

    /// Whether the response removes cookie `name`: its `Set-Cookie` has an empty value or a
    /// `Max-Age` of zero. Only the attributes are looked at, never the value (a random id may
    /// contain any text, "1970" included).
    pub fn removes_cookie(&self, name: &str) -> bool {
        self.set_cookie(name).is_some_and(|c| {
            let mut parts = c.split(';').map(str::trim);
            let pair = parts.next().unwrap_or_default();
            pair.len() == name.len() + 1
                || parts.any(|attribute| attribute.eq_ignore_ascii_case("max-age=0"))
        })
    }

    /// The `name=value` pair to send back in a `Cookie` header.
    pub fn cookie_pair(&self, name: &str) -> Option<String> {
        self.cookie_value(name).map(|v| format!("{name}={v}"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Sends one request through `router` with `oneshot`.
pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response: Response<Body> = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// `GET path`, with an optional `Cookie` header.
pub async fn get(router: &Router, path: &str, cookie: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(http::header::COOKIE, cookie);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

/// `GET path` with arbitrary extra headers.
pub async fn get_with(router: &Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(router, request.body(Body::empty()).unwrap()).await
}

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::SystemTime;

use typed_sessions::serializer::{Json, SerializerError, SessionSerializer};
use typed_sessions::storage::{
    Created, MemoryStorage, Namespace, Record, SessionId, SessionKey, SessionStorage, StorageError,
};

/// `id` in the namespace of the session the tests register as `"s"`, for storage calls made
/// directly (not through a sessions layer).
pub fn session_key(id: &SessionId) -> SessionKey<'_> {
    static TESTS: std::sync::LazyLock<Namespace> = std::sync::LazyLock::new(|| Namespace::new("s"));
    TESTS.key(id)
}

/// Counts the calls a storage receives, and can be switched to fail like an unreachable
/// backend. Clones share the counters and the switch.
#[derive(Debug, Clone, Default)]
pub struct ProbeStorage {
    pub inner: Arc<MemoryStorage>,
    pub loads: Arc<AtomicUsize>,
    pub creates: Arc<AtomicUsize>,
    pub updates: Arc<AtomicUsize>,
    pub deletes: Arc<AtomicUsize>,
    pub failing: Arc<AtomicBool>,
    /// Only `create` fails (the other calls work).
    pub failing_creates: Arc<AtomicBool>,
}

impl ProbeStorage {
    pub fn calls(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
            + self.creates.load(Ordering::SeqCst)
            + self.updates.load(Ordering::SeqCst)
            + self.deletes.load(Ordering::SeqCst)
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Makes only `create` fail, like a backend that refuses new records.
    pub fn fail_creates(&self, failing: bool) {
        self.failing_creates.store(failing, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StorageError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StorageError::unavailable("probe storage switched off"))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl SessionStorage for ProbeStorage {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.load(key, now).await
    }
    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        if self.failing_creates.load(Ordering::SeqCst) {
            return Err(StorageError::unavailable(
                "probe storage refuses new records",
            ));
        }
        self.inner.create(key, record, now).await
    }
    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.update(key, record, now).await
    }
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.deletes.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.delete(key).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        self.check()?;
        self.inner.delete_expired(now).await
    }
}

/// JSON, counting how often it deserializes.
#[derive(Debug, Clone, Default)]
pub struct CountingJson {
    pub decodes: Arc<AtomicUsize>,
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> SessionSerializer<T> for CountingJson {
    fn serialize(&self, value: &T) -> Result<String, SerializerError> {
        Json.serialize(value)
    }
    fn deserialize(&self, text: &str) -> Result<T, SerializerError> {
        self.decodes.fetch_add(1, Ordering::SeqCst);
        Json.deserialize(text)
    }
}

/// Ktor's test session type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestUserSession {
    #[serde(rename = "userId")]
    pub user_id: String,
    pub cart: Vec<String>,
}

impl TestUserSession {
    pub fn new(user_id: &str) -> Self {
        TestUserSession {
            user_id: user_id.into(),
            cart: vec![],
        }
    }
}

/// A router with the usual session routes for `TestUserSession`:
/// `/get` (the user id or `none`), `/set/{id}`, `/clear`, `/untouched`, `/id`.
pub fn user_routes() -> Router {
    use axum::extract::Path;
    use axum::routing::get;
    use typed_sessions::{SessionError, Sessions};

    Router::new()
        .route(
            "/get",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.get::<TestUserSession>().await? {
                    Some(u) => u.user_id,
                    None => "none".into(),
                })
            }),
        )
        .route(
            "/set/{id}",
            get(|s: Sessions, Path(id): Path<String>| async move {
                s.set(TestUserSession::new(&id))?;
                Ok::<_, SessionError>("set")
            }),
        )
        .route(
            "/clear",
            get(|s: Sessions| async move {
                s.clear::<TestUserSession>()?;
                Ok::<_, SessionError>("cleared")
            }),
        )
        .route("/untouched", get(|| async { "untouched" }))
        .route(
            "/id",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.id::<TestUserSession>().await? {
                    Some(id) => id.as_str().to_owned(),
                    None => "none".into(),
                })
            }),
        )
}
