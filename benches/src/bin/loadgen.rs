//! The load generator: `loadgen --addr 127.0.0.1:PORT --scenario sticky [--stateless]
//! [--connections 32] [--warmup 2] [--duration 10] [--watch PID | --watch tree:PID]...
//! [--pin CORE] [--server-core CORE] [--timeout 10] [--perf]`.
//!
//! Prints a summary on stderr and the report as one JSON line on stdout. Exits 1 on any wrong
//! answer or transport error.

use std::time::Duration;

use typed_sessions_bench::affinity;
use typed_sessions_bench::cli::Args;
use typed_sessions_bench::loadgen::{self, Config};
use typed_sessions_bench::procstat::Watch;

fn main() {
    match run() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(&["stateless", "perf"])?;
    let client_core = args.opt::<usize>("pin")?;
    if let Some(core) = client_core {
        affinity::pin_current(core).map_err(|e| format!("pinning to core {core}: {e}"))?;
    }
    let watches = args
        .list("watch")
        .iter()
        .map(|w| Watch::parse(w).ok_or_else(|| format!("bad --watch `{w}`")))
        .collect::<Result<Vec<_>, _>>()?;
    let config = Config {
        addr: args
            .value("addr")
            .ok_or("--addr is required")?
            .parse()
            .map_err(|e| format!("--addr: {e}"))?,
        scenario: args.get("scenario", typed_sessions_bench::scenario::Scenario::Sticky)?,
        stateless: args.flag("stateless"),
        connections: args.get("connections", 32)?,
        warmup: Duration::from_secs_f64(args.get("warmup", 2.0)?),
        duration: Duration::from_secs_f64(args.get("duration", 10.0)?),
        watches,
        server_core: args.opt("server-core")?,
        client_core,
        request_timeout: Duration::from_secs_f64(args.get("timeout", 10.0)?),
        perf: args.flag("perf"),
    };
    let report = loadgen::run(&config)?;
    eprintln!(
        "{} requests in {:.2} s: {:.0} req/s, p50 {:.1} µs, p99 {:.1} µs, server CPU {:.2} µs/req",
        report.requests,
        report.elapsed_s,
        report.throughput,
        report.latency_us.p50,
        report.latency_us.p99,
        report.server_cpu_us_per_request
    );
    let json = serde_json::to_string(&report).map_err(|e| format!("JSON: {e}"))?;
    println!("{json}");
    Ok(())
}
