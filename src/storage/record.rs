//! What a storage keeps for one session: a [`Record`], its [`Metadata`] and its [`Revision`].

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// One stored session: the serialized session, its times, its revision and its metadata.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::storage::Record;
///
/// let now = SystemTime::now();
/// let record = Record::new(r#"{"user":"ada"}"#, now, now + Duration::from_secs(60))
///     .with_principal("ada");
/// assert!(!record.is_expired(now));
/// assert!(record.is_expired(now + Duration::from_secs(60)));
/// assert_eq!(record.meta.principal.as_deref(), Some("ada"));
/// // `Debug` never shows the session's data.
/// assert!(!format!("{record:?}").contains("ada\"}"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record {
    /// The serialized session: JSON text by default, any bytes a binary serializer writes.
    pub data: Vec<u8>,
    /// When the session was created; absolute lifetimes count from here.
    pub created_at: SystemTime,
    /// When the record stops being valid. A storage treats it as absent from then on.
    pub expires_at: SystemTime,
    /// Which write this content comes from: every write stores a new revision, and
    /// [`update_if`](super::SessionStorage::update_if) replaces a record only if its revision is
    /// still the one the caller read.
    pub revision: Revision,
    /// What is known about the session besides its data.
    pub meta: Metadata,
}

/// What a storage keeps about a session besides its data: for account pages ("where am I
/// logged in"), the principal index, lifetimes chosen per session, and versioned session types.
///
/// The texts are shared (`Arc<str>`), so the copies a request makes of a logged-in session's
/// record (the one a storage hands out, the one written back) copy no string.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// The user the session belongs to. Storages that keep a principal index file the session
    /// under it, in the same atomic operation as the record.
    pub principal: Option<Arc<str>>,
    /// When the session was last written (created, changed or renewed): at most as fresh as the
    /// renewal throttle allows, so a busy session is not rewritten on every request.
    pub last_seen: SystemTime,
    /// The end of the session's absolute lifetime: `expires_at` never passes it, however often
    /// the session is renewed. Principal indexes expire their entries by it.
    pub lifetime_ends_at: SystemTime,
    /// The version of the session's type, for types that declare one.
    pub version: Option<u32>,
    /// A short description of the device: browser and operating system family, never the raw
    /// `User-Agent`.
    pub device: Option<Arc<str>>,
    /// The client's address truncated to its network, only when the application turns it on.
    pub address: Option<Arc<str>>,
    /// The name of the principal's index that the storage read with the record, so that writing
    /// the record back does not derive it again.
    pub(crate) index_ref: IndexRef,
}

/// The 64-character name under which a storage files a principal's index in one namespace (the
/// Redis storage: the hex SHA-256 that its record header carries), remembered from a read.
///
/// It holds for the principal it was read with only, the same allocation: metadata given
/// another principal (or the same name in a new allocation) gets no stale name, only a miss.
/// It is a cache, so it takes no part in equality and is never shown.
#[derive(Clone, Default)]
pub(crate) struct IndexRef(Option<Arc<IndexRefOf>>);

struct IndexRefOf {
    /// The [tag](crate::id::Namespace::tag) of the namespace it was derived in.
    namespace: u64,
    principal: Arc<str>,
    name: [u8; 64],
}

impl IndexRef {
    /// `name`, the index name of `principal` in the namespace tagged `namespace`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn new(namespace: u64, principal: &Arc<str>, name: [u8; 64]) -> IndexRef {
        IndexRef(Some(Arc::new(IndexRefOf {
            namespace,
            principal: Arc::clone(principal),
            name,
        })))
    }

    /// The index name remembered for `principal` in the namespace tagged `namespace`, if any.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn get(&self, namespace: u64, principal: &Arc<str>) -> Option<&[u8; 64]> {
        let of = self.0.as_deref()?;
        (of.namespace == namespace && Arc::ptr_eq(&of.principal, principal)).then_some(&of.name)
    }
}

impl PartialEq for IndexRef {
    fn eq(&self, _: &IndexRef) -> bool {
        true
    }
}

impl Eq for IndexRef {}

/// The revision of a record: a random 64-bit tag written with every write, so a conditional
/// update can tell whether the record changed since it was read (a counter could repeat after
/// an unconditional write; a random tag does not, in practice).
///
/// ```
/// use typed_sessions::storage::Revision;
/// let a = Revision::new();
/// assert_ne!(a, Revision::new());
/// assert_eq!(Revision::from_u64(a.as_u64()), a);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Revision(u64);

impl Revision {
    /// A new random revision.
    pub fn new() -> Revision {
        let mut bytes = [0u8; 8];
        crate::random::fill(&mut bytes);
        Revision(u64::from_le_bytes(bytes))
    }

    /// A revision read back from a storage.
    pub const fn from_u64(value: u64) -> Revision {
        Revision(value)
    }

    /// The revision as a number, for storing it.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl Default for Revision {
    fn default() -> Self {
        Revision::new()
    }
}

impl fmt::Debug for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Revision({:016x})", self.0)
    }
}

impl Record {
    /// A record holding `data`, created at `created_at`, valid until `expires_at`, with a new
    /// revision and no metadata beyond its times (last seen at creation; an absolute lifetime
    /// ending at `expires_at`).
    pub fn new(data: impl Into<Vec<u8>>, created_at: SystemTime, expires_at: SystemTime) -> Record {
        Record {
            data: data.into(),
            created_at,
            expires_at,
            revision: Revision::new(),
            meta: Metadata::new(created_at, expires_at),
        }
    }

    /// The same record filed under `principal`.
    pub fn with_principal(mut self, principal: impl Into<Arc<str>>) -> Record {
        self.meta.principal = Some(principal.into());
        self
    }

    /// The same record with other metadata.
    pub fn with_meta(mut self, meta: Metadata) -> Record {
        self.meta = meta;
        self
    }

    /// The same record with another revision.
    pub fn with_revision(mut self, revision: Revision) -> Record {
        self.revision = revision;
        self
    }

    /// Whether the record has expired at `now` (`expires_at <= now`).
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at <= now
    }
}

impl Metadata {
    /// Metadata of a session written at `last_seen` whose absolute lifetime ends at
    /// `lifetime_ends_at`, with nothing else known.
    pub fn new(last_seen: SystemTime, lifetime_ends_at: SystemTime) -> Metadata {
        Metadata {
            principal: None,
            last_seen,
            lifetime_ends_at,
            version: None,
            device: None,
            address: None,
            index_ref: IndexRef::default(),
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The data is the session itself: only its size is shown.
        f.debug_struct("Record")
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revision", &self.revision)
            .field("meta", &self.meta)
            .finish()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("principal", &self.principal.as_ref().map(|_| "<set>"))
            .field("last_seen", &self.last_seen)
            .field("lifetime_ends_at", &self.lifetime_ends_at)
            .field("version", &self.version)
            .field("device", &self.device)
            .field("address", &self.address.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Whether [`SessionStorage::create`](super::SessionStorage::create) inserted the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The id was free (or held only an expired record) and now holds the record.
    Inserted,
    /// The id was already taken by a live session; nothing was written.
    Collision,
}

/// What a conditional update ([`update_if`](super::SessionStorage::update_if)) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    /// The record still had the expected revision and now holds the new one.
    Written,
    /// The record changed since it was read (another revision); nothing was written.
    Conflict,
    /// No live record has the id (deleted, expired or never created); nothing was written.
    Gone,
}
