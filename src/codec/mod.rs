//! The text encodings several wings share, each written once: hexadecimal ([`hex`]) and
//! percent-encoding ([`percent`]). Below everything that uses them; they know nothing of
//! sessions.

pub(crate) mod hex;
pub(crate) mod percent;

/// A buffer of `len` zero bytes to decode or encode into.
///
/// `vec![0u8; len]` asks the allocator for zeroed memory, which glibc serves with `calloc`: in
/// the glibc we measure on (2.36), that bypasses its per-thread cache and costs several times a
/// plain allocation. Reserving and then filling takes the ordinary path; the filling is the
/// same `memset`.
#[expect(
    clippy::slow_vector_initialization,
    reason = "the lint's `vec![0; len]` is the `calloc` this avoids"
)]
pub(crate) fn zeroed(len: usize) -> Vec<u8> {
    let mut buffer = Vec::with_capacity(len);
    buffer.resize(len, 0);
    buffer
}

#[cfg(test)]
mod tests {
    #[test]
    fn zeroed_is_exactly_len_zeros() {
        for len in [0, 1, 13, 4096] {
            let buffer = super::zeroed(len);
            assert_eq!(buffer.len(), len);
            assert!(buffer.iter().all(|&b| b == 0));
        }
    }
}
