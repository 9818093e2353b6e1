//! The `bench` command: builds the binaries, starts the storage services, runs every variant
//! and scenario in turn under the same conditions, and reports medians.
//!
//! Each measured run: a fresh `bench-server` pinned to the server core (with its storage
//! service, emptied first, pinned there too), the load generator pinned to the client core,
//! warm-up, then the measured window, whose server CPU time the generator reads from `/proc`.
//! Runs go in rounds (every variant and scenario once, then again), so a burst of load from
//! other processes on this shared machine spreads over the variants instead of hitting one.

pub mod inproc;
pub mod launch;
pub mod report;
pub mod services;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::Args;
use crate::procstat::Watch;
use crate::scenario::Scenario;
use crate::variants::{Backend, Family, ServerEnv, Variant};
use launch::{Binaries, LoadSettings, Server};
use report::{LoadResult, Results, Status, VariantInfo};

const USAGE: &str = "\
bench: the side-by-side HTTP load benchmark of typed-sessions and its peers.

USAGE:
    cargo run --release -p typed-sessions-bench --bin bench -- [OPTIONS]

OPTIONS:
    --list                    list the variants and scenarios
    --variants a,b,...        variants to run (default: all)
    --scenarios a,b,...       scenarios: sticky, fresh, untouched, large (default: all)
    --repeat N                load runs per variant and scenario; medians over them (default 3)
    --warmup S                warm-up seconds per run (default 2)
    --duration S              measured seconds per run (default 10)
    --connections N           connections (default 32)
    --quick                   --repeat 1 --warmup 1 --duration 3, fewer in-process requests
    --no-load                 skip the HTTP load runs
    --no-allocs               skip the allocation counts
    --callgrind               also count instructions per request under callgrind
    --perf                    also count the server's instructions and cycles per request
                              over HTTP with `perf stat` (user mode and kernel)
    --alloc-requests N        probed in-process requests per allocation count (default 20000)
    --callgrind-requests N    N of the callgrind difference 2N - N (default 2000)
    --max-steal P             a run during which the hypervisor stole more than P percent of
                              either core is measured again (default 5)
    --steal-retries N         at most N more attempts per run; the least-stolen one is kept
                              (default 2)
    --server-core C           core of the server and its storage service (default 0)
    --client-core C           core of the load generator (default 1)
    --json PATH               where to write the results (default TARGET/bench-results/http-load.json)
    --markdown PATH           where to write the Markdown (default TARGET/bench-results/http-load.md)
    --no-build                do not run `cargo build` first
";

/// The options of one run.
#[derive(Clone, Debug)]
struct Options {
    variants: Vec<Variant>,
    scenarios: Vec<Scenario>,
    repeat: usize,
    load: LoadSettings,
    /// A run with more steal than this (percent, on either core) is measured again.
    max_steal: f64,
    /// How many more attempts a stolen run gets.
    steal_retries: usize,
    load_enabled: bool,
    allocs: bool,
    callgrind: bool,
    inproc: inproc::InprocSettings,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
    build: bool,
}

/// Runs the command; the process exit code.
pub fn main() -> i32 {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: {e}");
            2
        }
    }
}

