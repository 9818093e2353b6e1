//! Fixed-size keys for the in-memory tables.
//!
//! A key is the namespace's 64-bit [tag](crate::id::Namespace::tag) and 32 bytes of the id: a
//! default id (64 lowercase hex characters) is its 32 random bytes, decoded without hashing;
//! any other (custom) id is hashed with SHA-256 under a domain prefix. Different session keys
//! therefore get different table keys: two decoded ids differ, a hashed id equal to a decoded
//! one would be a SHA-256 preimage, and two namespaces differ in their tags.

use std::hash::{BuildHasher, Hash, Hasher};

use sha2::{Digest, Sha256};

use crate::id::SessionKey;

const CUSTOM_PREFIX: &[u8] = b"typed-sessions custom id\0";

/// 40 bytes that stand for one session key in memory: the namespace's tag and the id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    tag: u64,
    id: [u8; 32],
}

impl Key {
    pub(crate) fn of(key: SessionKey<'_>) -> Key {
        let tag = key.namespace().tag();
        let text = key.id().as_str().as_bytes();
        if let Some(id) = decode_canonical(text) {
            return Key { tag, id };
        }
        let mut hasher = Sha256::new();
        hasher.update(CUSTOM_PREFIX);
        hasher.update(text);
        Key {
            tag,
            id: hasher.finalize().into(),
        }
    }

    /// A key from its parts (for the table's tests).
    #[cfg(test)]
    pub(crate) fn from_parts(tag: u64, id: [u8; 32]) -> Key {
        Key { tag, id }
    }

    /// The key of a session known by its [digest](SessionKey::digest) (the SHA-256 of its
    /// namespace and id), for a table filled from a backend that names records by their digest
    /// (the Redis storage's client-side cache). Never equal to a key made by [`of`](Self::of)
    /// for the same session: keep one kind of key per table.
    #[cfg(feature = "redis")]
    pub(crate) fn of_digest(digest: [u8; 32]) -> Key {
        Key { tag: 0, id: digest }
    }

    /// A well-mixed 64-bit value of the key, for picking a shard.
    pub(crate) fn spread(&self) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = self.id;
        (u64::from_le_bytes([a, b, c, d, e, f, g, h]) ^ self.tag)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.tag);
        state.write(&self.id);
    }
}

/// The 32 bytes of a default id (exactly 64 lowercase hex characters), decoded branch-free.
fn decode_canonical(text: &[u8]) -> Option<[u8; 32]> {
    let mut id = [0u8; 32];
    crate::codec::hex::decode_lower_into(text, &mut id).then_some(id)
}

/// Hashes [`Key`]s for the tables: a seeded xor-rotate-multiply over the key's four words and
/// splitmix64's finalizer.
///
/// Keys are not attacker-chosen where it matters: every stored key is a server-minted random id
/// or a SHA-256 output, so entries spread evenly whatever the hash, and a client can only make
/// lookups (whose cost a hash cannot make worse than the table's existing layout). A keyed
/// SipHash would add ~250 instructions to every request for no gain. The per-table random seed
/// still keeps the layout unpredictable.
#[derive(Clone, Copy)]
pub(crate) struct KeyHasher {
    seed: u64,
}

impl KeyHasher {
    pub(crate) fn new() -> KeyHasher {
        let mut seed = [0u8; 8];
        crate::random::fill(&mut seed);
        KeyHasher {
            seed: u64::from_le_bytes(seed),
        }
    }
}

impl BuildHasher for KeyHasher {
    type Hasher = WordHasher;
    fn build_hasher(&self) -> WordHasher {
        WordHasher(self.seed)
    }
}

/// The hasher [`KeyHasher`] builds.
pub(crate) struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write_u64(&mut self, word: u64) {
        self.mix(word);
    }

    fn write(&mut self, bytes: &[u8]) {
        let (words, rest) = bytes.as_chunks::<8>();
        for word in words {
            self.mix(u64::from_le_bytes(*word));
        }
        for byte in rest {
            self.mix(u64::from(*byte));
        }
    }

    /// splitmix64's finalizer: every input bit reaches every output bit.
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl WordHasher {
    /// A bijection of the word for a given state (xor, rotate, odd multiply), so keys that
    /// differ in one word never collide before the finalizer.
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .rotate_left(23)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::id::{Namespace, SessionId};

    #[test]
    fn default_ids_decode_and_custom_ids_hash() {
        let ns = Namespace::new("s");
        let key = |id: &SessionId| Key::of(ns.key(id));
        let id = SessionId::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(key(&id).id, [0xab; 32]);
        // A custom id that is 64 uppercase hex must not share the key of its lowercase twin.
        let upper = SessionId::parse_custom(&"AB".repeat(32)).unwrap();
        assert_ne!(key(&upper), key(&id));
        let custom = SessionId::parse_custom("user-42").unwrap();
        assert_eq!(key(&custom), key(&custom.clone()));
        assert_ne!(
            key(&custom),
            key(&SessionId::parse_custom("user-43").unwrap())
        );
        assert_eq!(format!("{:?}", key(&id)), "Key(..)");
    }

    #[test]
    fn one_id_in_two_namespaces_is_two_keys() {
        let id = SessionId::generate();
        let (a, b) = (Namespace::new("a"), Namespace::new("b"));
        assert_ne!(Key::of(a.key(&id)), Key::of(b.key(&id)));
        assert_eq!(Key::of(a.key(&id)).id, Key::of(b.key(&id)).id);
    }

    #[test]
    fn the_one_pass_decode_accepts_exactly_lowercase_hex() {
        let id = SessionId::generate();
        let mut expected = [0u8; 32];
        hex::decode_to_slice(id.as_str(), &mut expected).unwrap();
        assert_eq!(decode_canonical(id.as_str().as_bytes()), Some(expected));
        for bad in [
            "g".repeat(64),
            "A".repeat(64),
            "a".repeat(63),
            "a".repeat(65),
            String::new(),
        ] {
            assert_eq!(decode_canonical(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn the_hasher_spreads_sequential_keys() {
        // Custom hex ids may be sequential; their hashes must still differ in the bits
        // hash tables use (top 7 for the tag, low ones for the bucket).
        let hasher = KeyHasher::new();
        let mut tags = std::collections::HashSet::new();
        let mut buckets = std::collections::HashSet::new();
        // 4096 keys: with a random hash key, a tag value is missed with probability
        // 128 * (127/128)^4096 < 1e-12, and fewer than 950 of 1024 buckets used is as unlikely.
        for n in 0u32..4096 {
            let mut bytes = [0u8; 32];
            bytes[28..].copy_from_slice(&n.to_be_bytes());
            let h = hasher.hash_one(Key { tag: 7, id: bytes });
            tags.insert(h >> 57);
            buckets.insert(h & 1023);
        }
        assert_eq!(tags.len(), 128);
        assert!(buckets.len() > 950, "{}", buckets.len());
    }
}
