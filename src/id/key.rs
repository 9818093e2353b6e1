//! Where a storage files a session: the id bound to the session it belongs to.

use std::fmt;

use sha2::{Digest, Sha256};

use super::{DEFAULT_ID_LEN, SessionId};

/// Hashed in front of every record key, so the keys of this crate never collide with another
/// use of SHA-256 over the same bytes.
const RECORD_KEY_DOMAIN: &[u8] = b"typed-sessions record key v1\0";
/// Hashed in front of a name for its in-memory [`tag`](Namespace::tag).
const TAG_DOMAIN: &[u8] = b"typed-sessions namespace tag v1\0";

/// The session a storage record belongs to: the name the session is registered under (its
/// cookie or header name), prepared once.
///
/// Every storage operation gets a [`SessionKey`], an id within a namespace. Records of
/// different sessions never meet, even in one shared storage: an id issued for the session
/// `cart`, presented as the id of the session `admin`, finds nothing.
///
/// ```
/// use typed_sessions::storage::{Namespace, SessionId};
///
/// let cart = Namespace::new("cart");
/// let admin = Namespace::new("admin");
/// let id = SessionId::generate();
/// assert_ne!(cart.key(&id).storage_key(), admin.key(&id).storage_key());
/// assert_eq!(cart.key(&id).id(), &id);
/// ```
#[derive(Clone)]
pub struct Namespace {
    name: Box<str>,
    /// SHA-256 after `RECORD_KEY_DOMAIN ‖ name ‖ 0`: each key only hashes its id.
    prefix: Sha256,
    tag: u64,
}

impl Namespace {
    /// The namespace of the session registered under `name`.
    pub fn new(name: &str) -> Namespace {
        let mut prefix = Sha256::new();
        prefix.update(RECORD_KEY_DOMAIN);
        prefix.update(name.as_bytes());
        prefix.update([0]);
        let mut tag = Sha256::new();
        tag.update(TAG_DOMAIN);
        tag.update(name.as_bytes());
        let digest = tag.finalize();
        let mut first = [0u8; 8];
        for (t, d) in first.iter_mut().zip(digest.iter()) {
            *t = *d;
        }
        Namespace {
            name: name.into(),
            prefix,
            tag: u64::from_le_bytes(first),
        }
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key of session `id` in this namespace.
    pub fn key<'a>(&'a self, id: &'a SessionId) -> SessionKey<'a> {
        SessionKey {
            namespace: self,
            id,
        }
    }

    /// 64 bits that tell namespaces apart, for in-memory tables that keep ids as their raw
    /// bytes (a keyed table entry is the pair of tag and id).
    pub fn tag(&self) -> u64 {
        self.tag
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Namespace").field(&self.name).finish()
    }
}

impl PartialEq for Namespace {
    fn eq(&self, other: &Namespace) -> bool {
        self.name == other.name
    }
}

impl Eq for Namespace {}

/// A session id within its [`Namespace`]: what every storage operation is given.
///
/// Storages that keep records under a string (files, Redis keys, SQL rows) use
/// [`storage_key`](Self::storage_key), the SHA-256 of the namespace and the id in hex, so a
/// dump of the storage reveals no live id and nothing the client sent becomes part of a path
/// or a query. `Debug` shows the namespace and the id's [log tag](SessionId::log_tag) only.
#[derive(Clone, Copy)]
pub struct SessionKey<'a> {
    namespace: &'a Namespace,
    id: &'a SessionId,
}

impl<'a> SessionKey<'a> {
    /// The session id (a secret: never log it).
    pub fn id(&self) -> &'a SessionId {
        self.id
    }

    /// The session it belongs to.
    pub fn namespace(&self) -> &'a Namespace {
        self.namespace
    }

    /// SHA-256 of the namespace and the id: 32 bytes that stand for this key and no other.
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = self.namespace.prefix.clone();
        hasher.update(self.id.as_str().as_bytes());
        hasher.finalize().into()
    }

    /// [`digest`](Self::digest) as 64 lowercase hex characters.
    ///
    /// ```
    /// use typed_sessions::storage::{Namespace, SessionId};
    /// let id = SessionId::generate();
    /// let key = Namespace::new("user_session").key(&id).storage_key();
    /// assert_eq!(key.len(), 64);
    /// assert!(!key.contains(id.as_str()));
    /// ```
    pub fn storage_key(&self) -> String {
        let mut key = String::with_capacity(DEFAULT_ID_LEN);
        self.push_storage_key(&mut key);
        key
    }

    /// Appends [`storage_key`](Self::storage_key) to `out`, so a storage can build a prefixed
    /// key in one allocation.
    pub fn push_storage_key(&self, out: &mut String) {
        crate::codec::hex::push_lower(out, &self.digest());
    }
}

impl fmt::Debug for SessionKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("namespace", &self.namespace.name)
            .field("id", &self.id.log_tag())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_storage_key_hashes_the_domain_the_name_and_the_id() {
        let id = SessionId::parse_custom("abc").unwrap();
        let namespace = Namespace::new("s");
        let key = namespace.key(&id);
        let mut expected = Sha256::new();
        expected.update(b"typed-sessions record key v1\0s\0abc");
        assert_eq!(key.digest(), <[u8; 32]>::from(expected.finalize()));
        assert_eq!(key.storage_key(), hex::encode(key.digest()));
        let mut prefixed = String::from("p:");
        key.push_storage_key(&mut prefixed);
        assert_eq!(prefixed, format!("p:{}", key.storage_key()));
    }

    #[test]
    fn namespaces_separate_equal_ids() {
        let id = SessionId::generate();
        let (a, b) = (Namespace::new("a"), Namespace::new("b"));
        assert_ne!(a.key(&id).digest(), b.key(&id).digest());
        assert_ne!(a.tag(), b.tag());
        assert_eq!(a.tag(), Namespace::new("a").tag());
        // The separator keeps `ab` + `c` apart from `a` + `bc`.
        let (c, bc) = (
            SessionId::parse_custom("c").unwrap(),
            SessionId::parse_custom("bc").unwrap(),
        );
        assert_ne!(
            Namespace::new("ab").key(&c).digest(),
            Namespace::new("a").key(&bc).digest()
        );
    }

    #[test]
    fn debug_hides_the_id() {
        let id = SessionId::generate();
        let shown = format!("{:?}", Namespace::new("cart").key(&id));
        assert!(shown.contains("cart"));
        assert!(!shown.contains(id.as_str()));
    }
}
