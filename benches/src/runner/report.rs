//! The results: what was measured (JSON, for the chart generator), and the tables (text for the
//! terminal, Markdown for BENCHMARKS.md).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::loadgen::Report;

/// Everything one `bench` run produced.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    /// The command line.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// The settings.
    pub settings: Settings,
    /// Every variant with its configuration.
    pub variants: Vec<VariantInfo>,
    /// The HTTP load results, one per variant and scenario.
    pub load: Vec<LoadResult>,
    /// Allocations per request (in-process).
    pub allocations: Vec<AllocResult>,
    /// Instructions per request (in-process, callgrind).
    pub instructions: Vec<InstrResult>,
}

/// The machine.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Machine {
    /// Cores available.
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `uname -r`.
    pub kernel: String,
    /// `rustc -V`.
    pub rustc: String,
    /// The commit measured (`git describe --always --dirty`).
    pub commit: String,
    /// `/proc/loadavg` before the run.
    pub loadavg_start: String,
    /// `/proc/loadavg` after the run.
    pub loadavg_end: String,
}

/// The settings of the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Settings {
    /// Connections per load run.
    pub connections: usize,
    /// Warm-up seconds per load run.
    pub warmup_s: f64,
    /// Measured seconds per load run.
    pub duration_s: f64,
    /// Load runs per variant and scenario (the medians are over these).
    pub repeat: usize,
    /// A run with more steal than this on either core (percent) was measured again.
    #[serde(default)]
    pub max_steal_pct: f64,
    /// At most this many more attempts per run.
    #[serde(default)]
    pub steal_retries: usize,
    /// The core of the server (and its storage service).
    pub server_core: usize,
    /// The core of the load generator.
    pub client_core: usize,
    /// The cargo profile of every binary.
    pub profile: String,
    /// Probed requests per allocation count.
    pub alloc_requests: u64,
    /// N for the callgrind difference (2N − N requests).
    pub callgrind_requests: u64,
}

/// A variant as listed in the report.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VariantInfo {
    /// Its name.
    pub name: String,
    /// `baseline`, `ours` or `peer`.
    pub family: String,
    /// Its configuration.
    pub configuration: String,
}

/// What happened to one measurement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured.
    #[default]
    Ok,
    /// Not run (unsupported, or a service is missing); see the reason.
    Skipped,
    /// Run, and it failed (a wrong answer, an error); see the reason.
    Failed,
}

/// The load results of one variant and scenario.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LoadResult {
    /// The variant.
    pub variant: String,
    /// The scenario.
    pub scenario: String,
    /// What happened.
    pub status: Status,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// Every run kept, in order.
    pub runs: Vec<Report>,
    /// Runs measured again because the hypervisor stole too much of a core.
    #[serde(default)]
    pub remeasured: usize,
    /// Medians over the runs.
    pub median: Option<Median>,
}

/// Medians over the runs of one variant and scenario, and ratios to the baseline's medians in
/// the same scenario.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Median {
    /// Server CPU time per request, in microseconds.
    pub server_cpu_us_per_request: f64,
    /// The lowest run's.
    pub server_cpu_min: f64,
    /// The highest run's.
    pub server_cpu_max: f64,
    /// The user-mode part of the server's CPU time per request (median over the runs).
    #[serde(default)]
    pub server_user_us_per_request: f64,
    /// Requests per second.
    pub throughput: f64,
    /// Median latency, in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, in microseconds.
    pub p99_us: f64,
    /// Server CPU per request over the baseline's.
    pub cpu_ratio: Option<f64>,
    /// The lowest run's server CPU per request over the baseline's lowest run's.
    pub cpu_min_ratio: Option<f64>,
    /// User-mode server CPU per request over the baseline's.
    #[serde(default)]
    pub user_ratio: Option<f64>,
    /// Throughput over the baseline's.
    pub throughput_ratio: Option<f64>,
    /// Load on the server core from outside the benchmark, in percent.
    pub other_load_server_core_pct: f64,
    /// Load on the generator core from outside the benchmark, in percent.
    pub other_load_client_core_pct: f64,
    /// Time stolen by the hypervisor on both cores, in percent.
    pub steal_pct: f64,
    /// Hardware counters per request (medians over the runs that have them; `--perf`).
    #[serde(default)]
    pub perf: Option<crate::perfcount::PerRequest>,
}

