//! Fixed-size keys for the in-memory tables.
//!
//! A default id (64 lowercase hex characters) is its 32 random bytes, decoded without hashing;
//! any other (custom) id is hashed with SHA-256 under a domain prefix. Different ids therefore
//! get different keys: two decoded ids differ, and a hashed id equal to a decoded one would be
//! a SHA-256 preimage.

use sha2::{Digest, Sha256};

use crate::id::SessionId;

const CUSTOM_PREFIX: &[u8] = b"typed-sessions custom id\0";

/// 32 bytes that stand for one session id in memory.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key(pub(crate) [u8; 32]);

impl Key {
    pub(crate) fn of(id: &SessionId) -> Key {
        let text = id.as_str().as_bytes();
        let mut key = [0u8; 32];
        let canonical = text.len() == 64
            && text
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        if canonical && hex::decode_to_slice(text, &mut key).is_ok() {
            return Key(key);
        }
        let mut hasher = Sha256::new();
        hasher.update(CUSTOM_PREFIX);
        hasher.update(text);
        key.copy_from_slice(&hasher.finalize());
        Key(key)
    }

    /// A well-mixed 64-bit value of the key, for picking a shard.
    pub(crate) fn spread(&self) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = self.0;
        u64::from_le_bytes([a, b, c, d, e, f, g, h]).wrapping_mul(0x9E37_79B9_7F4A_7C15)
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

    #[test]
    fn default_ids_decode_and_custom_ids_hash() {
        let id = SessionId::parse(&"ab".repeat(32)).unwrap();
        assert_eq!(Key::of(&id).0, [0xab; 32]);
        // A custom id that is 64 uppercase hex must not share the key of its lowercase twin.
        let upper = SessionId::parse_custom(&"AB".repeat(32)).unwrap();
        assert_ne!(Key::of(&upper), Key::of(&id));
        let custom = SessionId::parse_custom("user-42").unwrap();
        assert_eq!(Key::of(&custom), Key::of(&custom.clone()));
        assert_ne!(
            Key::of(&custom),
            Key::of(&SessionId::parse_custom("user-43").unwrap())
        );
        assert_eq!(format!("{:?}", Key::of(&id)), "Key(..)");
    }
}