fn run() -> Result<i32, String> {
    let args = Args::parse(&[
        "quick",
        "list",
        "no-load",
        "no-allocs",
        "callgrind",
        "perf",
        "no-build",
        "help",
    ])?;
    if args.flag("help") {
        print!("{USAGE}");
        return Ok(0);
    }
    if args.flag("list") {
        list();
        return Ok(0);
    }
    let options = options(&args)?;
    let binaries = binaries()?;
    if options.build {
        build(&binaries)?;
    }
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut results = Results {
        started_unix: started,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: machine(),
        settings: report::Settings {
            connections: options.load.connections,
            warmup_s: options.load.warmup,
            duration_s: options.load.duration,
            repeat: options.repeat,
            max_steal_pct: options.max_steal,
            steal_retries: options.steal_retries,
            server_core: options.load.server_core,
            client_core: options.load.client_core,
            profile: profile_name(&binaries),
            alloc_requests: options.inproc.alloc_requests,
            callgrind_requests: options.inproc.callgrind_requests,
        },
        variants: Variant::ALL
            .iter()
            .map(|v| VariantInfo {
                name: v.name().into(),
                family: match v.family() {
                    Family::Baseline => "baseline",
                    Family::Ours => "ours",
                    Family::Peer => "peer",
                }
                .into(),
                configuration: v.configuration().into(),
            })
            .collect(),
        ..Results::default()
    };
    eprintln!(
        "machine: {} cores, {}, kernel {}, load average {}",
        results.machine.nproc,
        results.machine.cpu_model,
        results.machine.kernel,
        results.machine.loadavg_start
    );
    let target_dir = binaries
        .dir
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let work = std::env::temp_dir().join(format!("typed-sessions-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let _cleanup = RemoveOnDrop(work.clone());

    if options.load_enabled {
        results.load = load(&options, &binaries, &work);
        report::add_ratios(&mut results.load, Variant::Baseline.name());
        eprintln!("\n{}", report::load_table(&results.load).text());
        if options.load.perf {
            eprintln!("\n{}", report::perf_table(&results.load).text());
        }
    }
    let inproc_pairs = pairs(&options, Variant::in_process);
    if options.allocs {
        eprintln!("\nallocations per request (in-process):");
        results.allocations = inproc::allocations(&binaries, &inproc_pairs, &options.inproc);
        eprintln!("\n{}", report::alloc_table(&results.allocations).text());
    }
    if options.callgrind {
        eprintln!("\ninstructions per request (callgrind, in-process):");
        let out = target_dir.join("bench-results").join("callgrind");
        // The Redis variants too, against a Redis server of their own.
        let with_redis = pairs(&options, Variant::in_process_with_redis);
        let mut services = Services::default();
        let mut settings = options.inproc.clone();
        if !with_redis.is_empty() {
            match services.prepare(Some(Backend::Redis), options.inproc.core, &work) {
                Ok((env, _)) => settings.redis_url = env.redis_url,
                Err(e) => eprintln!("  callgrind: Redis variants skipped: {e}"),
            }
        }
        let pairs: Vec<(Variant, Scenario)> = inproc_pairs
            .iter()
            .copied()
            .chain(
                with_redis
                    .into_iter()
                    .filter(|_| settings.redis_url.is_some()),
            )
            .collect();
        results.instructions = inproc::instructions(&binaries, &pairs, &settings, &out);
        eprintln!("\n{}", report::instr_table(&results.instructions).text());
    }
    results.machine.loadavg_end = loadavg();

    let out_dir = target_dir.join("bench-results");
    let json = options
        .json
        .clone()
        .unwrap_or_else(|| out_dir.join("http-load.json"));
    let markdown = options
        .markdown
        .clone()
        .unwrap_or_else(|| out_dir.join("http-load.md"));
    write(
        &json,
        &serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?,
    )?;
    write(&markdown, &render_markdown(&results))?;
    eprintln!(
        "\nresults: {}\nmarkdown: {}",
        json.display(),
        markdown.display()
    );

    let failed = results.load.iter().any(|r| r.status == Status::Failed)
        || results
            .allocations
            .iter()
            .any(|r| r.status == Status::Failed)
        || results
            .instructions
            .iter()
            .any(|r| r.status == Status::Failed);
    Ok(i32::from(failed))
}

/// The variants that `which` selects, each with every scenario it supports.
fn pairs(options: &Options, which: fn(Variant) -> bool) -> Vec<(Variant, Scenario)> {
    options
        .variants
        .iter()
        .filter(|v| which(**v))
        .flat_map(|v| {
            options
                .scenarios
                .iter()
                .filter(|s| v.unsupported(**s).is_none())
                .map(move |s| (*v, *s))
        })
        .collect()
}

fn options(args: &Args) -> Result<Options, String> {
    let quick = args.flag("quick");
    let variants = match args.list("variants") {
        names if names.is_empty() => Variant::ALL.to_vec(),
        names => names.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
    };
    let scenarios = match args.list("scenarios") {
        names if names.is_empty() => Scenario::ALL.to_vec(),
        names => names.iter().map(|n| n.parse()).collect::<Result<_, _>>()?,
    };
    let (repeat, warmup, duration, allocs, callgrind) = if quick {
        (1, 1.0, 3.0, 5_000, 500)
    } else {
        (3, 2.0, 10.0, 20_000, 2_000)
    };
    let server_core = args.get("server-core", 0usize)?;
    let client_core = args.get("client-core", 1usize)?;
    let cores = crate::affinity::available_cores();
    if server_core >= cores || client_core >= cores || server_core == client_core {
        return Err(format!(
            "the server core ({server_core}) and client core ({client_core}) must be two different cores of the {cores} available"
        ));
    }
    Ok(Options {
        variants,
        scenarios,
        repeat: args.get("repeat", repeat)?.max(1),
        max_steal: args.get("max-steal", 5.0)?,
        steal_retries: args.get("steal-retries", 2)?,
        load: LoadSettings {
            connections: args.get("connections", 32)?,
            warmup: args.get("warmup", warmup)?,
            duration: args.get("duration", duration)?,
            server_core,
            client_core,
            perf: args.flag("perf"),
        },
        load_enabled: !args.flag("no-load"),
        allocs: !args.flag("no-allocs"),
        callgrind: args.flag("callgrind"),
        inproc: inproc::InprocSettings {
            clients: args.get("connections", 32)?,
            warmup: 1_000,
            alloc_requests: args.get("alloc-requests", allocs)?,
            callgrind_requests: args.get("callgrind-requests", callgrind)?,
            core: client_core,
            redis_url: None,
        },
        json: args.value("json").map(PathBuf::from),
        markdown: args.value("markdown").map(PathBuf::from),
        build: !args.flag("no-build"),
    })
}

fn list() {
    println!("variants:");
    for v in Variant::ALL {
        println!("  {}", v.name());
        println!("  {:<26}   {}", "", v.configuration());
    }
    println!("scenarios:");
    for s in Scenario::ALL {
        println!("  {:<26} GET {}", s.name(), s.path());
    }
}

/// The larger of the two cores' stolen shares during a run, in percent.
fn max_steal(report: &crate::loadgen::Report) -> f64 {
    report.cores.iter().map(|c| c.steal_pct).fold(0.0, f64::max)
}

/// The directory of the running `bench`, where its sibling binaries are.
fn binaries() -> Result<Binaries, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let dir = exe.parent().ok_or("no directory of the executable")?;
    Ok(Binaries {
        dir: dir.to_path_buf(),
    })
}

/// The cargo profile the binaries were built with (the name of their directory).
fn profile_name(binaries: &Binaries) -> String {
    match binaries.dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev".into(),
        Some(name) => name.into(),
        None => "release".into(),
    }
}

