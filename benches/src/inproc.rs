//! In-process requests (no network, no HTTP parser): the driver behind the allocation counter
//! and the callgrind recipe.
//!
//! The same client logic as the load generator (one cookie jar per simulated client, every body
//! checked), calling the variant's service directly: `oneshot` on the service inside the variant's [`AxumApp`](crate::variants::AxumApp) for axum variants,
//! `Service::call` on the initialised app for actix-web. A [`Probe`] is started just before the
//! service is called and stopped when its response future resolves, so a probe sees the
//! server's work only (building the request, reading the body and parsing `Set-Cookie` are
//! outside).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::cookies::Jar;
use crate::scenario::Scenario;
use crate::variants::{Framework, ServerEnv, Variant};

/// Something that watches the server's part of each request.
pub trait Probe {
    /// The service is about to be called.
    fn start(&self);
    /// The service's response is complete.
    fn stop(&self);
}

/// A probe that does nothing.
#[derive(Debug, Default)]
pub struct NoProbe;

impl Probe for NoProbe {
    fn start(&self) {}
    fn stop(&self) {}
}

/// Runs the server's side of one request: `future` is polled only inside [`server_poll`], with
/// `probe` started before and stopped after. Pass a lazy future (an `async` block around the
/// service call) so that work a service does when called is inside too.
pub async fn server_call<F: Future>(future: F, probe: &dyn Probe) -> F::Output {
    let mut future = std::pin::pin!(future);
    probe.start();
    let output = std::future::poll_fn(|cx| server_poll(future.as_mut(), cx)).await;
    probe.stop();
    output
}

/// Polls the server's future. Never inlined: `bench --callgrind` counts instructions only
/// inside this function (`--toggle-collect=typed_sessions_bench::inproc::server_poll*`), so
/// the driver's own work (building requests, reading bodies, parsing `Set-Cookie`) is left out.
#[inline(never)]
pub fn server_poll<F: Future>(future: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    future.poll(cx)
}

/// Where tokio polls a spawned task: `bench --callgrind` collects inside it as well as inside
/// [`server_poll`], so work a server does in its own tasks (a Redis client's connection task:
/// writing commands, reading and parsing replies, push messages) counts. The driver spawns no
/// task, and the two never nest (tasks run between polls of the driver's future).
pub const TASK_POLL: &str = "tokio::runtime::task::raw::poll*";

/// What a service answered.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Every `Set-Cookie` value.
    pub set_cookies: Vec<Bytes>,
    /// The body.
    pub body: Bytes,
}

/// A service called in-process.
#[allow(async_fn_in_trait)] // used by this crate's own drivers only; no `Send` bound needed
pub trait Target {
    /// Sends `GET path` with `cookie`, the probe around the service call.
    async fn call(
        &mut self,
        path: &'static str,
        cookie: Option<&str>,
        probe: &dyn Probe,
    ) -> Result<Reply, String>;
}

/// An axum service called in-process.
pub struct AxumTarget<S>(pub S);

impl<S> Target for AxumTarget<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone,
{
    async fn call(
        &mut self,
        path: &'static str,
        cookie: Option<&str>,
        probe: &dyn Probe,
    ) -> Result<Reply, String> {
        let mut request = http::Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(http::header::COOKIE, cookie);
        }
        let request = request
            .body(Body::empty())
            .map_err(|e| format!("building the request: {e}"))?;
        let service = self.0.clone();
        let response = server_call(async move { service.oneshot(request).await }, probe).await;
        let response = response.map_err(|e| format!("service error: {e}"))?;
        let status = response.status().as_u16();
        let set_cookies = response
            .headers()
            .get_all(http::header::SET_COOKIE)
            .iter()
            .map(|v| Bytes::copy_from_slice(v.as_bytes()))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_bytes();
        Ok(Reply {
            status,
            set_cookies,
            body,
        })
    }
}

/// A fixed number of in-process requests.
#[derive(Clone, Debug)]
pub struct Drive {
    /// What each client requests.
    pub scenario: Scenario,
    /// The baseline: every count is 1.
    pub stateless: bool,
    /// Simulated clients, each with its own cookie jar, served round-robin.
    pub clients: usize,
    /// Requests before the probed ones (not probed).
    pub warmup: u64,
    /// Probed requests.
    pub requests: u64,
}

