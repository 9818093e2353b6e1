//! Session ids: generated from a CSPRNG seeded by the OS, validated before they reach any
//! storage, and bound to the session they belong to.
//!
//! A default id is 32 random bytes written as 64 lowercase hex characters, the format Ktor 3.5
//! uses, so ids can be shared with a Ktor service. Ids are untrusted input: whatever the client
//! sends goes through [`SessionId::parse`] before a storage sees it. An application may plug in
//! its own generator ([`SessionBuilder::identity`](crate::config::SessionBuilder::identity));
//! its ids must pass the same kind of check (see [`SessionId::parse_custom`]).
//!
//! A storage never files a record under the bare id: it gets a [`SessionKey`], the id together
//! with the [`Namespace`] of its session, so an id issued for one session finds nothing when it
//! is presented as another session's id.

mod key;
mod request;

use std::fmt;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

pub use key::{Namespace, SessionKey};
pub use request::RequestInfo;
pub(crate) use request::{IdGenerator, IdentityFn};

/// Length of a default session id in characters.
pub const DEFAULT_ID_LEN: usize = 64;

/// Longest id accepted from a custom generator.
pub const MAX_CUSTOM_ID_LEN: usize = 128;

/// A validated session id.
///
/// Holds only characters from `[A-Za-z0-9_-]` (and exactly 64 lowercase hex characters for
/// generated ids), so it is safe as a file name, an SQL parameter or a Redis key suffix.
/// `Debug` shows only a short hash prefix: ids are secrets and never appear in logs.
///
/// ```
/// use typed_sessions::SessionId;
/// let id = SessionId::generate();
/// assert_eq!(id.as_str().len(), 64);
/// assert!(SessionId::parse(id.as_str()).is_some());
/// assert!(SessionId::parse("../../etc/passwd").is_none());
/// assert!(!format!("{id:?}").contains(id.as_str()));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(Box<str>);

impl SessionId {
    /// A new id: 32 random bytes, as 64 lowercase hex characters.
    ///
    /// The bytes come from this thread's ChaCha12 generator, seeded from the operating system,
    /// reseeded regularly and after a `fork` (see `SECURITY.md`, "Randomness").
    ///
    /// # Panics
    ///
    /// Only if the operating system has no usable random source, in which case no session can be
    /// made safely at all.
    pub fn generate() -> SessionId {
        SessionId::generate_with_prefix(None)
    }

