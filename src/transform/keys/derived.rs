//! [`DerivedKeys`]: a [`KeyRing`] turned into what one modern format works with, and the lookup
//! by [`KeyId`] that [`Sign`](crate::Sign) and [`Encrypt`](crate::Encrypt) share.

use std::fmt;

use super::{Key, KeyId, KeyRing};
use crate::transform::Unwrapped;
use crate::transform::envelope::Opened;

/// The keys of a ring, each derived for one format (a keyed MAC, a cipher with its key
/// schedule): the current one writes, every one reads.
#[derive(Clone)]
pub(crate) struct DerivedKeys<K> {
    current: (KeyId, K),
    previous: Vec<(KeyId, K)>,
}

impl<K> DerivedKeys<K> {
    /// Derives every key of `ring` with `derive`.
    pub(crate) fn new(ring: &KeyRing, derive: impl Fn(&Key) -> K) -> DerivedKeys<K> {
        let current = ring.current();
        DerivedKeys {
            current: (current.id(), derive(current)),
            previous: ring
                .previous()
                .iter()
                .map(|key| (key.id(), derive(key)))
                .collect(),
        }
    }

    /// The key that writes new values.
    pub(crate) fn current(&self) -> &K {
        &self.current.1
    }

    /// The id of the key that writes new values.
    pub(crate) fn current_id(&self) -> KeyId {
        self.current.0
    }

    /// The key a value names, if the ring holds it.
    pub(crate) fn get(&self, id: KeyId) -> Option<&K> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(key_id, _)| *key_id == id)
            .map(|(_, key)| key)
    }

    /// What a value that opened is to the transformer chain: its payload and expiry, stale if a
    /// previous key protected it (the layer then re-sends it under the current one).
    pub(crate) fn unwrapped(&self, opened: Opened) -> Unwrapped {
        Unwrapped {
            stale_key: opened.key_id != self.current_id(),
            expires_at: opened.expires_at,
            value: opened.payload,
        }
    }

    /// The `Debug` of a transformer holding these keys: its format and the key ids, never key
    /// material.
    pub(crate) fn debug(
        &self,
        transformer: &str,
        format: impl fmt::Debug,
        f: &mut fmt::Formatter<'_>,
    ) -> fmt::Result {
        f.debug_struct(transformer)
            .field("format", &format)
            .field("current", &self.current.0)
            .field(
                "previous",
                &self.previous.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_key_of_the_ring_by_id_and_only_those() {
        let (new, old, other) = (Key::generate(), Key::generate(), Key::generate());
        let ring = KeyRing::from_keys(new.clone(), [old.clone()]).unwrap();
        let keys = DerivedKeys::new(&ring, |key| key.id().to_string());
        assert_eq!(keys.current_id(), new.id());
        assert_eq!(keys.current(), &new.id().to_string());
        assert_eq!(keys.get(old.id()), Some(&old.id().to_string()));
        assert_eq!(keys.get(new.id()), Some(&new.id().to_string()));
        assert_eq!(keys.get(other.id()), None);
    }
}
