//! Counting forks, so that a child process never continues its parent's random stream.
//!
//! On Unix a `pthread_atfork` handler, registered once, increments a counter in the child
//! right after every `fork`; [`generation`] reads it with one relaxed atomic load, so the check
//! costs nothing per request. A generator remembers the generation it was seeded under and is
//! seeded afresh when it differs. Processes made by `posix_spawn` or `vfork` (what
//! `std::process::Command` uses) run another program and never reach the generator; a raw
//! `clone(2)` without `CLONE_VM`, which bypasses the C library's fork handlers, is not
//! detected (no Rust or C runtime supports running code after one).
//!
//! Where registration fails, [`generation`] returns a new value on every call, so every draw is
//! seeded from the OS: slower, never unsafe. Systems without `fork` have nothing to watch.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Forks seen by this process (in the child, each fork adds one).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Whether the fork handler is installed.
static WATCHING: AtomicBool = AtomicBool::new(false);
static REGISTER: Once = Once::new();

/// The fork generation of this process: unchanged until the process is a child of a fork made
/// after the previous call.
pub(super) fn generation() -> u64 {
    REGISTER.call_once(|| WATCHING.store(register(), Ordering::Relaxed));
    if WATCHING.load(Ordering::Relaxed) {
        GENERATION.load(Ordering::Relaxed)
    } else {
        // Without a handler nothing tells a fork apart: never reuse a generator.
        GENERATION.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }
}

#[cfg(unix)]
extern "C" fn in_child() {
    // Async-signal-safe, as POSIX requires of a fork handler: one atomic increment.
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Installs the child handler; whether it is installed.
#[cfg(unix)]
#[allow(unsafe_code)]
fn register() -> bool {
    // SAFETY: `pthread_atfork` only records the three function pointers. `in_child` is a plain
    // `extern "C"` function with no arguments that lives as long as the program, touches only
    // a static atomic, and cannot unwind (an atomic increment does not panic).
    let status = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    if status != 0 {
        tracing::warn!(
            status,
            "could not install the fork handler; random bytes come from the OS on every draw"
        );
    }
    status == 0
}

/// No `fork` on this system: there is nothing to watch, and the generation never changes.
#[cfg(not(unix))]
fn register() -> bool {
    true
}
