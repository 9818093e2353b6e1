//! The chart of the HTTP load results: `chart [RESULTS.json [CHART.svg]]`, by default
//! `benches/results/http-load.json` to `benches/results/http-load.svg` (paths from the workspace
//! root). See [`typed_sessions_bench::chart`].

use std::path::PathBuf;
use std::process::ExitCode;

use typed_sessions_bench::chart::{self, DEFAULT_INPUT, DEFAULT_OUTPUT};

const USAGE: &str = "\
chart: the SVG chart of the HTTP load benchmark's results (server CPU per request and
throughput, per variant and scenario).

USAGE:
    cargo run -p typed-sessions-bench --bin chart -- [RESULTS.json [CHART.svg]]

RESULTS.json defaults to benches/results/http-load.json (written by `bench --json`),
CHART.svg to benches/results/http-load.svg.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.len() > 2 || args.iter().any(|a| a.starts_with('-')) {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let input = PathBuf::from(args.first().map_or(DEFAULT_INPUT, String::as_str));
    let output = PathBuf::from(args.get(1).map_or(DEFAULT_OUTPUT, String::as_str));
    match chart::read_results(&input).and_then(|results| chart::write_chart(&results, &output)) {
        Ok(()) => {
            eprintln!("chart: {} -> {}", input.display(), output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chart: {e}");
            ExitCode::FAILURE
        }
    }
}
