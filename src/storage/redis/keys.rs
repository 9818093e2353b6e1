//! Where the Redis storage keeps things: the key of a record, the key of a principal's index,
//! and which Cluster hash slot each lands in.
//!
//! ```text
//! single node, or a prefix with a hash tag:
//!   record   prefix + hex(SHA-256(namespace, id))
//!   index    prefix + "principal:" + hex(SHA-256(namespace, principal))
//! Cluster, prefix without a hash tag:
//!   record   prefix + "{" + tag + "}" + hex(SHA-256(namespace, id))
//!   index    prefix + "{" + first 4 characters of the principal hash + "}principal:" + hex(...)
//! ```
//!
//! A record's tag is the first four characters of its id when they are lowercase hex (every
//! default id), otherwise the first four characters of its storage key. The sessions layer
//! starts every new id of a principal's session with the principal's four characters
//! ([`SessionStorage::principal_id_prefix`](crate::storage::SessionStorage::principal_id_prefix)),
//! so the records of one principal and its index share one hash slot and one script can write
//! them together.

use sha2::{Digest, Sha256};

use crate::storage::{Metadata, Namespace, SessionKey, StorageError};

/// Hashed in front of every principal, so these hashes never meet another use of SHA-256 over
/// the same bytes.
const PRINCIPAL_DOMAIN: &[u8] = b"typed-sessions redis principal index v1\0";

/// Characters of a Cluster hash tag taken from an id or a principal hash.
pub(super) const TAG_LEN: usize = 4;

/// Length of a storage key (and of a principal hash) in hex.
const HEX_LEN: usize = 64;

/// What an index key holds after its tag.
const INDEX_INFIX: &str = "principal:";

/// A principal within a namespace, as Redis files it: the SHA-256 of a domain, the namespace's
/// name and the principal, in lowercase hex.
///
/// The hash is not keyed: the record values hold the principal in clear text (an account page
/// reads it back), so a secret would hide nothing from whoever can read the database, while
/// every application instance would have to share it and a change of it would orphan every
/// index. The hash keeps names of any length and character out of key names, `MONITOR` and
/// the slow log.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Principal {
    /// Always 64 lowercase hex digits.
    hex: [u8; HEX_LEN],
}

impl Principal {
    /// The principal `principal` of the session registered as `namespace`.
    pub(super) fn of(namespace: &Namespace, principal: &str) -> Principal {
        let name = namespace.name().as_bytes();
        let mut hasher = Sha256::new();
        hasher.update(PRINCIPAL_DOMAIN);
        hasher.update((name.len() as u64).to_be_bytes());
        hasher.update(name);
        hasher.update(principal.as_bytes());
        Principal {
            hex: crate::codec::hex::encode_block(&hasher.finalize().into()),
        }
    }

    /// The principal of `meta` in `namespace`: the reference its record was read with, when
    /// the read remembered one for this very principal (see `record::decode_in`), else
    /// [`of`](Self::of).
    pub(super) fn of_meta(namespace: &Namespace, meta: &Metadata) -> Option<Principal> {
        let principal = meta.principal.as_ref()?;
        Some(match meta.index_ref.get(namespace.tag(), principal) {
            Some(hex) => Principal { hex: *hex },
            None => Principal::of(namespace, principal),
        })
    }

    /// The hash as 64 lowercase hex characters: what a record's header refers to.
    pub(super) fn hex(&self) -> &str {
        std::str::from_utf8(&self.hex).unwrap_or_default()
    }

    /// [`hex`](Self::hex) as bytes.
    pub(super) fn hex_bytes(&self) -> &[u8; HEX_LEN] {
        &self.hex
    }

    /// The hash tag of the principal's index and records in a Cluster: the first four
    /// characters of the hash.
    pub(super) fn tag(&self) -> &str {
        self.hex
            .get(..TAG_LEN)
            .and_then(|tag| std::str::from_utf8(tag).ok())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Principal(..)")
    }
}

