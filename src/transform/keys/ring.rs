//! [`KeyRing`]: the current key and the previous ones, for rotation.

use std::fmt;

use super::{Key, KeyError, KeyId};

/// The keys of a [`Sign`](crate::Sign) or [`Encrypt`](crate::Encrypt): one current key, which
/// protects every value written, and previous keys, which only open values written before a
/// rotation.
///
/// To rotate: deploy `[new, old]` (new values use `new`, old ones still read); once every
/// value written with `old` has expired (the session's ttl), deploy `[new]`. Dropping a key
/// at once logs out everyone whose value it wrote: that is the emergency revocation.
///
/// ```
/// use typed_sessions::transform::{Key, KeyError, KeyRing, Sign};
///
/// let old = Key::generate();
/// let new = Key::generate();
/// let ring = KeyRing::new(new.clone()).with_previous(old.clone())?;
/// assert_eq!(ring.current().id(), new.id());
/// assert!(ring.get(old.id()).is_some());
///
/// // The same key twice is refused.
/// assert!(matches!(KeyRing::new(new.clone()).with_previous(new.clone()), Err(KeyError::DuplicateKeyId { .. })));
///
/// // One key is a ring of one.
/// let sign = Sign::new(new);
/// # Ok::<(), KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRing {
    /// Writes every new value.
    current: Key,
    /// Only read.
    previous: Vec<Key>,
}

impl KeyRing {
    /// A ring of one key.
    pub fn new(current: Key) -> KeyRing {
        KeyRing {
            current,
            previous: Vec::new(),
        }
    }

    /// A ring with a current key and previous keys (most recent first, though the order of
    /// previous keys does not matter). Fails if two keys have the same id.
    pub fn from_keys(
        current: Key,
        previous: impl IntoIterator<Item = Key>,
    ) -> Result<KeyRing, KeyError> {
        previous
            .into_iter()
            .try_fold(KeyRing::new(current), KeyRing::with_previous)
    }

    /// Adds a previous key (open only). Fails if its id is already in the ring.
    pub fn with_previous(mut self, key: Key) -> Result<KeyRing, KeyError> {
        if self.get(key.id()).is_some() {
            return Err(KeyError::DuplicateKeyId { id: key.id() });
        }
        self.previous.push(key);
        Ok(self)
    }

    /// The key that protects new values.
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// The previous keys, in the order they were added.
    pub fn previous(&self) -> &[Key] {
        &self.previous
    }

    /// Every key: the current one first.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }

    /// The key with id `id`, if the ring holds it.
    pub fn get(&self, id: KeyId) -> Option<&Key> {
        self.keys().find(|k| k.id() == id)
    }
}

impl From<Key> for KeyRing {
    fn from(key: Key) -> KeyRing {
        KeyRing::new(key)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current.id())
            .field(
                "previous",
                &self.previous.iter().map(Key::id).collect::<Vec<_>>(),
            )
            .finish()
    }
}