/// Allocations per request of one variant and scenario.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AllocResult {
    /// The variant.
    pub variant: String,
    /// The scenario.
    pub scenario: String,
    /// What happened.
    pub status: Status,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// Probed requests.
    pub requests: u64,
    /// Allocations (and reallocations) per request inside the service call.
    pub allocations_per_request: f64,
    /// Bytes allocated per request inside the service call.
    pub bytes_per_request: f64,
}

/// Instructions per request of one variant and scenario.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstrResult {
    /// The variant.
    pub variant: String,
    /// The scenario.
    pub scenario: String,
    /// What happened.
    pub status: Status,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// N (the difference is between 2N and N requests).
    pub requests: u64,
    /// Instructions per request, the server's side only.
    pub instructions_per_request: f64,
    /// The same minus the baseline's in the same scenario.
    pub over_baseline: Option<f64>,
    /// The callgrind output of the 2N run, for `callgrind_annotate`.
    pub callgrind_file: Option<String>,
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => values.get(n / 2).copied(),
        _ => Some((values.get(n / 2 - 1)? + values.get(n / 2)?) / 2.0),
    }
}

/// Medians of `runs`.
pub fn summarize(runs: &[Report]) -> Option<Median> {
    let pick = |f: &dyn Fn(&Report) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(f).collect();
        median(&mut values)
    };
    let core = |r: &Report, i: usize, f: &dyn Fn(&crate::loadgen::CoreLoad) -> f64| {
        r.cores.get(i).map_or(0.0, f)
    };
    let cpu: Vec<f64> = runs.iter().map(|r| r.server_cpu_us_per_request).collect();
    Some(Median {
        server_cpu_us_per_request: pick(&|r| r.server_cpu_us_per_request)?,
        server_cpu_min: cpu.iter().copied().fold(f64::INFINITY, f64::min),
        server_cpu_max: cpu.iter().copied().fold(0.0, f64::max),
        server_user_us_per_request: pick(&|r| r.server_user_us_per_request)?,
        throughput: pick(&|r| r.throughput)?,
        p50_us: pick(&|r| r.latency_us.p50)?,
        p99_us: pick(&|r| r.latency_us.p99)?,
        cpu_ratio: None,
        cpu_min_ratio: None,
        user_ratio: None,
        throughput_ratio: None,
        other_load_server_core_pct: pick(&|r| core(r, 0, &|c| c.other_pct))?,
        other_load_client_core_pct: pick(&|r| core(r, 1, &|c| c.other_pct))?,
        steal_pct: pick(&|r| core(r, 0, &|c| c.steal_pct) + core(r, 1, &|c| c.steal_pct))?,
        perf: perf_median(runs),
    })
}

/// The median of each counter over the runs that were counted.
fn perf_median(runs: &[Report]) -> Option<crate::perfcount::PerRequest> {
    let counted: Vec<crate::perfcount::PerRequest> = runs.iter().filter_map(|r| r.perf).collect();
    let pick = |f: fn(&crate::perfcount::PerRequest) -> f64| {
        let mut values: Vec<f64> = counted.iter().map(f).collect();
        median(&mut values)
    };
    Some(crate::perfcount::PerRequest {
        instructions_user: pick(|p| p.instructions_user)?,
        cycles_user: pick(|p| p.cycles_user)?,
        instructions_kernel: pick(|p| p.instructions_kernel)?,
        cycles_kernel: pick(|p| p.cycles_kernel)?,
    })
}