/// The key of one record, with the parts the scripts need.
#[derive(Debug, Clone)]
pub(super) struct RecordKey {
    key: String,
    /// Where the hash tag's characters start, if the key has one of its own.
    tag_at: Option<usize>,
}

impl RecordKey {
    /// The Redis key.
    pub(super) fn as_str(&self) -> &str {
        &self.key
    }

    /// The record's storage key in hex: its member in a principal's index (the handle).
    pub(super) fn member(&self) -> &str {
        self.key
            .get(self.key.len().saturating_sub(HEX_LEN)..)
            .unwrap_or_default()
    }

    /// The key's own hash tag, or `""` where the prefix decides the slot.
    pub(super) fn tag(&self) -> &str {
        self.tag_at
            .and_then(|at| self.key.get(at..at + TAG_LEN))
            .unwrap_or_default()
    }
}

/// The key layout of one storage: its prefix, and whether keys carry hash tags of their own.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: Box<str>,
    /// A Cluster whose prefix has no hash tag: every key carries a tag of its own.
    tagged: bool,
}

/// A Cluster prefix holds a `{` but no whole hash tag: Redis would take the tag from wherever
/// the next `}` is, so the slots of the keys could not be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a Redis Cluster key prefix with `{{` must hold a whole hash tag such as `{{sessions}}:` \
     (every session in one slot); leave braces out to spread sessions over the Cluster"
)]
pub struct BraceInPrefix;

impl Keys {
    /// The layout for `prefix` on a single node (`cluster == false`) or a Cluster.
    pub(super) fn new(prefix: &str, cluster: bool) -> Result<Keys, BraceInPrefix> {
        let tagged = cluster && !has_hash_tag(prefix);
        if tagged && prefix.contains('{') {
            return Err(BraceInPrefix);
        }
        Ok(Keys {
            prefix: prefix.into(),
            tagged,
        })
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `"1"` or `"0"`: [`tagged`](Self::tagged) as the scripts take it.
    pub(super) fn tagged_arg(&self) -> &'static str {
        if self.tagged { "1" } else { "0" }
    }

    /// The key of `session`'s record.
    pub(super) fn record(&self, session: SessionKey<'_>) -> RecordKey {
        self.record_of(session, &session.digest())
    }

    /// The key of `session`'s record, whose [digest](SessionKey::digest) the caller has.
    pub(super) fn record_of(&self, session: SessionKey<'_>, digest: &[u8; 32]) -> RecordKey {
        let mut key = String::with_capacity(self.prefix.len() + TAG_LEN + 2 + HEX_LEN);
        key.push_str(&self.prefix);
        if !self.tagged {
            crate::codec::hex::push_lower(&mut key, digest);
            return RecordKey { key, tag_at: None };
        }
        key.push('{');
        let tag_at = key.len();
        match id_tag(session) {
            Some(tag) => key.push_str(tag),
            // The first four hex characters of the digest: its first two bytes.
            None => crate::codec::hex::push_lower(
                &mut key,
                digest.get(..TAG_LEN / 2).unwrap_or_default(),
            ),
        }
        key.push('}');
        crate::codec::hex::push_lower(&mut key, digest);
        RecordKey {
            key,
            tag_at: Some(tag_at),
        }
    }

    /// What the keys of `principal`'s records start with: a member of its index appended
    /// gives the record's key (principal records always carry the principal's tag).
    pub(super) fn records_of(&self, principal: &Principal) -> String {
        let mut key = String::with_capacity(self.prefix.len() + TAG_LEN + 2);
        key.push_str(&self.prefix);
        if self.tagged {
            key.push('{');
            key.push_str(principal.tag());
            key.push('}');
        }
        key
    }

    /// The key of `principal`'s index.
    pub(super) fn index(&self, principal: &Principal) -> String {
        let mut key = self.records_of(principal);
        key.push_str(INDEX_INFIX);
        key.push_str(principal.hex());
        key
    }

