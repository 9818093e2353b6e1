//! The principals a storage has read, each with the index reference its records carry.
//!
//! A logged-in session's value holds its principal's text and the 64-digit reference of the
//! principal's index. Read back, the text becomes the record's shared `Arc<str>` and the
//! reference is remembered beside it ([`IndexRef`]), so that writing the record back hashes
//! nothing. Both are allocations, and the text is checked as UTF-8 and the reference as
//! lowercase hex on every read. A user's requests read the same principal again and again, so
//! the storage keeps the ones it built in a small table: a record that names a principal found
//! there, with the same reference in the same namespace, shares that principal's text and
//! reference instead. A principal's first read (a miss) allocates its text, its reference and
//! its entry; the reads after it allocate nothing for it.
//!
//! An entry is a pure function of what was read (namespace, reference, text), so it can never
//! be stale: a hit returns exactly what a miss would build, in an allocation shared with
//! earlier reads. The table is bounded: 1024 entries, and a principal may sit in one of two,
//! chosen by the first and the second ten bits of its reference (a hash, so evenly spread). A
//! principal read and not found goes to the first of its two entries if that one is empty,
//! otherwise to its second, replacing whoever sits there. So a principal in its first entry
//! stays until another principal whose second entry that is replaces it, and two principals
//! with the same first entry both find a place unless others already hold their second
//! entries. The table is kept for as long as the storage: an entry holds a principal's text
//! after its sessions ended, until another takes the entry. Each entry is a mutex and a
//! pointer (16 bytes), so the table costs 16 KiB until it fills, and at most about 250 bytes
//! per entry beside the principals' texts. A read never waits for the table: an entry another
//! thread holds is a miss.

use std::sync::{Arc, Mutex};

use crate::codec::hex;
use crate::storage::IndexRef;

/// Entries in the table: one per value of a reference's first ten bits.
const ENTRIES: usize = 1024;

/// Length of an index reference.
const REF_LEN: usize = 64;

/// The principals a storage has read (see the [module documentation](self)).
pub(in crate::storage::redis) struct RecentPrincipals {
    entries: Box<[Mutex<Option<Box<Recent>>>]>,
}

/// One principal as read: its namespace's tag, its reference, and what a read of them builds.
struct Recent {
    namespace: u64,
    reference: [u8; REF_LEN],
    principal: Arc<str>,
    index_ref: IndexRef,
}

