//! Runs one storage operation many times, for counting instructions under callgrind (a figure
//! that, unlike wall-clock time, does not depend on what else the machine runs).
//!
//! ```text
//! cargo build --release -p typed-sessions-bench --bin storage-ops
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/storage-ops memory none 100000 1000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/storage-ops memory load 100000 1000
//! ```
//!
//! (instructions with `load` − instructions with `none`) / 100000 = instructions per load.
//! Both runs fill the storage with `live` sessions and make the same ids; `none` only skips
//! the operation.

use std::hint::black_box;
use std::time::SystemTime;

use typed_sessions::SessionId;
use typed_sessions::storage::{MemoryStorage, SessionStorage};
use typed_sessions_bench::{MokaStorage, bench_key, ready, record};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let (kind, op) = (arg(0, "memory"), arg(1, "load"));
    let n: usize = arg(2, "100000").parse().unwrap();
    let live: usize = arg(3, "1000").parse().unwrap();
    match kind.as_str() {
        "moka" => run(&MokaStorage::new(live as u64), &op, n, live),
        _ => run(&MemoryStorage::with_capacity(live), &op, n, live),
    }
}

fn run(storage: &dyn SessionStorage, op: &str, n: usize, live: usize) {
    let now = SystemTime::now();
    let record = record(now);
    let ids: Vec<SessionId> = (0..live).map(|_| SessionId::generate()).collect();
    for id in &ids {
        ready(storage.create(bench_key(id), &record, now)).unwrap();
    }
    let fresh: Vec<SessionId> = (0..n).map(|_| SessionId::generate()).collect();
    for i in 0..n {
        let id = &ids[i % live];
        match op {
            "load" => {
                black_box(ready(storage.load(bench_key(id), now)).unwrap());
            }
            "update" => {
                black_box(ready(storage.update(bench_key(id), &record, now)).unwrap());
            }
            "create" => {
                black_box(ready(storage.create(bench_key(&fresh[i]), &record, now)).unwrap());
            }
            _ => {
                black_box((id, &fresh[i]));
            }
        }
    }
}
