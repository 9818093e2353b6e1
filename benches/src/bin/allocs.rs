//! Allocations per request, in-process: `allocs [--variants a,b] [--scenarios s,t]
//! [--requests 20000] [--warmup 1000] [--clients 32] [--pin CORE] [--json] [--sizes]
//! [--trace-size BYTES]`.
//!
//! A counting global allocator counts allocations (and reallocations) and their bytes only
//! while a service call runs (see [`inproc`](typed_sessions_bench::inproc)): the server's work,
//! not the driver's. Prints a table on stderr, and with `--json` the results on stdout. With
//! `--sizes` it also prints, per variant and scenario, how many allocations of each size a
//! request makes (sizes over 1,032 bytes miss glibc's per-thread cache and take its slower
//! path). With `--trace-size BYTES` it prints where the first eight allocations of exactly
//! that size were made (build with `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` for
//! readable backtraces).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use typed_sessions_bench::cli::Args;
use typed_sessions_bench::inproc::{self, Drive, Probe};
use typed_sessions_bench::runner::report::{self, AllocResult, Status};
use typed_sessions_bench::scenario::Scenario;
use typed_sessions_bench::variants::Variant;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
/// Allocations by size in bytes; the last bucket holds every size from its index up.
static SIZES: [AtomicU64; SIZE_BUCKETS] = [const { AtomicU64::new(0) }; SIZE_BUCKETS];
const SIZE_BUCKETS: usize = 8193;
/// The size `--trace-size` asks about (0: none), and how many backtraces were printed.
static TRACE_SIZE: AtomicU64 = AtomicU64::new(0);
static TRACED: AtomicU64 = AtomicU64::new(0);
/// How many backtraces `--trace-size` prints.
const TRACES: u64 = 8;

thread_local! {
    /// Set while this thread captures a backtrace, whose own allocations are not traced.
    static TRACING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The system allocator, counting while [`COUNTING`] is set.
struct Counting;

impl Counting {
    fn count(size: usize) {
        // What a backtrace for `--trace-size` allocates is the tool's, not the server's.
        if COUNTING.load(Ordering::Relaxed) && !TRACING.with(std::cell::Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(size as u64, Ordering::Relaxed);
            SIZES[size.min(SIZE_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
            if TRACE_SIZE.load(Ordering::Relaxed) == size as u64 {
                Counting::trace(size);
            }
        }
    }

    /// Prints where this allocation of `size` bytes is made, for the first [`TRACES`].
    fn trace(size: usize) {
        if TRACING.with(|tracing| tracing.replace(true)) {
            return;
        }
        if TRACED.fetch_add(1, Ordering::Relaxed) < TRACES {
            let backtrace = std::backtrace::Backtrace::force_capture();
            // Never panic inside the allocator: a failed write is ignored.
            let _ = writeln!(
                std::io::stderr(),
                "=== an allocation of {size} bytes\n{backtrace}"
            );
        }
        TRACING.with(|tracing| tracing.set(false));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting has no effect
// on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::count(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Counting::count(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Counting::count(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct CountingProbe;

impl Probe for CountingProbe {
    fn start(&self) {
        COUNTING.store(true, Ordering::Relaxed);
    }
    fn stop(&self) {
        COUNTING.store(false, Ordering::Relaxed);
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("allocs: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(&["json", "sizes"])?;
    TRACE_SIZE.store(args.get("trace-size", 0)?, Ordering::Relaxed);
    if let Some(core) = args.opt::<usize>("pin")? {
        typed_sessions_bench::affinity::pin_current(core).map_err(|e| e.to_string())?;
    }
    let variants: Vec<Variant> = match args.list("variants") {
        v if v.is_empty() => Variant::ALL
            .into_iter()
            .filter(|v| v.in_process())
            .collect(),
        v => v.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
    };
    let scenarios: Vec<Scenario> = match args.list("scenarios") {
        s if s.is_empty() => Scenario::ALL.to_vec(),
        s => s.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
    };
    let requests: u64 = args.get("requests", 20_000)?;
    let warmup: u64 = args.get("warmup", 1_000)?;
    let clients: usize = args.get("clients", 32)?;
    let mut results = Vec::new();
    let mut failed = false;
    for variant in &variants {
        for scenario in &scenarios {
            let mut result = AllocResult {
                variant: variant.name().into(),
                scenario: scenario.name().into(),
                requests,
                ..AllocResult::default()
            };
            if let Some(reason) = variant.unsupported(*scenario) {
                result.status = Status::Skipped;
                result.reason = Some(reason.into());
                results.push(result);
                continue;
            }
            let drive = Drive {
                scenario: *scenario,
                stateless: variant.stateless(),
                clients,
                warmup,
                requests,
            };
            ALLOCATIONS.store(0, Ordering::Relaxed);
            BYTES.store(0, Ordering::Relaxed);
            SIZES
                .iter()
                .for_each(|bucket| bucket.store(0, Ordering::Relaxed));
            match inproc::run_with(*variant, &drive, &CountingProbe, args.value("redis")) {
                Ok(n) => {
                    let n = n.max(1) as f64;
                    result.allocations_per_request = ALLOCATIONS.load(Ordering::Relaxed) as f64 / n;
                    result.bytes_per_request = BYTES.load(Ordering::Relaxed) as f64 / n;
                    if args.flag("sizes") {
                        print_sizes(variant, scenario, n);
                    }
                }
                Err(e) => {
                    failed = true;
                    result.status = Status::Failed;
                    result.reason = Some(e);
                }
            }
            results.push(result);
        }
    }
    eprint!("{}", report::alloc_table(&results).text());
    if args.flag("json") {
        println!(
            "{}",
            serde_json::to_string(&results).map_err(|e| e.to_string())?
        );
    }
    if failed {
        return Err("some variants failed".into());
    }
    Ok(())
}

/// The allocations per request by size, for sizes a request allocates at least once in a
/// hundred requests.
fn print_sizes(variant: &Variant, scenario: &Scenario, requests: f64) {
    eprintln!(
        "{} {}: allocations per request by size",
        variant.name(),
        scenario.name()
    );
    for (size, bucket) in SIZES.iter().enumerate() {
        let per_request = bucket.load(Ordering::Relaxed) as f64 / requests;
        if per_request >= 0.01 {
            let bound = if size == SIZE_BUCKETS - 1 { "+" } else { "" };
            eprintln!("  {size:>6}{bound:<1} bytes  {per_request:>6.2}");
        }
    }
}
