//! The side-by-side HTTP load benchmark; see `bench --help` and BENCHMARKS.md.

fn main() {
    std::process::exit(typed_sessions_bench::runner::main());
}
