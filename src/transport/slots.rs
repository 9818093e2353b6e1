//! [`SlotSet`]: which sessions a scan of the `Cookie` headers still looks for.

/// A set of session slots (indexes into a configuration's sessions). The first 128 live in one
/// word on the stack, so the scan allocates nothing for any realistic configuration; a
/// configuration with more sessions gets more words.
#[derive(Debug, Default)]
pub(crate) struct SlotSet {
    first: u128,
    more: Vec<u128>,
    len: usize,
}

impl SlotSet {
    /// Adds `slot` (a slot already in the set stays once).
    pub(crate) fn insert(&mut self, slot: usize) {
        let (word, bit) = (slot / 128, 1u128 << (slot % 128));
        let bits = match word.checked_sub(1) {
            None => &mut self.first,
            Some(index) => {
                if self.more.len() <= index {
                    self.more.resize(index + 1, 0);
                }
                match self.more.get_mut(index) {
                    Some(bits) => bits,
                    None => return,
                }
            }
        };
        if *bits & bit == 0 {
            *bits |= bit;
            self.len += 1;
        }
    }

    /// Removes `slot` and says whether it was in the set.
    pub(crate) fn remove(&mut self, slot: usize) -> bool {
        let (word, bit) = (slot / 128, 1u128 << (slot % 128));
        let bits = match word.checked_sub(1) {
            None => Some(&mut self.first),
            Some(index) => self.more.get_mut(index),
        };
        match bits {
            Some(bits) if *bits & bit != 0 => {
                *bits &= !bit;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// Whether no slot is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_any_number_of_slots() {
        let mut set = SlotSet::default();
        assert!(set.is_empty());
        for slot in [0, 127, 128, 255, 256, 1000] {
            set.insert(slot);
            set.insert(slot);
        }
        assert!(!set.is_empty());
        for slot in [1, 126, 129, 999, 5000] {
            assert!(!set.remove(slot), "{slot}");
        }
        for slot in [1000, 0, 256, 127, 255] {
            assert!(set.remove(slot), "{slot}");
            assert!(!set.remove(slot), "{slot} twice");
            assert!(!set.is_empty());
        }
        assert!(set.remove(128));
        assert!(set.is_empty());
    }

    #[test]
    fn the_first_128_slots_allocate_nothing() {
        let mut set = SlotSet::default();
        (0..128).for_each(|slot| set.insert(slot));
        assert_eq!(set.more.capacity(), 0);
        set.insert(128);
        assert_eq!(set.more.len(), 1);
    }
}