/// Builds every binary of the bench crate with the profile `bench` itself was built with.
fn build(binaries: &Binaries) -> Result<(), String> {
    let profile = profile_name(binaries);
    if profile == "dev" {
        eprintln!("warning: a debug build measures nothing useful; use `cargo run --release`");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    eprintln!("building the benchmark binaries ({profile})...");
    let status = Command::new(cargo)
        .args(["build", "--profile", &profile, "--bins", "--manifest-path"])
        .arg(&manifest)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build failed".into());
    }
    Ok(())
}

/// The storage services, started when first needed.
#[derive(Default)]
struct Services {
    redis: Option<Result<services::Redis, String>>,
    postgres: Option<Result<services::Postgres, String>>,
}

impl Services {
    /// Empties (or starts) the service `backend`; its env and the processes to watch.
    fn prepare(
        &mut self,
        backend: Option<Backend>,
        core: usize,
        work: &Path,
    ) -> Result<(ServerEnv, Vec<Watch>), String> {
        let mut env = ServerEnv {
            data_dir: Some(work.join("data")),
            ..ServerEnv::default()
        };
        match backend {
            None => Ok((env, Vec::new())),
            Some(Backend::Redis) => {
                let redis = self.redis.get_or_insert_with(|| {
                    eprintln!("starting redis-server...");
                    services::Redis::start(core, work)
                });
                let redis = redis.as_ref().map_err(Clone::clone)?;
                redis.flush()?;
                env.redis_url = Some(redis.url());
                Ok((env, vec![Watch::Process(redis.pid())]))
            }
            Some(Backend::Postgres) => {
                let postgres = self.postgres.get_or_insert_with(|| {
                    eprintln!("starting PostgreSQL...");
                    services::Postgres::start(core, work)
                });
                let postgres = postgres.as_ref().map_err(Clone::clone)?;
                postgres.reset()?;
                env.postgres_url = Some(postgres.url());
                Ok((env, vec![Watch::Tree(postgres.postmaster())]))
            }
        }
    }
}

