//! Storage micro benchmarks: load (a hit), create (a new id) and update (an existing id) for
//! each storage; the memory storage (and, for comparison, a moka-based one) at 1 000 and
//! 1 000 000 live sessions.
//!
//! ```text
//! cargo bench -p typed-sessions-bench --bench storage -- --measurement-time 2
//! ```
//!
//! The memory storages never wait, so their futures are polled once on the bench thread
//! ([`ready`]); the directory storages run on a 2-worker tokio runtime (their I/O goes to the
//! blocking pool, as in a server).

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use typed_sessions::SessionId;
use typed_sessions::storage::{CacheStorage, DirectoryStorage, MemoryStorage, SessionStorage};
use typed_sessions_bench::{MokaStorage, bench_key, ready, record};

/// Fills `storage` with `n` sessions and returns their ids.
fn fill(storage: &dyn SessionStorage, n: usize, now: SystemTime) -> Vec<SessionId> {
    (0..n)
        .map(|_| {
            let id = SessionId::generate();
            ready(storage.create(bench_key(&id), &record(now), now)).unwrap();
            id
        })
        .collect()
}

/// load / create / update on a memory-like storage holding `live` sessions, bounded at `live`
/// (so a create into the full storage also evicts one).
fn memory_like(c: &mut Criterion, name: &str, storage: &dyn SessionStorage, live: usize) {
    let now = SystemTime::now();
    let ids = fill(storage, live, now);
    let next = AtomicUsize::new(0);
    let pick = || bench_key(&ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()]);
    let mut group = c.benchmark_group(format!("storage/{name}/{live}"));
    group.bench_function("load", |b| {
        b.iter(|| black_box(ready(storage.load(pick(), now)).unwrap()))
    });
    group.bench_function("update", |b| {
        let record = record(now);
        b.iter(|| black_box(ready(storage.update(pick(), &record, now)).unwrap()))
    });
    group.bench_function("create", |b| {
        let record = record(now);
        b.iter_batched(
            SessionId::generate,
            |id| black_box(ready(storage.create(bench_key(&id), &record, now)).unwrap()),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn memory(c: &mut Criterion) {
    for live in [1_000, 1_000_000] {
        memory_like(c, "memory", &MemoryStorage::with_capacity(live), live);
        memory_like(c, "moka", &MokaStorage::new(live as u64), live);
    }
}

/// load / create / update on a storage that needs a runtime.
fn on_runtime(c: &mut Criterion, name: &str, storage: &dyn SessionStorage, samples: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let now = SystemTime::now();
    let ids: Vec<SessionId> = (0..1_000).map(|_| SessionId::generate()).collect();
    runtime.block_on(async {
        for id in &ids {
            storage
                .create(bench_key(id), &record(now), now)
                .await
                .unwrap();
        }
    });
    let next = AtomicUsize::new(0);
    let pick = || bench_key(&ids[next.fetch_add(1, Ordering::Relaxed) % ids.len()]);
    let mut group = c.benchmark_group(format!("storage/{name}"));
    group.sample_size(samples);
    group.bench_function("load", |b| {
        b.iter(|| black_box(runtime.block_on(storage.load(pick(), now)).unwrap()))
    });
    group.bench_function("update", |b| {
        let record = record(now);
        b.iter(|| {
            black_box(
                runtime
                    .block_on(storage.update(pick(), &record, now))
                    .unwrap(),
            )
        })
    });
    group.bench_function("create", |b| {
        let record = record(now);
        b.iter_batched(
            SessionId::generate,
            |id| {
                black_box(
                    runtime
                        .block_on(storage.create(bench_key(&id), &record, now))
                        .unwrap(),
                )
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn directory(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let durable = DirectoryStorage::open(dir.path().join("durable")).unwrap();
    on_runtime(c, "directory", &durable, 10);
    let fast = DirectoryStorage::builder(dir.path().join("nosync"))
        .durable(false)
        .open()
        .unwrap();
    on_runtime(c, "directory-nosync", &fast, 50);
    let cached = CacheStorage::new(DirectoryStorage::open(dir.path().join("cached")).unwrap())
        .with_ttl(Duration::from_secs(3600));
    on_runtime(c, "cached-directory", &cached, 10);
}

criterion_group!(benches, memory, directory);
criterion_main!(benches);