    /// The prefix new ids of `principal`'s sessions must start with: its tag in a Cluster that
    /// tags keys, nothing otherwise.
    pub(super) fn id_prefix(&self, namespace: &Namespace, principal: &str) -> Option<String> {
        self.tagged
            .then(|| Principal::of(namespace, principal).tag().to_owned())
    }

    /// Refuses a write that would put `principal`'s record `key` outside the principal's hash
    /// slot (only a Cluster that tags keys has more than one).
    pub(super) fn check_placement(
        &self,
        key: &RecordKey,
        principal: &Principal,
    ) -> Result<(), StorageError> {
        if !self.tagged || key.tag() == principal.tag() {
            return Ok(());
        }
        Err(StorageError::backend(
            "Redis Cluster: the id of a principal's session must start with the principal's \
             id prefix (SessionStorage::principal_id_prefix), so that the session and the \
             principal's index share a hash slot",
        )
        .with_source(MisplacedSession))
    }

    /// The digest a record key of this layout names (its last 64 hex characters decoded), or
    /// `None` for any other key.
    pub(super) fn record_digest(&self, key: &[u8]) -> Option<[u8; 32]> {
        if !self.is_record_key(key) {
            return None;
        }
        let mut digest = [0u8; 32];
        let hex = key.get(key.len().checked_sub(HEX_LEN)?..)?;
        hex::decode_to_slice(hex, &mut digest).ok()?;
        Some(digest)
    }

    /// Whether `key` is a record key of this layout (prefix, tag if any, 64 lowercase hex).
    pub(super) fn is_record_key(&self, key: &[u8]) -> bool {
        let Some(rest) = key.strip_prefix(self.prefix.as_bytes()) else {
            return false;
        };
        let rest = if self.tagged {
            match rest.split_first() {
                Some((b'{', tail)) => match tail.get(TAG_LEN..) {
                    Some([b'}', hash @ ..]) => hash,
                    _ => return false,
                },
                _ => return false,
            }
        } else {
            rest
        };
        rest.len() == HEX_LEN && rest.iter().all(|b| is_lower_hex(*b))
    }
}

/// A write of a principal's session under an id without the principal's prefix, refused in a
/// Redis Cluster that spreads sessions over hash slots: the source of the [`StorageError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session's id does not start with its principal's id prefix")]
pub struct MisplacedSession;