impl RecentPrincipals {
    /// An empty table.
    pub(in crate::storage::redis) fn new() -> RecentPrincipals {
        RecentPrincipals {
            entries: (0..ENTRIES).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// The principal whose UTF-8 `text` a record of the namespace tagged `namespace` holds
    /// with `reference` in its header, and the index reference to remember for it: a shared
    /// copy of an earlier read's when there is one, built otherwise (and kept for the next
    /// read). `None` when `text` is not UTF-8. A reference that is not 64 lowercase hex
    /// digits is not remembered, and such a read is not kept.
    pub(in crate::storage::redis) fn resolve(
        &self,
        namespace: u64,
        reference: &[u8; REF_LEN],
        text: &[u8],
    ) -> Option<(Arc<str>, IndexRef)> {
        let [first, second] = entries_of(reference).map(|at| self.entries.get(at));
        for entry in [first, second].into_iter().flatten() {
            if let Ok(held) = entry.try_lock()
                && let Some(recent) = held.as_deref()
                && recent.namespace == namespace
                && recent.reference == *reference
                && recent.principal.as_bytes() == text
            {
                return Some((Arc::clone(&recent.principal), recent.index_ref.clone()));
            }
        }
        let principal: Arc<str> = Arc::from(std::str::from_utf8(text).ok()?);
        if !hex::is_lower(reference) {
            return Some((principal, IndexRef::default()));
        }
        let index_ref = IndexRef::new(namespace, &principal, *reference);
        let recent = Box::new(Recent {
            namespace,
            reference: *reference,
            principal: Arc::clone(&principal),
            index_ref: index_ref.clone(),
        });
        if let Some(Ok(mut held)) = first.map(Mutex::try_lock)
            && held.is_none()
        {
            *held = Some(recent);
        } else if let Some(Ok(mut held)) = second.map(Mutex::try_lock) {
            *held = Some(recent);
        }
        Some((principal, index_ref))
    }
}

/// The two entries `reference` may sit in: its first and its second ten bits, read as hex
/// digits (any other byte lands somewhere in the table too; such a reference is never kept).
fn entries_of(reference: &[u8; REF_LEN]) -> [usize; 2] {
    let digit = |c: u8| usize::from(c & 0x0f) + 9 * usize::from(c >> 6);
    let [a, b, c, d, e, ..] = *reference;
    let [a, b, c, d, e] = [a, b, c, d, e].map(digit);
    [
        ((a << 6) | (b << 2) | (c >> 2)) % ENTRIES,
        (((c & 3) << 8) | (d << 4) | e) % ENTRIES,
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn reference(first: &[u8]) -> [u8; REF_LEN] {
        let mut reference = [b'7'; REF_LEN];
        reference[..first.len()].copy_from_slice(first);
        reference
    }

    #[test]
    fn a_principal_read_again_shares_the_first_reads_text_and_reference() {
        let recent = RecentPrincipals::new();
        let r = reference(b"a0");
        let (first, first_ref) = recent.resolve(1, &r, b"ada").unwrap();
        let (again, again_ref) = recent.resolve(1, &r, b"ada").unwrap();
        assert_eq!(&*first, "ada");
        assert!(Arc::ptr_eq(&first, &again), "the same allocation");
        assert_eq!(first_ref.get(1, &again), Some(&r));
        assert_eq!(again_ref.get(1, &first), Some(&r));
    }

    #[test]
    fn a_hit_needs_the_same_namespace_reference_and_text() {
        let recent = RecentPrincipals::new();
        let r = reference(b"a0");
        let (ada, _) = recent.resolve(1, &r, b"ada").unwrap();
        let mut other_tail = r;
        other_tail[63] = b'0';
        for (namespace, reference, text) in [
            (2, r, &b"ada"[..]),
            (1, other_tail, b"ada"),
            (1, r, b"adb"),
            (1, r, b"ad"),
        ] {
            let (principal, index_ref) = recent.resolve(namespace, &reference, text).unwrap();
            assert!(!Arc::ptr_eq(&principal, &ada));
            assert_eq!(principal.as_bytes(), text);
            assert_eq!(index_ref.get(namespace, &principal), Some(&reference));
            // Both are kept: the first in its first entry, this one in its second.
            let (again, _) = recent.resolve(namespace, &reference, text).unwrap();
            assert!(Arc::ptr_eq(&again, &principal));
            let (back, _) = recent.resolve(1, &r, b"ada").unwrap();
            assert!(Arc::ptr_eq(&back, &ada));
        }
    }

    #[test]
    fn a_third_principal_on_the_same_two_entries_replaces_the_second() {
        let recent = RecentPrincipals::new();
        let r = reference(b"a0");
        let (ada, _) = recent.resolve(1, &r, b"ada").unwrap();
        let (bob, _) = recent.resolve(1, &r, b"bob").unwrap();
        let (eve, _) = recent.resolve(1, &r, b"eve").unwrap();
        let shared = |text: &[u8], earlier: &Arc<str>| {
            let (now, _) = recent.resolve(1, &r, text).unwrap();
            Arc::ptr_eq(&now, earlier)
        };
        assert!(shared(b"ada", &ada), "the first entry's stays");
        assert!(shared(b"eve", &eve), "the latest is in the second entry");
        assert!(!shared(b"bob", &bob), "replaced");
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_and_a_reference_that_is_not_hex_is_not_remembered() {
        let recent = RecentPrincipals::new();
        assert!(recent.resolve(1, &reference(b"a0"), b"\xff").is_none());
        let upper = reference(b"A0");
        let (principal, index_ref) = recent.resolve(1, &upper, b"ada").unwrap();
        assert_eq!(&*principal, "ada");
        assert_eq!(index_ref.get(1, &principal), None);
        let (again, _) = recent.resolve(1, &upper, b"ada").unwrap();
        assert!(!Arc::ptr_eq(&principal, &again), "not kept");
    }

    #[test]
    fn each_of_the_two_entries_takes_every_value_of_its_ten_bits() {
        let digits = b"0123456789abcdef";
        let (mut firsts, mut seconds) = (HashSet::new(), HashSet::new());
        for &x in digits {
            for &y in digits {
                // The third digit's high two bits end the first ten, its low two begin the
                // second ten.
                for (high, low) in [b'0', b'4', b'8', b'c'].into_iter().zip(*b"0123") {
                    let [first, _] = entries_of(&reference(&[x, y, high, b'0', b'0']));
                    let [_, second] = entries_of(&reference(&[b'0', b'0', low, x, y]));
                    firsts.insert(first);
                    seconds.insert(second);
                }
            }
        }
        assert_eq!(firsts.len(), ENTRIES);
        assert_eq!(seconds.len(), ENTRIES);
        assert!(entries_of(&[0xff; REF_LEN]).iter().all(|&at| at < ENTRIES));
    }

    #[test]
    fn a_held_entry_is_a_miss_not_a_wait() {
        let recent = RecentPrincipals::new();
        let r = reference(b"a0");
        let (ada, _) = recent.resolve(1, &r, b"ada").unwrap();
        let [first, _] = entries_of(&r);
        let held = recent.entries[first].lock().unwrap();
        let (again, index_ref) = recent.resolve(1, &r, b"ada").unwrap();
        assert!(!Arc::ptr_eq(&ada, &again));
        assert_eq!(index_ref.get(1, &again), Some(&r));
        // What was built then went to the second entry, and is found there.
        let (third, _) = recent.resolve(1, &r, b"ada").unwrap();
        assert!(Arc::ptr_eq(&third, &again));
        drop(held);
    }
}
