//! Memory per session of the memory storage and of the moka-based alternative.
//!
//! ```text
//! cargo run --release -p typed-sessions-bench --bin storage-memory -- memory 1000000
//! cargo run --release -p typed-sessions-bench --bin storage-memory -- moka 1000000
//! ```
//!
//! Stores N sessions of a ~100-byte payload and prints the heap bytes still allocated per
//! session (counted by a wrapping global allocator, so the figure excludes the allocator's own
//! overhead) and the growth of the resident set per session (which includes it). The ids are
//! made before the first measurement and are not counted: they are the clients' copies.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::SystemTime;

use typed_sessions::SessionId;
use typed_sessions::storage::{MemoryStorage, SessionStorage};
use typed_sessions_bench::{MokaStorage, PAYLOAD, bench_key, ready, record, rss_bytes};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "memory".into());
    let n: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    match kind.as_str() {
        "moka" => measure(
            "moka",
            n,
            || MokaStorage::new(n as u64),
            MokaStorage::settle,
        ),
        _ => measure("memory", n, || MemoryStorage::with_capacity(n), |_| {}),
    }
}

fn measure<S: SessionStorage>(kind: &str, n: usize, make: impl FnOnce() -> S, settle: impl Fn(&S)) {
    let now = SystemTime::now();
    let ids: Vec<SessionId> = (0..n).map(|_| SessionId::generate()).collect();
    let record = record(now);

    let (heap_before, rss_before) = (LIVE.load(Ordering::SeqCst), rss_bytes());
    let storage = make();
    for id in &ids {
        ready(storage.create(bench_key(id), &record, now)).unwrap();
    }
    settle(&storage);
    let (heap_after, rss_after) = (LIVE.load(Ordering::SeqCst), rss_bytes());
    let held = ids
        .iter()
        .filter(|id| ready(storage.load(bench_key(id), now)).unwrap().is_some())
        .count();
    println!(
        "{kind}: {n} sessions of {} bytes ({held} held): heap {:.0} bytes/session, RSS {:.0} bytes/session",
        PAYLOAD.len(),
        (heap_after - heap_before) as f64 / n as f64,
        (rss_after.saturating_sub(rss_before)) as f64 / n as f64,
    );
}
