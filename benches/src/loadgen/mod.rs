//! The load generator: N keep-alive HTTP/1.1 connections (hyper 1), closed loop (one request
//! in flight per connection), each with its own cookie jar and every answer checked.
//!
//! Phases: connect and set up every connection, warm up, then the measured window. At both
//! edges of the window the generator itself reads the CPU time of the watched server processes
//! from `/proc` (the runtime has one thread, so the edges are exact: no request completes while
//! a snapshot is taken), and only requests that complete inside the window are counted and
//! enter the latency histogram.
//!
//! A wrong answer (status, body, cookie) or a transport error ends the run with an error naming
//! the connection and the request: it is never a number.

mod connection;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

use crate::perfcount::{Counter, PerRequest};
use crate::procstat::{self, CoreTicks, Snapshot, Watch};
use crate::scenario::Scenario;

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The server.
    pub addr: SocketAddr,
    /// The scenario.
    pub scenario: Scenario,
    /// The server is the baseline (every count is 1).
    pub stateless: bool,
    /// Concurrent connections.
    pub connections: usize,
    /// Load before the measured window.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// The processes whose CPU time is the server's.
    pub watches: Vec<Watch>,
    /// The core the server side is pinned to, and the generator's, for the load report.
    pub server_core: Option<usize>,
    /// The core this generator is pinned to.
    pub client_core: Option<usize>,
    /// The longest a single request may take before the run fails.
    pub request_timeout: Duration,
    /// Also count the server's instructions and cycles with `perf stat` (see
    /// [`perfcount`](crate::perfcount)).
    pub perf: bool,
}

/// Latency percentiles, in microseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// How busy one core was during the window, in percent of the window.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CoreLoad {
    /// The core.
    pub core: usize,
    /// Busy, everything included.
    pub busy_pct: f64,
    /// Busy with something other than the benchmark's own processes on that core.
    pub other_pct: f64,
    /// Stolen by the hypervisor.
    pub steal_pct: f64,
}

/// The result of one run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Concurrent connections.
    pub connections: usize,
    /// Requests that completed in the measured window.
    pub requests: u64,
    /// Requests before it (setup and warm-up).
    pub warmup_requests: u64,
    /// The window's length in seconds.
    pub elapsed_s: f64,
    /// Requests per second in the window.
    pub throughput: f64,
    /// Latency of the window's requests.
    pub latency_us: Latency,
    /// CPU ticks of the watched processes in the window.
    pub server_ticks: u64,
    /// Ticks per second.
    pub ticks_per_second: u64,
    /// The server's CPU time per request in the window, in microseconds.
    pub server_cpu_us_per_request: f64,
    /// The user-mode part of `server_ticks` (the rest is kernel time: the loopback network
    /// stack, which every variant pays alike, and system calls).
    #[serde(default)]
    pub server_user_ticks: u64,
    /// The user-mode part of `server_cpu_us_per_request`.
    #[serde(default)]
    pub server_user_us_per_request: f64,
    /// The server's CPU time over the window's length (1.0 = one core busy all along).
    pub server_cpu_share: f64,
    /// The generator's own CPU time over the window's length.
    pub client_cpu_share: f64,
    /// Per watched process (pid → ticks in the window).
    pub server_ticks_by_pid: Vec<(i32, u64)>,
    /// The load on the server's and the generator's cores.
    pub cores: Vec<CoreLoad>,
    /// `/proc/loadavg` at the end of the window.
    pub loadavg: String,
    /// Hardware counters of the server per request, when asked for (`--perf`).
    #[serde(default)]
    pub perf: Option<PerRequest>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
enum Phase {
    Warmup = 1,
    Measure = 2,
    Done = 3,
}

/// State shared by the connections and the controller.
struct Shared {
    phase: AtomicU8,
    failure: Mutex<Option<String>>,
    failed: Notify,
}

impl Shared {
    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Relaxed) {
            1 => Phase::Warmup,
            2 => Phase::Measure,
            _ => Phase::Done,
        }
    }

    fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// Records the first failure and wakes the controller.
    fn fail(&self, message: String) {
        if let Ok(mut failure) = self.failure.lock()
            && failure.is_none()
        {
            *failure = Some(message);
        }
        self.set_phase(Phase::Done);
        self.failed.notify_one();
    }

    fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }
}

/// What one connection did.
struct ConnectionStats {
    warmup: u64,
    measured: u64,
    histogram: Histogram<u64>,
}

/// Runs the load on a current-thread runtime (call from a thread pinned to the client core).
pub fn run(config: &Config) -> Result<Report, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(run_async(config))
}

