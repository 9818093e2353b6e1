//! One connection of the load generator.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::{Config, ConnectionStats, Phase, Shared, new_histogram};
use crate::cookies::Jar;
use crate::scenario::Expected;

/// One connection's job.
pub(super) struct Task {
    pub(super) id: usize,
    pub(super) config: Config,
    pub(super) shared: Arc<Shared>,
    pub(super) ready: mpsc::Sender<()>,
    pub(super) go: watch::Receiver<bool>,
}

/// A connection with its cookies.
struct Client {
    id: usize,
    sender: SendRequest<Empty<Bytes>>,
    host: HeaderValue,
    jar: Jar,
    config: Config,
}

impl Task {
    pub(super) async fn run(mut self) -> Result<ConnectionStats, String> {
        let mut client = Client::connect(self.id, &self.config).await?;
        let scenario = self.config.scenario;
        if let Some(setup) = scenario.setup_path() {
            client.request(setup, 0, Expected::Count(1), true).await?;
        }
        // The controller may have given up already; then there is nobody to tell.
        let _ = self.ready.send(()).await;
        drop(self.ready);
        if self.go.wait_for(|go| *go).await.is_err() {
            return Err(format!("connection {}: the controller went away", self.id));
        }

        let mut histogram = new_histogram()?;
        let (mut warmup, mut measured, mut n) = (0u64, 0u64, 0u64);
        let keep = scenario.keeps_cookies();
        let path = scenario.path();
        loop {
            if self.shared.phase() == Phase::Done {
                break;
            }
            n += 1;
            let expected = scenario.expected(n, self.config.stateless);
            let started = Instant::now();
            client.request(path, n, expected, keep).await?;
            let latency = started.elapsed();
            match self.shared.phase() {
                Phase::Measure => {
                    measured += 1;
                    let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                    histogram.saturating_record(ns.max(1));
                }
                Phase::Warmup => warmup += 1,
                Phase::Done => {}
            }
        }
        Ok(ConnectionStats {
            warmup,
            measured,
            histogram,
        })
    }
}

impl Client {
    async fn connect(id: usize, config: &Config) -> Result<Client, String> {
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("connection {id}: {what}: {e}");
        let stream = TcpStream::connect(config.addr)
            .await
            .map_err(|e| fail("connect", &e))?;
        stream
            .set_nodelay(true)
            .map_err(|e| fail("TCP_NODELAY", &e))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| fail("HTTP/1.1 handshake", &e))?;
        // Errors of the connection surface in `send_request`.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let host =
            HeaderValue::from_str(&config.addr.to_string()).map_err(|e| fail("Host header", &e))?;
        Ok(Client {
            id,
            sender,
            host,
            jar: Jar::default(),
            config: config.clone(),
        })
    }

    /// Sends `GET path` (with the jar's cookies if `keep`), checks the answer against
    /// `expected`, and keeps its cookies if `keep`.
    async fn request(
        &mut self,
        path: &'static str,
        n: u64,
        expected: Expected,
        keep: bool,
    ) -> Result<(), String> {
        let id = self.id;
        let fail = |what: String| format!("connection {id}, request {n} (GET {path}): {what}");
        let mut request = Request::get(path).header(HOST, self.host.clone());
        if keep && let Some(cookie) = self.jar.header() {
            request = request.header(COOKIE, cookie);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| fail(format!("building the request: {e}")))?;
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|e| fail(format!("connection closed: {e}")))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| fail(format!("sending: {e}")))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| fail(format!("reading the body: {e}")))?
                .to_bytes();
            Ok::<_, String>((parts, body))
        };
        let (parts, body) = tokio::time::timeout(self.config.request_timeout, exchange)
            .await
            .map_err(|_| fail(format!("no answer in {:?}", self.config.request_timeout)))??;
        if parts.status != StatusCode::OK || !expected.matches(&body) {
            return Err(fail(format!(
                "expected 200 `{expected}`, got {} `{}`",
                parts.status,
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )));
        }
        if keep {
            for value in parts.headers.get_all(SET_COOKIE) {
                if !self.jar.apply(value.as_bytes()) {
                    return Err(fail(format!(
                        "unparsable Set-Cookie `{}`",
                        String::from_utf8_lossy(value.as_bytes())
                    )));
                }
            }
        }
        Ok(())
    }
}