/// The first four characters of `session`'s id, if they are lowercase hex.
fn id_tag<'a>(session: SessionKey<'a>) -> Option<&'a str> {
    session
        .id()
        .as_str()
        .get(..TAG_LEN)
        .filter(|tag| tag.bytes().all(is_lower_hex))
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// Whether every key that starts with `prefix` has the same Cluster hash slot: by Redis's
/// rule, the prefix holds a `{`, then at least one character, then `}`.
pub(super) fn has_hash_tag(prefix: &str) -> bool {
    prefix
        .split_once('{')
        .and_then(|(_, after)| after.find('}'))
        .is_some_and(|close| close > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SessionId;

    #[test]
    fn hash_tags() {
        assert!(has_hash_tag("{sessions}:"));
        assert!(has_hash_tag("app:{s}"));
        assert!(!has_hash_tag("typed-sessions:"));
        assert!(!has_hash_tag("{}:"));
        assert!(!has_hash_tag("{open:"));
        assert!(!has_hash_tag("close}:"));
    }

    #[test]
    fn a_cluster_prefix_with_a_stray_brace_is_refused() {
        assert_eq!(Keys::new("{}:", true).err(), Some(BraceInPrefix));
        assert_eq!(Keys::new("a{b:", true).err(), Some(BraceInPrefix));
        assert!(
            Keys::new("{}:", false).is_ok(),
            "a single node has one slot"
        );
        assert!(!Keys::new("{s}:", true).unwrap().tagged);
        assert!(Keys::new("s:", true).unwrap().tagged);
    }

    #[test]
    fn single_node_keys_are_the_prefix_and_the_storage_key() {
        let keys = Keys::new("p:", false).unwrap();
        let ns = Namespace::new("s");
        let id = SessionId::generate();
        let key = keys.record(ns.key(&id));
        assert_eq!(key.as_str(), format!("p:{}", ns.key(&id).storage_key()));
        assert_eq!(key.member(), ns.key(&id).storage_key());
        assert_eq!(key.tag(), "");
        assert!(keys.is_record_key(key.as_str().as_bytes()));
        assert_eq!(
            keys.record_digest(key.as_str().as_bytes()),
            Some(ns.key(&id).digest())
        );
        let ada = Principal::of(&ns, "ada");
        assert_eq!(keys.record_digest(keys.index(&ada).as_bytes()), None);
        assert_eq!(keys.record_digest(b"p:"), None);
        assert_eq!(keys.index(&ada), format!("p:principal:{}", ada.hex()));
        assert!(!keys.is_record_key(keys.index(&ada).as_bytes()));
        assert_eq!(keys.id_prefix(&ns, "ada"), None);
        assert!(keys.check_placement(&key, &ada).is_ok());
    }

    #[test]
    fn cluster_keys_carry_the_id_tag_and_the_principal_tag() {
        let keys = Keys::new("p:", true).unwrap();
        let ns = Namespace::new("s");
        let ada = Principal::of(&ns, "ada");
        let prefix = keys.id_prefix(&ns, "ada").unwrap();
        assert_eq!(prefix, ada.tag());
        assert_eq!(prefix.len(), 4);
        let generated = SessionId::generate();
        let id = SessionId::parse(&format!("{prefix}{}", &generated.as_str()[4..])).unwrap();
        let key = keys.record(ns.key(&id));
        let hex = ns.key(&id).storage_key();
        assert_eq!(key.as_str(), format!("p:{{{prefix}}}{hex}"));
        assert_eq!((key.tag(), key.member()), (prefix.as_str(), hex.as_str()));
        assert_eq!(
            format!("{}{}", keys.records_of(&ada), key.member()),
            key.as_str()
        );
        assert_eq!(
            keys.index(&ada),
            format!("p:{{{prefix}}}principal:{}", ada.hex())
        );
        assert!(keys.check_placement(&key, &ada).is_ok());
        assert!(keys.is_record_key(key.as_str().as_bytes()));
        assert_eq!(
            keys.record_digest(key.as_str().as_bytes()),
            Some(ns.key(&id).digest())
        );
        assert!(!keys.is_record_key(keys.index(&ada).as_bytes()));
        // Another principal's session may not be filed under this id.
        let bob = Principal::of(&ns, "bob");
        let refused = keys.check_placement(&key, &bob).unwrap_err();
        assert!(
            refused.to_string().contains("principal_id_prefix"),
            "{refused}"
        );
        // A custom id takes its tag from its storage key: its text never shows.
        let custom = SessionId::parse_custom("user-42").unwrap();
        let key = keys.record(ns.key(&custom));
        let hex = ns.key(&custom).storage_key();
        assert_eq!(key.as_str(), format!("p:{{{}}}{hex}", &hex[..4]));
        assert!(!key.as_str().contains("user"));
    }

    #[test]
    fn principals_differ_by_namespace_and_name_and_hide_both() {
        let (a, b) = (Namespace::new("a"), Namespace::new("b"));
        let ada = Principal::of(&a, "ada");
        assert_eq!(ada, Principal::of(&a, "ada"));
        assert_ne!(ada, Principal::of(&b, "ada"));
        assert_ne!(ada, Principal::of(&a, "bob"));
        // The name's length is hashed: "ab" + "c" is not "a" + "bc".
        assert_ne!(
            Principal::of(&Namespace::new("ab"), "c"),
            Principal::of(&Namespace::new("a"), "bc")
        );
        assert_eq!(ada.hex().len(), 64);
        assert!(!ada.hex().contains("ada"));
        assert_eq!(format!("{ada:?}"), "Principal(..)");
    }
}
