//! A fixed number of in-process requests for one variant, to run under callgrind:
//! `callgrind-driver --variant NAME --scenario sticky --requests N [--warmup 1000]
//! [--clients 32] [--redis redis://127.0.0.1:PORT]` (the Redis variants need `--redis`).
//!
//! `bench --callgrind` runs it for N and 2N requests and reports the difference divided by N
//! (start-up and warm-up cancel out), counting only inside the server's polls (the driver's
//! client work is left out). By hand:
//!
//! ```text
//! valgrind --tool=callgrind --dump-instr=no --callgrind-out-file=cg.out \
//!     --toggle-collect='typed_sessions_bench::inproc::server_poll*' \
//!     --toggle-collect='tokio::runtime::task::raw::poll*' \
//!     target/release/callgrind-driver --variant typed-id-memory --scenario sticky --requests 4000
//! callgrind_annotate --inclusive=yes cg.out | head -60
//! ```

use typed_sessions_bench::cli::Args;
use typed_sessions_bench::inproc::{self, Drive, NoProbe};
use typed_sessions_bench::scenario::Scenario;
use typed_sessions_bench::variants::Variant;

fn main() {
    if let Err(e) = run() {
        eprintln!("callgrind-driver: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(&[])?;
    let variant: Variant = args
        .value("variant")
        .ok_or("--variant is required")?
        .parse()?;
    let scenario: Scenario = args.get("scenario", Scenario::Sticky)?;
    if let Some(reason) = variant.unsupported(scenario) {
        return Err(format!("{variant} {scenario}: {reason}"));
    }
    let drive = Drive {
        scenario,
        stateless: variant.stateless(),
        clients: args.get("clients", 32)?,
        warmup: args.get("warmup", 1_000)?,
        requests: args.get("requests", 2_000)?,
    };
    let n = inproc::run_with(variant, &drive, &NoProbe, args.value("redis"))?;
    eprintln!("{variant} {scenario}: {n} requests");
    Ok(())
}