/// Every load run, in rounds.
fn load(options: &Options, binaries: &Binaries, work: &Path) -> Vec<LoadResult> {
    let mut results: Vec<LoadResult> = Vec::new();
    let mut runnable: Vec<(Variant, Scenario)> = Vec::new();
    for variant in &options.variants {
        for scenario in &options.scenarios {
            let reason = variant.unsupported(*scenario);
            results.push(LoadResult {
                variant: variant.name().into(),
                scenario: scenario.name().into(),
                status: if reason.is_some() {
                    Status::Skipped
                } else {
                    Status::Ok
                },
                reason: reason.map(str::to_owned),
                ..LoadResult::default()
            });
            if reason.is_none() {
                runnable.push((*variant, *scenario));
            }
        }
    }
    let loadgen = binaries.get("loadgen");
    let mut services = Services::default();
    for round in 1..=options.repeat {
        for (variant, scenario) in &runnable {
            let Some(slot) = results
                .iter_mut()
                .find(|r| r.variant == variant.name() && r.scenario == scenario.name())
            else {
                continue;
            };
            if slot.status != Status::Ok {
                continue; // failed or skipped in an earlier round
            }
            let mut measure = || {
                services
                    .prepare(variant.backend(), options.load.server_core, work)
                    .map_err(|e| (Status::Skipped, e))
                    .and_then(|(env, mut watches)| {
                        let server =
                            Server::start(binaries, *variant, options.load.server_core, &env)
                                .map_err(|e| (Status::Failed, e))?;
                        watches.insert(0, Watch::Process(server.pid()));
                        launch::run_load(
                            &loadgen,
                            &server,
                            *variant,
                            *scenario,
                            &watches,
                            &options.load,
                        )
                        .map_err(|e| (Status::Failed, e))
                    })
            };
            // A run during which the hypervisor took a share of a core measures the host's
            // other guests as much as the variant: measure it again, keep the least-stolen.
            let mut outcome = measure();
            for attempt in 1..=options.steal_retries {
                let stolen = match &outcome {
                    Ok(report) => max_steal(report),
                    Err(_) => break,
                };
                if stolen <= options.max_steal {
                    break;
                }
                eprintln!(
                    "[{round}/{}] {variant:<24} {scenario:<9} {stolen:.0}% of a core stolen by the hypervisor; measuring again ({attempt}/{})",
                    options.repeat, options.steal_retries
                );
                slot.remeasured += 1;
                std::thread::sleep(std::time::Duration::from_secs(5));
                let again = measure();
                outcome = match (outcome, again) {
                    (Ok(old), Ok(new)) if max_steal(&old) <= max_steal(&new) => Ok(old),
                    (_, again) => again,
                };
            }
            match outcome {
                Ok(report) => {
                    eprintln!(
                        "[{round}/{}] {variant:<24} {scenario:<9} {:>8.2} µs CPU/req {:>8.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  other load {:.0}%/{:.0}%",
                        options.repeat,
                        report.server_cpu_us_per_request,
                        report.throughput,
                        report.latency_us.p50,
                        report.latency_us.p99,
                        report.cores.first().map_or(0.0, |c| c.other_pct),
                        report.cores.get(1).map_or(0.0, |c| c.other_pct),
                    );
                    slot.runs.push(report);
                }
                Err((status, reason)) => {
                    eprintln!(
                        "[{round}/{}] {variant:<24} {scenario:<9} {}: {reason}",
                        options.repeat,
                        if status == Status::Failed {
                            "FAILED"
                        } else {
                            "skipped"
                        }
                    );
                    slot.status = status;
                    slot.reason = Some(reason);
                }
            }
        }
    }
    for result in &mut results {
        if result.status == Status::Ok {
            result.median = report::summarize(&result.runs);
        }
    }
    results
}

