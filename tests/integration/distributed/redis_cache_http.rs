//! Two HTTP servers on one Redis, each with its own storage (its own connections and
//! client-side cache), as two instances of an application behind a load balancer: a user
//! logs in on B, B caches the session; the user logs out (or gets a new id) on A; B stops
//! serving the old session within the measured bound.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use typed_sessions::storage::{RedisStorage, SessionId, SessionStorage};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use super::redis_cache::cached;
use super::redis_cache_faults::{STALENESS_BOUND, summary};
use super::unique;
use crate::common::{TestUserSession, cookie_client, serve, session_key, user_routes};
use crate::support::servers;

/// The usual routes, and `/regenerate` (a new id for the session, the old one ended).
pub fn app(storage: Arc<dyn SessionStorage>) -> Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", storage, |c| c.secure(false))
        .build()
        .unwrap();
    user_routes()
        .route(
            "/regenerate",
            get(|s: Sessions| async move {
                s.regenerate::<TestUserSession>().await?;
                Ok::<_, SessionError>("regenerated")
            }),
        )
        .layer(layer)
}

/// `GET path` on `addr` with the shared cookie jar; the body.
async fn call(client: &reqwest::Client, addr: SocketAddr, path: &str) -> String {
    let response = client
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// `GET /get` on `addr` with `cookie` (and no cookie jar); the body.
async fn get_with(addr: SocketAddr, cookie: &str) -> String {
    reqwest::Client::new()
        .get(format!("http://{addr}/get"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Polls B with `old_cookie` (the session A ended) until B answers `none`; how long that took
/// after A's answer, and how many answers before it still showed the session.
async fn b_forgets(b: SocketAddr, old_cookie: &str, since: Instant) -> (Duration, u32) {
    let mut stale = 0;
    loop {
        let body = get_with(b, old_cookie).await;
        if body == "none" {
            return (since.elapsed(), stale);
        }
        assert_eq!(body, "alice");
        stale += 1;
        assert!(
            since.elapsed() < STALENESS_BOUND,
            "B still serves the session {:?} after A ended it",
            since.elapsed()
        );
    }
}

async fn logout_and_regenerate_on_another_instance(url: &str, what: &str) {
    let prefix = format!("test:{}:", unique());
    let storage_a = cached(url, &prefix).await;
    let a = serve(app(Arc::new(storage_a))).await;
    a_ends_sessions_b_has_cached(a, url, &prefix, what).await;
}

/// Instance A (at `a`, already serving sessions of `prefix` at `url`) logs users out and
/// regenerates their sessions, 20 times each; instance B (started here, in this process, its
/// cache on) has each session cached and stops serving it within [`STALENESS_BOUND`] of A's
/// answer. Prints the medians and maxima.
pub async fn a_ends_sessions_b_has_cached(a: SocketAddr, url: &str, prefix: &str, what: &str) {
    let storage_b = Arc::new(cached(url, prefix).await);
    let b = serve(app(storage_b.clone())).await;
    let (mut logouts, mut regenerations, mut stale) = (Vec::new(), Vec::new(), 0);
    for _ in 0..20 {
        for regenerate in [false, true] {
            let client = cookie_client();
            assert_eq!(call(&client, b, "/set/alice").await, "set");
            let id = SessionId::parse(&call(&client, b, "/id").await).unwrap();
            assert_eq!(call(&client, b, "/get").await, "alice");
            assert!(
                storage_b.is_cached(session_key(&id), std::time::SystemTime::now()),
                "B serves the session from its cache"
            );
            let old_cookie = format!("s={}", id.as_str());
            if regenerate {
                assert_eq!(call(&client, a, "/regenerate").await, "regenerated");
                let (took, answers) = b_forgets(b, &old_cookie, Instant::now()).await;
                regenerations.push(took);
                stale += answers;
                // The new id works on B (read from Redis).
                assert_eq!(call(&client, b, "/get").await, "alice");
            } else {
                assert_eq!(call(&client, a, "/clear").await, "cleared");
                let (took, answers) = b_forgets(b, &old_cookie, Instant::now()).await;
                logouts.push(took);
                stale += answers;
                assert_eq!(call(&client, b, "/get").await, "none");
            }
        }
    }
    let (logout_median, logout_max) = summary(&mut logouts);
    let (regen_median, regen_max) = summary(&mut regenerations);
    eprintln!(
        "over HTTP ({what}, 20 each): B answered `none` within {logout_max:?} (median \
         {logout_median:?}, one request included) after A's logout answered, {regen_max:?} \
         (median {regen_median:?}) after A's regeneration; {stale} of B's answers in between \
         still showed the session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_ends_the_session_cached_by_another() {
    let Some(server) = servers::redis("two instances") else {
        return;
    };
    logout_and_regenerate_on_another_instance(&server.url(), "single node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_ends_the_session_cached_by_another_in_a_cluster() {
    let Some(cluster) = servers::redis_cluster("two instances, cluster") else {
        return;
    };
    logout_and_regenerate_on_another_instance(&cluster.url(), "cluster").await;
}

/// Without the cache, nothing to see: B reads Redis on every request (a check that the test
/// above measures the cache, not a delay of the HTTP stack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_cache_the_other_instance_never_serves_an_ended_session() {
    let Some(server) = servers::redis("two instances, uncached") else {
        return;
    };
    let (prefix, url) = (format!("test:{}:", unique()), server.url());
    let plain = || RedisStorage::builder().prefix(prefix.clone()).connect(&url);
    let a = serve(app(Arc::new(plain().await.unwrap()))).await;
    let b = serve(app(Arc::new(plain().await.unwrap()))).await;
    let client = cookie_client();
    assert_eq!(call(&client, b, "/set/alice").await, "set");
    let id = call(&client, b, "/id").await;
    assert_eq!(call(&client, a, "/clear").await, "cleared");
    assert_eq!(get_with(b, &format!("s={id}")).await, "none");
}