    /// A new id as [`generate`](Self::generate) makes, whose first characters are `prefix` (at
    /// most 16 lowercase hex characters, which some storages use to keep one user's sessions
    /// together; anything else is ignored). The rest stays random: at least 192 bits.
    pub(crate) fn generate_with_prefix(prefix: Option<&str>) -> SessionId {
        let prefix = prefix
            .filter(|p| {
                p.len() <= 16
                    && p.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
            .unwrap_or("");
        let mut bytes = [0u8; DEFAULT_ID_LEN / 2];
        crate::random::fill(&mut bytes);
        let mut text = String::with_capacity(DEFAULT_ID_LEN);
        crate::codec::hex::push_lower(&mut text, &bytes);
        text.replace_range(..prefix.len(), prefix);
        SessionId(text.into_boxed_str())
    }

    /// Parses a default-format id: exactly 64 lowercase hex characters. Anything else is `None`.
    pub fn parse(text: &str) -> Option<SessionId> {
        // Branch-free over the whole id, so the check runs as a few vector instructions.
        let ok = text.len() == DEFAULT_ID_LEN
            && text.bytes().fold(true, |ok, b| {
                ok & ((b.wrapping_sub(b'0') < 10) | (b.wrapping_sub(b'a') < 6))
            });
        ok.then(|| SessionId(text.into()))
    }

    /// Parses an id made by a custom generator: 1 to 128 characters from `[A-Za-z0-9_-]`.
    ///
    /// This keeps every id safe for every storage (no path separators, dots, quotes, spaces or
    /// control characters), whatever the generator produces.
    pub fn parse_custom(text: &str) -> Option<SessionId> {
        let ok = !text.is_empty()
            && text.len() <= MAX_CUSTOM_ID_LEN
            && text.bytes().fold(true, |ok, b| {
                ok & ((b.wrapping_sub(b'0') < 10)
                    | ((b | 0x20).wrapping_sub(b'a') < 26)
                    | (b == b'_')
                    | (b == b'-'))
            });
        ok.then(|| SessionId(text.into()))
    }

    /// The id as text (a secret: do not log it).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short tag for logs: the first 8 hex characters of a keyed hash of the id. The key is
    /// random and lives only in this process, so nobody can compute the tag of a known id, or
    /// match tags across processes.
    pub fn log_tag(&self) -> LogTag {
        let mut hasher = LOG_TAG_KEY.clone();
        hasher.update(self.0.as_bytes());
        let digest = hasher.finalize();
        let mut tag = [0u8; 4];
        for (t, d) in tag.iter_mut().zip(digest.iter()) {
            *t = *d;
        }
        LogTag(tag)
    }
}

/// SHA-256 after one block of random key bytes: the keyed hash behind [`SessionId::log_tag`].
/// Tags are 32-bit labels that are never verified, so the key only has to keep them
/// unpredictable.
static LOG_TAG_KEY: LazyLock<Sha256> = LazyLock::new(|| {
    let mut key = [0u8; 64];
    crate::random::fill_from_os(&mut key);
    let mut hasher = Sha256::new();
    hasher.update(key);
    zeroize::Zeroize::zeroize(&mut key);
    hasher
});

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.log_tag())
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A printable short hash of a session id, safe to log (see [`SessionId::log_tag`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LogTag([u8; 4]);

impl fmt::Display for LogTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::codec::hex::push_lower(f, &self.0);
        Ok(())
    }
}

impl fmt::Debug for LogTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_are_64_lowercase_hex_and_distinct() {
        let ids: HashSet<String> = (0..1000)
            .map(|_| SessionId::generate().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert!(SessionId::parse(id).is_some(), "{id}");
        }
        // Monobit: over 1000 ids x 256 bits the share of ones is close to one half.
        let ones: u32 = ids
            .iter()
            .flat_map(|id| hex::decode(id).unwrap())
            .map(u8::count_ones)
            .sum();
        let share = f64::from(ones) / (1000.0 * 256.0);
        assert!((0.49..0.51).contains(&share), "share of one bits {share}");
    }

    #[test]
    fn log_tags_are_keyed() {
        let id = SessionId::parse_custom("abc").unwrap();
        // SHA-256("abc") starts with ba7816bf: a plain hash would give that tag.
        assert_ne!(id.log_tag().to_string(), "ba7816bf");
        assert_eq!(id.log_tag(), id.clone().log_tag());
        assert_ne!(
            id.log_tag(),
            SessionId::parse_custom("abd").unwrap().log_tag()
        );
    }

    #[test]
    fn hostile_ids_are_refused() {
        let long = "a".repeat(10_000);
        let upper = "A".repeat(64);
        for bad in [
            "",
            "..",
            "../../etc/passwd",
            "a/b",
            "a\\b",
            "a\0b",
            long.as_str(),
            "ünïcödé",
            upper.as_str(),
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad:?}");
        }
        for bad in [
            "",
            "..",
            "a/b",
            "a\\b",
            "a\0b",
            "a b",
            "ü",
            long.as_str(),
            "a.b",
        ] {
            assert!(SessionId::parse_custom(bad).is_none(), "{bad:?}");
        }
        assert!(SessionId::parse_custom("custom-1000-TestB").is_some());
        assert!(SessionId::parse_custom("777").is_some());
    }

    #[test]
    fn every_byte_is_judged_like_the_documented_alphabets() {
        let base = "0123456789abcdef".repeat(4);
        for b in 0..=127u8 {
            for at in [0, 31, 63] {
                let mut bytes = base.clone().into_bytes();
                bytes[at] = b;
                let text = String::from_utf8(bytes).unwrap();
                let hex = b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
                assert_eq!(
                    SessionId::parse(&text).is_some(),
                    hex,
                    "byte {b:#04x} at {at}"
                );
                let custom = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
                assert_eq!(
                    SessionId::parse_custom(&text).is_some(),
                    custom,
                    "byte {b:#04x} at {at}"
                );
            }
        }
    }

    #[test]
    fn debug_and_log_tag_hide_the_id() {
        let id = SessionId::generate();
        let shown = format!("{id:?} {}", id.log_tag());
        assert!(!shown.contains(&id.as_str()[..8]));
        assert_eq!(id.log_tag().to_string().len(), 8);
    }
}
