//! The one place that reads the OS CSPRNG (ids, nonces, IVs, keys).

/// Fills `buf` from the operating system's CSPRNG.
///
/// # Panics
///
/// If the OS has no usable random source. Nothing secure can be done without one, so this is
/// treated like an allocation failure rather than as a recoverable error.
pub(crate) fn fill(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}
