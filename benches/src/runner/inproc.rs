//! The in-process figures: allocations per request (the `allocs` binary, a counting global
//! allocator) and instructions per request (`callgrind-driver` under
//! `valgrind --tool=callgrind`, 2N requests minus N requests, divided by N, so start-up and
//! warm-up cancel out).

use std::path::Path;
use std::process::{Command, Stdio};

use super::launch::Binaries;
use super::report::{AllocResult, InstrResult, Status};
use super::services::find_program;
use crate::inproc::TASK_POLL;
use crate::scenario::Scenario;
use crate::variants::Variant;

/// How many in-process requests to make.
#[derive(Clone, Debug)]
pub struct InprocSettings {
    /// Simulated clients (cookie jars), served round-robin.
    pub clients: usize,
    /// Unprobed requests first.
    pub warmup: u64,
    /// Probed requests (allocations).
    pub alloc_requests: u64,
    /// N (callgrind).
    pub callgrind_requests: u64,
    /// The core to run on.
    pub core: usize,
    /// The Redis server for the Redis variants' instruction counts.
    pub redis_url: Option<String>,
}

/// The function callgrind counts in: the driver polls the server's future only through it.
pub const SERVER_POLL: &str = "typed_sessions_bench::inproc::server_poll*";

/// Runs the `allocs` binary for every pair.
pub fn allocations(
    binaries: &Binaries,
    pairs: &[(Variant, Scenario)],
    settings: &InprocSettings,
) -> Vec<AllocResult> {
    let mut results = Vec::new();
    for (variant, scenario) in pairs {
        let mut command = Command::new(binaries.get("allocs"));
        command
            .args(["--variants", variant.name(), "--scenarios", scenario.name()])
            .args(["--requests", &settings.alloc_requests.to_string()])
            .args(["--warmup", &settings.warmup.to_string()])
            .args(["--clients", &settings.clients.to_string()])
            .args(["--pin", &settings.core.to_string(), "--json"])
            .stderr(Stdio::piped());
        let outcome = command
            .output()
            .map_err(|e| format!("starting allocs: {e}"))
            .and_then(|output| {
                if !output.status.success() {
                    return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
                }
                serde_json::from_slice::<Vec<AllocResult>>(&output.stdout)
                    .map_err(|e| format!("allocs' report: {e}"))
            });
        match outcome {
            Ok(mut found) => {
                for r in &found {
                    eprintln!(
                        "  allocs {} {}: {:.1} allocations, {:.0} bytes per request",
                        r.variant, r.scenario, r.allocations_per_request, r.bytes_per_request
                    );
                }
                results.append(&mut found);
            }
            Err(reason) => {
                eprintln!("  allocs {variant} {scenario}: FAILED: {reason}");
                results.push(AllocResult {
                    variant: variant.name().into(),
                    scenario: scenario.name().into(),
                    status: Status::Failed,
                    reason: Some(reason),
                    ..AllocResult::default()
                });
            }
        }
    }
    results
}

/// Runs `callgrind-driver` under callgrind twice (N and 2N requests) for every pair.
pub fn instructions(
    binaries: &Binaries,
    pairs: &[(Variant, Scenario)],
    settings: &InprocSettings,
    out_dir: &Path,
) -> Vec<InstrResult> {
    let Some(valgrind) = find_program("valgrind", &[]) else {
        return pairs
            .iter()
            .map(|(v, s)| InstrResult {
                variant: v.name().into(),
                scenario: s.name().into(),
                status: Status::Skipped,
                reason: Some("valgrind not found (apt-get install valgrind)".into()),
                ..InstrResult::default()
            })
            .collect();
    };
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        eprintln!("  callgrind: {}: {e}", out_dir.display());
    }
    let n = settings.callgrind_requests.max(1);
    let mut results: Vec<InstrResult> = Vec::new();
    for (variant, scenario) in pairs {
        let run = |requests: u64| -> Result<(u64, String), String> {
            let file = out_dir.join(format!(
                "callgrind.{}.{}.{requests}.out",
                variant.name(),
                scenario.name()
            ));
            let mut command = Command::new(&valgrind);
            command
                .args(["--tool=callgrind", "--dump-instr=no", "--collect-jumps=no"])
                .arg(format!("--toggle-collect={SERVER_POLL}"))
                .arg(format!("--toggle-collect={TASK_POLL}"))
                .arg(format!("--callgrind-out-file={}", file.display()))
                .arg(binaries.get("callgrind-driver"))
                .args(["--variant", variant.name(), "--scenario", scenario.name()])
                .args(["--requests", &requests.to_string()])
                .args(["--warmup", &settings.warmup.to_string()])
                .args(["--clients", &settings.clients.to_string()])
                .args(
                    settings
                        .redis_url
                        .iter()
                        .filter(|_| variant.in_process_with_redis())
                        .flat_map(|url| ["--redis", url.as_str()]),
                )
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            crate::affinity::pin_command(&mut command, settings.core);
            let output = command
                .output()
                .map_err(|e| format!("starting valgrind: {e}"))?;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
                return Err(tail.into_iter().rev().collect::<Vec<_>>().join(" / "));
            }
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let total =
                callgrind_total(&text).ok_or_else(|| format!("no totals in {}", file.display()))?;
            Ok((total, file.display().to_string()))
        };
        let outcome = run(n).and_then(|(once, _)| {
            let (twice, file) = run(2 * n)?;
            Ok((twice.saturating_sub(once) as f64 / n as f64, file))
        });
        let result = match outcome {
            Ok((per_request, file)) => {
                eprintln!(
                    "  callgrind {variant} {scenario}: {per_request:.0} instructions per request"
                );
                InstrResult {
                    variant: variant.name().into(),
                    scenario: scenario.name().into(),
                    status: Status::Ok,
                    reason: None,
                    requests: n,
                    instructions_per_request: per_request,
                    over_baseline: None,
                    callgrind_file: Some(file),
                }
            }
            Err(reason) => {
                eprintln!("  callgrind {variant} {scenario}: FAILED: {reason}");
                InstrResult {
                    variant: variant.name().into(),
                    scenario: scenario.name().into(),
                    status: Status::Failed,
                    reason: Some(reason),
                    requests: n,
                    ..InstrResult::default()
                }
            }
        };
        results.push(result);
    }
    let baseline: Vec<(String, f64)> = results
        .iter()
        .filter(|r| r.variant == Variant::Baseline.name() && r.status == Status::Ok)
        .map(|r| (r.scenario.clone(), r.instructions_per_request))
        .collect();
    for r in results.iter_mut().filter(|r| r.status == Status::Ok) {
        r.over_baseline = baseline
            .iter()
            .find(|(s, _)| *s == r.scenario)
            .map(|(_, b)| r.instructions_per_request - b);
    }
    results
}

/// The total event count of a callgrind output file (`totals:` or `summary:` line).
pub fn callgrind_total(text: &str) -> Option<u64> {
    text.lines()
        .filter_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_callgrind_totals() {
        let text = "version: 1\ncmd: x\nevents: Ir\nsummary: 12345\nfn=main\n1 5\ntotals: 12345\n";
        assert_eq!(callgrind_total(text), Some(12345));
        assert_eq!(callgrind_total("events: Ir\n"), None);
    }
}
