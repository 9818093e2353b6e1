//! The one place that makes random bytes: session ids, nonces, IVs, temporary file names (from
//! a user-space generator) and keys (straight from the operating system).
//!
//! A request that writes an encrypted value or creates a session needs a nonce or an id. Asking
//! the kernel for each one costs a system call per request, which is more CPU time than
//! everything else the crate does for such a request. Instead each thread keeps a ChaCha12
//! generator (RustCrypto's `chacha20` crate; twelve rounds, as the `rand` crate's standard
//! CSPRNG uses) seeded with 32 bytes from the OS, the construction the security requirements
//! allow for ids and nonces:
//!
//! * **Seeded from the OS**, and reseeded from the OS after every [`RESEED_AFTER`] bytes it
//!   produced, so a thread's generator never runs long on one seed.
//! * **Fork-safe.** A child process never repeats its parent's output: a fork handler
//!   ([`fork`]) counts forks, and a generator seeded before the last fork is thrown away and
//!   seeded afresh before it is used again. The parent keeps its stream; the child gets a new
//!   one.
//! * **Keys come straight from the OS** ([`fill_from_os`]), never from this generator.
//!
//! In steady state no system call remains on the request path: one `getrandom` per thread
//! at the first use and one per [`RESEED_AFTER`] bytes after that.

mod fork;

use std::cell::RefCell;

use chacha20::ChaCha12Rng;
use rand_core::{Rng as _, SeedableRng as _};

/// How many bytes one seed may produce before the thread's generator is seeded again (1 MiB:
/// tens of thousands of ids or nonces).
pub(crate) const RESEED_AFTER: u64 = 1 << 20;

/// One thread's generator and what it was seeded under.
struct Generator {
    rng: ChaCha12Rng,
    /// [`fork::generation`] when it was seeded: a different value means the process forked
    /// since, and this state is shared with the parent.
    generation: u64,
    /// Bytes produced since the last seeding.
    produced: u64,
}

impl Generator {
    fn seeded(generation: u64) -> Generator {
        let mut seed = [0u8; 32];
        fill_from_os(&mut seed);
        let rng = ChaCha12Rng::from_seed(seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Generator {
            rng,
            generation,
            produced: 0,
        }
    }
}

thread_local! {
    static GENERATOR: RefCell<Option<Generator>> = const { RefCell::new(None) };
}

/// Fills `buf` with cryptographically secure random bytes from this thread's generator (ids,
/// nonces, IVs, file names). See the [module documentation](self).
pub(crate) fn fill(buf: &mut [u8]) {
    let generation = fork::generation();
    let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
    let served = GENERATOR.try_with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return false;
        };
        let generator = match slot.as_mut() {
            Some(g) if g.generation == generation && g.produced < RESEED_AFTER => g,
            _ => slot.insert(Generator::seeded(generation)),
        };
        generator.rng.fill_bytes(buf);
        generator.produced = generator.produced.saturating_add(len);
        true
    });
    // The thread is being torn down (its locals are gone) or the generator is in use further
    // up this thread's stack: the OS serves this one request.
    if served != Ok(true) {
        fill_from_os(buf);
    }
}

/// Fills `buf` from the operating system's CSPRNG: for keys, and to seed [`fill`].
///
/// # Panics
///
/// If the OS has no usable random source. Nothing secure can be done without one, so this is
/// treated like an allocation failure rather than as a recoverable error.
pub(crate) fn fill_from_os(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_draws_differ_and_look_uniform() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, b);
        let mut big = vec![0u8; 1 << 16];
        fill(&mut big);
        let ones: u32 = big.iter().map(|b| b.count_ones()).sum();
        let share = f64::from(ones) / (big.len() as f64 * 8.0);
        assert!((0.49..0.51).contains(&share), "share of one bits {share}");
    }

    #[test]
    fn a_generator_is_reseeded_after_its_budget_and_after_a_fork() {
        let mut buf = vec![0u8; 4096];
        fill(&mut buf);
        let seed = |f: &dyn Fn(&Generator) -> u64| {
            GENERATOR.with(|cell| f(cell.borrow().as_ref().expect("seeded")))
        };
        let before = GENERATOR.with(|cell| cell.borrow().as_ref().map(|g| g.rng.get_seed()));
        // Use up the budget: the next draw starts a new seed.
        GENERATOR.with(|cell| {
            if let Some(g) = cell.borrow_mut().as_mut() {
                g.produced = RESEED_AFTER;
            }
        });
        fill(&mut buf);
        let after = GENERATOR.with(|cell| cell.borrow().as_ref().map(|g| g.rng.get_seed()));
        assert_ne!(before, after);
        assert_eq!(seed(&|g| g.produced), 4096);
        // A generator seeded under another fork generation (as in a child process) is
        // replaced before it serves anything.
        GENERATOR.with(|cell| {
            if let Some(g) = cell.borrow_mut().as_mut() {
                g.generation = g.generation.wrapping_add(1);
            }
        });
        fill(&mut buf);
        let renewed = GENERATOR.with(|cell| cell.borrow().as_ref().map(|g| g.rng.get_seed()));
        assert_ne!(after, renewed);
        assert_eq!(seed(&|g| g.generation), fork::generation());
    }
}