fn machine() -> report::Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let first_line = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default()
    };
    let manifest_dir = env!("CARGO_MANIFEST_DIR");
    report::Machine {
        nproc: crate::affinity::available_cores(),
        cpu_model,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        rustc: first_line("rustc", &["-V"]),
        commit: first_line(
            "git",
            &["-C", manifest_dir, "describe", "--always", "--dirty"],
        ),
        loadavg_start: loadavg(),
        loadavg_end: String::new(),
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The Markdown sections for BENCHMARKS.md.
pub fn render_markdown(results: &Results) -> String {
    use std::fmt::Write as _;
    let mut md = String::new();
    let m = &results.machine;
    let s = &results.settings;
    let _ = writeln!(md, "## HTTP load (side by side)\n");
    let _ = writeln!(md, "Command: `{}`\n", results.command);
    let _ = writeln!(
        md,
        "Machine: {} cores, {}, Linux {}; {}; commit `{}`; load average {} before, {} after.\n",
        m.nproc, m.cpu_model, m.kernel, m.rustc, m.commit, m.loadavg_start, m.loadavg_end
    );
    if !results.load.is_empty() {
        let _ = writeln!(
            md,
            "Settings: profile `{}`; server (and its Redis/PostgreSQL) pinned to core {}, load generator to core {}; {} connections; {} s warm-up, {} s measured; {} run(s) per row, medians shown, and the lowest run (`min`); `spread` is (max − min) / median of the server CPU over the runs; `other load` is the share of the server core / generator core busy with processes outside the benchmark during the measured windows (median); `steal` is the share of the two cores taken by the hypervisor (median of the sum); a run with more than {}% steal on either core was measured again up to {} times, keeping the least-stolen attempt (`again` counts them).\n",
            s.profile,
            s.server_core,
            s.client_core,
            s.connections,
            s.warmup_s,
            s.duration_s,
            s.repeat,
            s.max_steal_pct,
            s.steal_retries
        );
        md.push_str(&report::load_table(&results.load).markdown());
        md.push('\n');
        let perf = report::perf_table(&results.load);
        if !perf.rows.is_empty() {
            let _ = writeln!(
                md,
                "Hardware counters of the server's processes over the same windows (`perf stat`, events enabled only during each measured window; medians per request): instructions retired and cycles, in user mode and in the kernel. Instructions do not depend on the host's load; cycles exclude time the hypervisor took the core but include stalls on memory.\n"
            );
            md.push_str(&perf.markdown());
            md.push('\n');
        }
    }
    let _ = writeln!(md, "Variants:\n");
    for v in &results.variants {
        let _ = writeln!(md, "- `{}`: {}", v.name, v.configuration);
    }
    md.push('\n');
    if !results.allocations.is_empty() || !results.instructions.is_empty() {
        let _ = writeln!(md, "## Allocations and instructions per request\n");
        let _ = writeln!(
            md,
            "In-process (the router called directly, no network, no HTTP parser), {} simulated clients with their own cookie jars. Allocations: counted by a counting global allocator only while the service call runs ({} requests after 1000 unprobed ones). Both count the server's side only: the service future is polled inside one never-inlined function, the allocation probe is on only there, and callgrind collects only there (`--toggle-collect`); building requests, reading bodies and parsing `Set-Cookie` are left out. Instructions: `valgrind --tool=callgrind`, (instructions for 2N requests − for N) / N with N = {}, so start-up and warm-up cancel out. Valgrind does not implement the SHA extensions, so SHA-256 runs in software under it: HMAC-SHA-256 variants count more instructions here than they execute natively on a CPU with SHA-NI.\n",
            s.connections, s.alloc_requests, s.callgrind_requests
        );
        if !results.allocations.is_empty() {
            md.push_str(&report::alloc_table(&results.allocations).markdown());
            md.push('\n');
        }
        if !results.instructions.is_empty() {
            md.push_str(&report::instr_table(&results.instructions).markdown());
            md.push('\n');
        }
    }
    md
}

/// Removes a directory when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
