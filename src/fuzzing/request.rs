//! A whole request through the sessions layer.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderValue, Request, Response, header::COOKIE};

use super::FuzzSession;
use crate::storage::MemoryStorage;
use crate::{Sessions, SessionsConfig, SessionsLayer};

struct RequestHarness {
    runtime: tokio::runtime::Runtime,
    layer: SessionsLayer,
}

static HARNESS: LazyLock<Option<RequestHarness>> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let clock = crate::clock::ManualClock::new();
    clock.set(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let layer = SessionsConfig::new()
        .clock(clock)
        .cookie::<FuzzSession>("s", |c| c.unprotected())
        .cookie_with_storage::<String, _>("user_session", MemoryStorage::new(), |c| c)
        .header::<u64>("x-s", |h| h.unprotected())
        .build()
        .ok()?;
    Some(RequestHarness { runtime, layer })
});

/// A whole request through the layer: the first line is the `Cookie` header, the second the
/// `x-s` header, the third selects what the handler does. Never a panic, never a 5xx.
pub fn request(data: &[u8]) {
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let Some(harness) = HARNESS.as_ref() else {
        return;
    };
    let mut lines = data.splitn(3, |&b| b == b'\n');
    let cookie = lines.next().unwrap_or_default();
    let header = lines.next().unwrap_or_default();
    let action = lines.next().and_then(|a| a.first().copied()).unwrap_or(0);
    let mut request = Request::new(());
    if let Ok(value) = HeaderValue::from_bytes(cookie) {
        request.headers_mut().insert(COOKIE, value);
    }
    if let Ok(value) = HeaderValue::from_bytes(header) {
        request.headers_mut().insert("x-s", value);
    }
    let handler = Handler { action };
    let mut service = harness.layer.layer(handler);
    let Ok(response) = harness.runtime.block_on(service.call(request));
    assert!(
        !response.status().is_server_error(),
        "{}",
        response.status()
    );
}

/// The handler behind the layer in [`request`]: reads every session, then changes some.
#[derive(Clone, Copy)]
struct Handler {
    action: u8,
}

impl tower_service::Service<Request<()>> for Handler {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let action = self.action;
        Box::pin(async move {
            let Ok(sessions) = Sessions::from_extensions(request.extensions()) else {
                return Ok(Response::new(String::from("no layer")));
            };
            let value = sessions.get::<FuzzSession>().await;
            let _ = sessions.get::<String>().await;
            let _ = sessions.get::<u64>().await;
            match action % 4 {
                1 => {
                    if let Ok(Some(mut v)) = value {
                        v.count = v.count.wrapping_add(1);
                        let _ = sessions.set(v);
                    }
                }
                2 => {
                    let _ = sessions.clear::<FuzzSession>();
                    let _ = sessions.set(String::from("by id"));
                }
                3 => {
                    let _ = sessions.set(u64::from(action));
                }
                _ => {}
            }
            Ok(Response::new(String::from("ok")))
        })
    }
}