async fn run_async(config: &Config) -> Result<Report, String> {
    let shared = Arc::new(Shared {
        phase: AtomicU8::new(0),
        failure: Mutex::new(None),
        failed: Notify::new(),
    });
    let (ready_tx, mut ready_rx) = mpsc::channel::<()>(config.connections.max(1));
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::with_capacity(config.connections);
    for id in 0..config.connections {
        let task = connection::Task {
            id,
            config: config.clone(),
            shared: Arc::clone(&shared),
            ready: ready_tx.clone(),
            go: go_rx.clone(),
        };
        tasks.push(tokio::spawn(async move {
            let shared = Arc::clone(&task.shared);
            let result = task.run().await;
            if let Err(e) = &result {
                shared.fail(e.clone());
            }
            result
        }));
    }
    drop(ready_tx);

    // Every connection set up (connected, setup request answered), or a failure.
    let setup_deadline = Instant::now() + config.request_timeout * 2;
    for _ in 0..config.connections {
        tokio::select! {
            got = ready_rx.recv() => if got.is_none() { break },
            () = shared.failed.notified() => break,
            () = tokio::time::sleep_until(setup_deadline.into()) => {
                shared.fail("connections were not set up in time".into());
                break;
            }
        }
    }
    if let Some(failure) = shared.failure() {
        return Err(failure);
    }

    // Attached before the warm-up (attaching takes a while), enabled at the window's edges.
    let mut counter = if config.perf {
        Some(Counter::attach(&perf_pids(&config.watches))?)
    } else {
        None
    };

    shared.set_phase(Phase::Warmup);
    let _ = go_tx.send(true);
    if !wait(&shared, config.warmup).await {
        return Err(shared.failure().unwrap_or_default());
    }

    if let Some(counter) = counter.as_mut() {
        counter.enable()?;
    }

    let start_cpu = Snapshot::take(&config.watches).map_err(|e| format!("/proc: {e}"))?;
    let start_cores = CoreTicks::take().map_err(|e| format!("/proc/stat: {e}"))?;
    let start_own = procstat::own_ticks();
    let started = Instant::now();
    shared.set_phase(Phase::Measure);

    let completed = wait(&shared, config.duration).await;

    shared.set_phase(Phase::Done);
    let elapsed = started.elapsed();
    let end_cpu = Snapshot::take(&config.watches).map_err(|e| format!("/proc: {e}"))?;
    let end_cores = CoreTicks::take().map_err(|e| format!("/proc/stat: {e}"))?;
    let end_own = procstat::own_ticks();
    if let Some(counter) = counter.as_mut() {
        counter.disable()?;
    }
    if !completed {
        return Err(shared.failure().unwrap_or_default());
    }

    let mut histogram = new_histogram()?;
    let (mut requests, mut warmup_requests) = (0, 0);
    for task in tasks {
        let stats = match tokio::time::timeout(config.request_timeout, task).await {
            Ok(Ok(Ok(stats))) => stats,
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(e)) => return Err(format!("a connection task failed: {e}")),
            Err(_) => return Err("a connection did not finish its last request in time".into()),
        };
        requests += stats.measured;
        warmup_requests += stats.warmup;
        histogram
            .add(&stats.histogram)
            .map_err(|e| format!("histogram: {e}"))?;
    }
    if let Some(failure) = shared.failure() {
        return Err(failure);
    }
    if requests == 0 {
        return Err("no request completed in the measured window".into());
    }

    let perf = match counter {
        Some(counter) => Some(counter.finish()?.per_request(requests)),
        None => None,
    };
    let ticks_per_second = procstat::ticks_per_second();
    let server_ticks = end_cpu.total().saturating_sub(start_cpu.total());
    let server_user_ticks = end_cpu.user_total().saturating_sub(start_cpu.user_total());
    let seconds = elapsed.as_secs_f64();
    let tick_s = 1.0 / ticks_per_second as f64;
    let by_pid = end_cpu
        .ticks
        .iter()
        .map(|(pid, end)| {
            let start = start_cpu.ticks.get(pid).copied().unwrap_or(0);
            (*pid, end.saturating_sub(start))
        })
        .collect();
    let client_ticks = end_own.saturating_sub(start_own);
    let mut cores = Vec::new();
    for (core, own) in [
        (config.server_core, server_ticks),
        (config.client_core, client_ticks),
    ] {
        let Some(core) = core else { continue };
        let (busy, total, steal) = start_cores.delta(&end_cores, core);
        let pct = |t: u64| {
            if total == 0 {
                0.0
            } else {
                100.0 * t as f64 / total as f64
            }
        };
        cores.push(CoreLoad {
            core,
            busy_pct: pct(busy),
            other_pct: pct(busy.saturating_sub(own)),
            steal_pct: pct(steal),
        });
    }
    let us = |ns: u64| ns as f64 / 1000.0;
    Ok(Report {
        scenario: config.scenario.name().to_owned(),
        connections: config.connections,
        requests,
        warmup_requests,
        elapsed_s: seconds,
        throughput: requests as f64 / seconds,
        latency_us: Latency {
            p50: us(histogram.value_at_quantile(0.50)),
            p90: us(histogram.value_at_quantile(0.90)),
            p99: us(histogram.value_at_quantile(0.99)),
            p999: us(histogram.value_at_quantile(0.999)),
            max: us(histogram.max()),
            mean: histogram.mean() / 1000.0,
        },
        server_ticks,
        ticks_per_second,
        server_cpu_us_per_request: server_ticks as f64 * tick_s * 1e6 / requests as f64,
        server_user_ticks,
        server_user_us_per_request: server_user_ticks as f64 * tick_s * 1e6 / requests as f64,
        server_cpu_share: server_ticks as f64 * tick_s / seconds,
        client_cpu_share: client_ticks as f64 * tick_s / seconds,
        server_ticks_by_pid: by_pid,
        cores,
        loadavg: std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        perf,
    })
}

/// The pids `perf stat` attaches to: each watched process, and a tree's children as they are
/// now.
fn perf_pids(watches: &[Watch]) -> Vec<i32> {
    let mut pids = Vec::new();
    for watch in watches {
        match *watch {
            Watch::Process(pid) => pids.push(pid),
            Watch::Tree(pid) => {
                pids.push(pid);
                pids.extend(procstat::children(pid).into_iter().map(|(child, _)| child));
            }
        }
    }
    pids
}

/// Sleeps `duration`; `false` if a connection failed meanwhile.
async fn wait(shared: &Shared, duration: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => shared.failure().is_none(),
        () = shared.failed.notified() => false,
    }
}

/// Latencies in nanoseconds, 1 ns to 100 s, 3 significant digits.
fn new_histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).map_err(|e| format!("histogram: {e}"))
}
