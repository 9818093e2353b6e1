//! Two operating-system processes on one Redis (single node and Cluster): process A, a child
//! process (this test binary started again), serves the application with its own storage,
//! connections and client-side cache; process B, this one, serves it too, with the session
//! cached. A logs the user out or regenerates the session; B stops serving the old session
//! within the measured and asserted bound (see `redis_cache_http` for the requests).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::redis_cache::cached;
use super::redis_cache_http::{a_ends_sessions_b_has_cached, app};
use super::unique;
use crate::common::serve;
use crate::support::servers;

/// The Redis URL process A connects to.
const ENV_URL: &str = "TYPED_SESSIONS_TEST_INSTANCE_REDIS_URL";
/// The key prefix process A uses.
const ENV_PREFIX: &str = "TYPED_SESSIONS_TEST_INSTANCE_PREFIX";
/// What process A prints once it serves, followed by its address.
const LISTENING: &str = "instance listening on ";

/// Process A: serves the application on a loopback port, its storage at `$ENV_URL` under
/// `$ENV_PREFIX` with the cache on, until its standard input closes. Started by the tests
/// below, never by a plain test run.
#[test]
#[ignore = "process A of the two-process tests, which start it"]
fn instance_process() {
    let url = std::env::var(ENV_URL).expect("started by a two-process test");
    let prefix = std::env::var(ENV_PREFIX).expect("started by a two-process test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let storage = cached(&url, &prefix).await;
        let addr = serve(app(Arc::new(storage))).await;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{LISTENING}{addr}").unwrap();
        stdout.flush().unwrap();
        // Until the parent closes standard input (or the process is killed).
        tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink()))
            .await
            .unwrap()
            .unwrap();
    });
}

/// Process A, ended when dropped.
struct Instance {
    child: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
}

impl Instance {
    fn start(url: &str, prefix: &str) -> Instance {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "distributed::redis_cache_process::instance_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_URL, url)
            .env(ENV_PREFIX, prefix)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                // After libtest's `test … ` on the same line.
                if let Some((_, addr)) = line.split_once(LISTENING) {
                    let _ = sender.send(addr.trim().parse::<SocketAddr>().unwrap());
                }
            }
        });
        let addr = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("process A serves within a minute");
        Instance { child, stdin, addr }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn across_processes(url: &str, what: &str) {
    let prefix = format!("test:{}:", unique());
    let a = {
        let (url, prefix) = (url.to_owned(), prefix.clone());
        tokio::task::spawn_blocking(move || Instance::start(&url, &prefix))
            .await
            .unwrap()
    };
    assert_ne!(a.child.id(), std::process::id());
    a_ends_sessions_b_has_cached(a.addr, url, &prefix, what).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_in_another_process_ends_the_session_cached_here() {
    let Some(server) = servers::redis("two processes") else {
        return;
    };
    across_processes(&server.url(), "two processes, single node").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_in_another_process_ends_the_session_cached_here_in_a_cluster() {
    let Some(cluster) = servers::redis_cluster("two processes, cluster") else {
        return;
    };
    across_processes(&cluster.url(), "two processes, cluster").await;
}