/// Fills in the ratios to the baseline of the same scenario.
pub fn add_ratios(load: &mut [LoadResult], baseline: &str) {
    let base: Vec<(String, Median)> = load
        .iter()
        .filter(|r| r.variant == baseline)
        .filter_map(|r| Some((r.scenario.clone(), r.median.clone()?)))
        .collect();
    for result in load.iter_mut() {
        let Some(reference) = base
            .iter()
            .find(|(s, _)| *s == result.scenario)
            .map(|(_, m)| m)
        else {
            continue;
        };
        if let Some(m) = result.median.as_mut() {
            m.cpu_ratio = Some(m.server_cpu_us_per_request / reference.server_cpu_us_per_request);
            m.cpu_min_ratio = Some(m.server_cpu_min / reference.server_cpu_min);
            m.user_ratio = (reference.server_user_us_per_request > 0.0)
                .then(|| m.server_user_us_per_request / reference.server_user_us_per_request);
            m.throughput_ratio = Some(m.throughput / reference.throughput);
        }
    }
}

/// A table: headers and rows of cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column titles.
    pub headers: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
    /// Whether each column is right-aligned.
    pub right: Vec<bool>,
}

impl Table {
    /// As aligned text.
    pub fn text(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            for (i, cell) in cells.iter().enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                let right = self.right.get(i).copied().unwrap_or(false);
                if right {
                    let _ = write!(out, "{cell:>width$}  ");
                } else {
                    let _ = write!(out, "{cell:<width$}  ");
                }
            }
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
            out.push('\n');
        };
        line(&mut out, &self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&mut out, &rule);
        for row in &self.rows {
            line(&mut out, row);
        }
        out
    }

    /// As a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", self.headers.join(" | "));
        let rule: Vec<&str> = (0..self.headers.len())
            .map(|i| {
                if self.right.get(i).copied().unwrap_or(false) {
                    "---:"
                } else {
                    "---"
                }
            })
            .collect();
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".into(), |r| format!("{r:.2}x"))
}

/// Thousands separators for a count.
pub fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The load table.
pub fn load_table(load: &[LoadResult]) -> Table {
    let headers = [
        "variant",
        "scenario",
        "server CPU µs/req",
        "× baseline",
        "min µs/req",
        "× baseline",
        "spread",
        "user µs/req",
        "× baseline",
        "req/s",
        "× baseline",
        "p50 µs",
        "p99 µs",
        "other load",
        "steal",
        "again",
    ];
    let mut rows = Vec::new();
    for r in load {
        let mut row = vec![r.variant.clone(), r.scenario.clone()];
        match (&r.status, &r.median) {
            (Status::Ok, Some(m)) => {
                let spread = if m.server_cpu_us_per_request > 0.0 {
                    100.0 * (m.server_cpu_max - m.server_cpu_min) / m.server_cpu_us_per_request
                } else {
                    0.0
                };
                row.extend([
                    format!("{:.2}", m.server_cpu_us_per_request),
                    ratio(m.cpu_ratio),
                    format!("{:.2}", m.server_cpu_min),
                    ratio(m.cpu_min_ratio),
                    format!("{spread:.0}%"),
                    format!("{:.2}", m.server_user_us_per_request),
                    ratio(m.user_ratio),
                    grouped(m.throughput),
                    ratio(m.throughput_ratio),
                    format!("{:.0}", m.p50_us),
                    format!("{:.0}", m.p99_us),
                    format!(
                        "{:.0}% / {:.0}%",
                        m.other_load_server_core_pct, m.other_load_client_core_pct
                    ),
                    format!("{:.0}%", m.steal_pct),
                    r.remeasured.to_string(),
                ]);
            }
            (Status::Skipped, _) => {
                row.push(format!(
                    "skipped: {}",
                    r.reason.as_deref().unwrap_or_default()
                ));
            }
            _ => {
                row.push(format!(
                    "FAILED: {}",
                    r.reason.as_deref().unwrap_or_default()
                ));
            }
        }
        rows.push(row);
    }
    Table {
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        rows,
        right: vec![
            false, false, true, true, true, true, true, true, true, true, true, true, true, true,
            true, true,
        ],
    }
}