impl Drive {
    /// Sends the setup requests, `warmup` unprobed requests, then `requests` probed ones;
    /// checks every answer. Returns the number of probed requests.
    pub async fn run<T: Target>(&self, target: &mut T, probe: &dyn Probe) -> Result<u64, String> {
        let clients = self.clients.max(1);
        let mut jars = vec![Jar::default(); clients];
        let mut sent = vec![0u64; clients];
        let quiet = NoProbe;
        if let Some(setup) = self.scenario.setup_path() {
            for (i, jar) in jars.iter_mut().enumerate() {
                let reply = target.call(setup, jar.header(), &quiet).await?;
                check(&reply, crate::scenario::Expected::Count(1), i, 0)?;
                absorb(jar, &reply, true)?;
            }
        }
        let path = self.scenario.path();
        let keep = self.scenario.keeps_cookies();
        for n in 0..self.warmup + self.requests {
            let i = usize::try_from(n % clients as u64).unwrap_or(0);
            let (Some(jar), Some(count)) = (jars.get_mut(i), sent.get_mut(i)) else {
                return Err("client index out of range".into());
            };
            *count += 1;
            let cookie = if keep { jar.header() } else { None };
            let p: &dyn Probe = if n < self.warmup { &quiet } else { probe };
            let reply = target.call(path, cookie, p).await?;
            check(
                &reply,
                self.scenario.expected(*count, self.stateless),
                i,
                *count,
            )?;
            absorb(jar, &reply, keep)?;
        }
        Ok(self.requests)
    }
}

fn check(
    reply: &Reply,
    expected: crate::scenario::Expected,
    client: usize,
    n: u64,
) -> Result<(), String> {
    if reply.status != 200 || !expected.matches(&reply.body) {
        return Err(format!(
            "client {client}, request {n}: expected 200 `{expected}`, got {} `{}`",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    Ok(())
}

fn absorb(jar: &mut Jar, reply: &Reply, keep: bool) -> Result<(), String> {
    if !keep {
        return Ok(());
    }
    for set_cookie in &reply.set_cookies {
        if !jar.apply(set_cookie) {
            return Err(format!(
                "unparsable Set-Cookie `{}`",
                String::from_utf8_lossy(set_cookie)
            ));
        }
    }
    Ok(())
}

/// Runs `drive` in-process against `variant` (which must not need a storage service).
pub fn run(variant: Variant, drive: &Drive, probe: &dyn Probe) -> Result<u64, String> {
    run_with(variant, drive, probe, None)
}

/// Runs `drive` in-process against `variant`, which may need the Redis server at `redis`
/// (`redis://127.0.0.1:PORT`). Work the variant does in tasks of its own (a Redis client's
/// connection task) runs outside [`server_poll`]: `bench --callgrind` counts it by also
/// collecting inside tokio's task polls (see [`TASK_POLL`]).
pub fn run_with(
    variant: Variant,
    drive: &Drive,
    probe: &dyn Probe,
    redis: Option<&str>,
) -> Result<u64, String> {
    let served = variant.in_process() || (variant.in_process_with_redis() && redis.is_some());
    if !served {
        return Err(format!(
            "{variant} needs a storage service; it is not run in-process (Redis variants: pass --redis URL)"
        ));
    }
    match variant.framework() {
        Framework::Actix => crate::variants::actix::in_process(drive, probe),
        Framework::Axum => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("tokio runtime: {e}"))?;
            runtime.block_on(async {
                let env = ServerEnv {
                    data_dir: Some(std::env::temp_dir().join(format!(
                        "typed-sessions-bench-inproc-{}",
                        std::process::id()
                    ))),
                    redis_url: redis.map(str::to_owned),
                    ..ServerEnv::default()
                };
                // Every router is made ready with `with_state` (each handler made a route
                // once, as `axum::serve` does for each connection) by `AxumApp`.
                let app = crate::variants::axum_app(variant, &env)
                    .await
                    .map_err(|e| format!("{variant}: {e}"))?;
                crate::with_service!(app, service => drive.run(&mut AxumTarget(service), probe).await)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant that can run in-process answers every scenario correctly (the driver
    /// checks each body and cookie).
    #[test]
    fn every_in_process_variant_answers_correctly() {
        for variant in Variant::ALL {
            if !variant.in_process() {
                continue;
            }
            for scenario in Scenario::ALL {
                if variant.unsupported(scenario).is_some() {
                    continue;
                }
                let drive = Drive {
                    scenario,
                    stateless: variant.stateless(),
                    clients: 3,
                    warmup: 5,
                    requests: 10,
                };
                let done = run(variant, &drive, &NoProbe);
                assert_eq!(done, Ok(10), "{variant} {scenario}");
            }
        }
    }
}