/// The hardware-counter table (`--perf`): per request over HTTP, the server's user-mode
/// instructions and cycles with their difference and ratio to the baseline of the same
/// scenario, and its kernel instructions and cycles.
pub fn perf_table(load: &[LoadResult]) -> Table {
    let counted = |variant: &str, scenario: &str| {
        load.iter()
            .find(|r| r.variant == variant && r.scenario == scenario)
            .and_then(|r| r.median.as_ref()?.perf)
    };
    let thousands = |v: f64| format!("{:.1}k", v / 1000.0);
    let rows = load
        .iter()
        .filter_map(|r| {
            let p = counted(&r.variant, &r.scenario)?;
            let base = counted("baseline", &r.scenario);
            Some(vec![
                r.variant.clone(),
                r.scenario.clone(),
                thousands(p.instructions_user),
                base.map_or_else(
                    || "–".into(),
                    |b| {
                        format!(
                            "{:+.1}k",
                            (p.instructions_user - b.instructions_user) / 1000.0
                        )
                    },
                ),
                thousands(p.cycles_user),
                ratio(base.map(|b| p.cycles_user / b.cycles_user)),
                thousands(p.instructions_kernel),
                thousands(p.cycles_kernel),
                ratio(base.map(|b| {
                    (p.cycles_user + p.cycles_kernel) / (b.cycles_user + b.cycles_kernel)
                })),
            ])
        })
        .collect();
    Table {
        headers: [
            "variant",
            "scenario",
            "user instr/req",
            "over baseline",
            "user cycles/req",
            "× baseline",
            "kernel instr/req",
            "kernel cycles/req",
            "all cycles × baseline",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        right: vec![false, false, true, true, true, true, true, true, true],
    }
}

/// The allocation table.
pub fn alloc_table(allocs: &[AllocResult]) -> Table {
    let base = |scenario: &str| {
        allocs
            .iter()
            .find(|a| a.variant == "baseline" && a.scenario == scenario && a.status == Status::Ok)
    };
    let rows = allocs
        .iter()
        .map(|a| {
            let mut row = vec![a.variant.clone(), a.scenario.clone()];
            if a.status == Status::Ok {
                let over = base(&a.scenario).map_or_else(
                    || "–".into(),
                    |b| {
                        format!(
                            "{:+.1} / {:+.0}",
                            a.allocations_per_request - b.allocations_per_request,
                            a.bytes_per_request - b.bytes_per_request
                        )
                    },
                );
                row.extend([
                    format!("{:.1}", a.allocations_per_request),
                    grouped(a.bytes_per_request),
                    over,
                ]);
            } else {
                row.push(format!(
                    "{}: {}",
                    if a.status == Status::Failed {
                        "FAILED"
                    } else {
                        "skipped"
                    },
                    a.reason.as_deref().unwrap_or_default()
                ));
            }
            row
        })
        .collect();
    Table {
        headers: [
            "variant",
            "scenario",
            "allocs/req",
            "bytes/req",
            "over baseline (allocs / bytes)",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        right: vec![false, false, true, true, true],
    }
}

/// The instruction table.
pub fn instr_table(instrs: &[InstrResult]) -> Table {
    let rows = instrs
        .iter()
        .map(|i| {
            let mut row = vec![i.variant.clone(), i.scenario.clone()];
            if i.status == Status::Ok {
                let base = i.instructions_per_request - i.over_baseline.unwrap_or(f64::NAN);
                row.extend([
                    grouped(i.instructions_per_request),
                    i.over_baseline.map_or_else(
                        || "–".into(),
                        |d| format!("{}{}", if d < 0.0 { "−" } else { "+" }, grouped(d.abs())),
                    ),
                    ratio((base > 0.0).then(|| i.instructions_per_request / base)),
                ]);
            } else {
                row.push(format!(
                    "{}: {}",
                    if i.status == Status::Failed {
                        "FAILED"
                    } else {
                        "skipped"
                    },
                    i.reason.as_deref().unwrap_or_default()
                ));
            }
            row
        })
        .collect();
    Table {
        headers: [
            "variant",
            "scenario",
            "instructions/req",
            "over baseline",
            "× baseline",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        right: vec![false, false, true, true, true],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn grouping() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(1234.4), "1,234");
        assert_eq!(grouped(1234567.0), "1,234,567");
    }
}
