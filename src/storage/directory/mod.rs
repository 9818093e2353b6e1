//! Sessions as files in a directory: the embedded storage for production on one machine.
//!
//! # Layout
//!
//! One file per session, `root/<k0k1>/<k>`: `k` is [`SessionKey::storage_key`], the SHA-256 of
//! the session's name and id in hex, and `k0k1` its first two characters (256 fan-out
//! directories, created when first written to). Nothing the client sends ever becomes part of
//! a path, and a listing of the directory does not reveal live ids. Reads never create
//! directories. The principal index lives beside the records in `root/principals/` (see
//! [below](#the-principal-index)).
//!
//! Each file holds one header line of ASCII and the body, any bytes:
//!
//! ```text
//! typed-sessions/2 <created> <expires> <revision> <last seen> <lifetime ends> <version>
//!     <namespace length> <principal length> <device length> <address length> <data length>
//!     <check>\n<namespace><principal><device><address><data>
//! ```
//!
//! on one line, fields separated by single spaces: times in nanoseconds since the Unix epoch
//! (negative before it), the [revision](crate::storage::Revision) in 16 hex characters, the
//! type [version](crate::storage::Metadata::version) or `-`, the byte lengths of the parts of
//! the body (`-` for a principal, device or address that is not set), and `check`, 16 hex
//! characters of a SHA-256 over everything before it, a newline and the body. So a record's
//! data (text or binary), revision and every [`Metadata`](crate::storage::Metadata) field come
//! back exactly as written, with the name of the session it belongs to. Files of the previous
//! format, `typed-sessions/1 <created> <expires> <length> <check>\n<data>`, still load (with
//! the metadata of a record that has none, and a revision derived from their check, stable
//! until the record is written again in the new format). A file that is empty, truncated,
//! altered, has times no `SystemTime` holds, or is otherwise undecodable reads as absent and is
//! removed; it is never an error, nor a panic. Files are created `0600` and directories `0700`.
//!
//! The check is not keyed: it catches corruption (a torn or truncated write, a flipped bit on
//! disk, a file of another version), not an attacker. Anyone who can write to the directory
//! can compute it and so write a valid record with any data and any lifetime, or copy one
//! session's file over another's; keying it would not change that much, since such a writer
//! runs as the server's user (see below) and can read the server's keys too. The protection
//! against tampering is that nobody else can write there, which [`open`](DirectoryStorage::open)
//! checks.
//!
//! # The directory must be private
//!
//! [`open`](DirectoryStorage::open) refuses, with an error that names the problem and the fix
//! (its source is an [`UntrustedDirectory`]), a root or a fan-out directory of the layout that
//! is not owned by the process's effective user or that its group or others can write, and a
//! fan-out directory that is a symbolic link. A root that others can list is accepted with a
//! warning (they see file names; in the Ktor-compatible layout those are the raw ids). Make
//! the directory `0700`, owned by the server's user, in a parent that other users cannot
//! write either (they could rename it away). The path up to the root is followed as
//! configured; below it the storage never follows a symbolic link: session files are opened
//! with `O_NOFOLLOW` (a link in a record's place is an error, never a file elsewhere, and so is
//! anything that is not a regular file), directories are created and walked without following
//! links, and a fan-out directory is fsynced through `O_NOFOLLOW`. The checks run at `open`;
//! a directory made public afterwards is not noticed until the next start.
//!
//! # Durability and atomicity
//!
//! Every write goes into a new temporary file (`.<name>.<random>.tmp`) in the session's own
//! directory, is written whole and `sync_all`ed, and only then gets its final name: by
//! `link(2)` for a create, which fails if the name is taken, so two creators can never both
//! win; by `rename(2)` for an update, which readers observe as the old or the new file, never a
//! mix. Then the directory is fsynced, so the new name survives a power loss. A crash leaves
//! at most a stray temporary file, which the next [`open`](DirectoryStorage::open) and every
//! sweep remove once it is older than a grace period (default one minute, so a second process
//! that is writing right now is not disturbed).
//!
//! Updates, deletes and id changes lock the current file with `flock(2)` and check that the
//! name still points at it before acting, so a delete and an update of one session never
//! interleave: a stale update can never bring back a session that a logout deleted. A
//! [conditional update](super::SessionStorage::update_if) compares the revision under the same
//! lock, so it is atomic also across processes sharing the directory, and a deleted or expired
//! record is never written (deletion wins). It reads the current file, locks that very file
//! and checks that the name still points at it (files are replaced whole, never changed in
//! place), and only then writes its temporary file: a request that lost a race learns it from
//! one read. `flock` orders threads of one process and processes sharing the directory alike
//! (on local file systems; not on NFS). Reads take no lock.
//!
//! Requirements: a Unix system, and a local file system with hard links (ext4, xfs, btrfs,
//! APFS, tmpfs, ...), private to the server's user (see above).
//!
//! Blocking file I/O runs on tokio's blocking pool, never on the runtime's worker threads.
//!
//! # The principal index
//!
//! A record with a [principal](crate::storage::Metadata::principal) is filed under it: an empty
//! file `root/principals/<o0o1>/<o>/<k>`, where `k` is the record's storage key (its
//! [`SessionHandle`](crate::storage::SessionHandle) in hex) and `o` the SHA-256 of the
//! session's name and the principal in hex, so no user name becomes part of a path (a user name
//! can still be confirmed by someone who can list the directory and guesses it). Sessions of
//! one principal in one namespace share a directory; [`sessions_of`](super::SessionStorage::sessions_of)
//! lists it.
//!
//! A directory cannot change two files at once, so the index is kept in an order that makes it
//! never disagree with the records as seen through this API:
//!
//! * A write that files a record under a principal (a create, an id change, an update to
//!   another principal) creates the entry first, locks it with `flock`, fsyncs it, and only
//!   then publishes the record, holding that lock.
//! * Removing an entry takes its lock and checks the record it names: the entry goes only if
//!   the record is gone, unreadable or says another principal (or, in a sweep, has expired, and
//!   then goes with it). A delete, an id change or an update that takes a record away from a
//!   principal drops the entry this way after the record is gone. No entry is ever removed
//!   while a write that needs it is under way.
//! * Lock order: an entry's lock before a record's, never the other way round.
//!
//! So a killed process (or a power failure, when durable) can leave an entry whose record is
//! missing or says otherwise, never a record missing from its principal's index. Every listing
//! checks each entry against its record (same principal, live) and drops stale ones on the way;
//! [`open`](DirectoryStorage::open) and every [sweep](super::SessionStorage::delete_expired) reconcile
//! the whole index (stale entries go, and the entries of expired sessions go with their
//! records), so nothing accumulates. A sweep also files a live record whose entry is missing
//! (possible only with durability off, after a power failure) under its principal again.
//! [`delete_of`](super::SessionStorage::delete_of) ends a session only if the principal's own index
//! holds it and its record says so. Updates that keep the principal do not touch the index.
//!
//! # Costs
//!
//! A read is an `open` and a `read`, plus the hop to the blocking pool; a durable write is two
//! `fsync`s, which dominate on a real disk (`BENCHMARKS.md` has the figures). A login (a
//! write that files a record under a principal) adds the entry: a file, its lock and, durable,
//! two more `fsync`s; a logout adds a read of the record (to learn its principal) and the
//! entry's removal (not fsynced: a removal lost to a power failure is a stale entry, dropped
//! later). [`sessions_of`](super::SessionStorage::sessions_of) is one directory listing and one read
//! per session of the principal; [`delete_all_of`](super::SessionStorage::delete_all_of) adds a delete
//! per session. [`open`](DirectoryStorage::open) and every sweep read the record of every index
//! entry once. Put a [`CacheStorage`](super::CacheStorage) in front to serve repeated reads
//! from memory.
//!
//! Conditional updates of one session are serial, and each durable one waits for its
//! `fsync`s: a session that many requests change at once gets about one conditional update
//! per disk commit, and the rest retry. On a disk whose commits take milliseconds, hundreds of
//! requests racing to change one session can run out of retries (see
//! [`Sessions::modify`](crate::Sessions::modify)); requests for different sessions do not wait
//! for each other.
//!
//! Expired files are removed by [`delete_expired`](super::SessionStorage::delete_expired); run it
//! periodically with [`spawn_sweeper`](super::spawn_sweeper). Reads ignore expired files
//! whether or not a sweep has run.
//!
//! # Ktor-compatible layout
//!
//! [`DirectoryStorage::ktor_compatible`] reads and writes exactly the files of Ktor's
//! `directorySessionStorage(File(path))`: the raw id split into two-character directories,
//! `root/ab/cd/…/xx.dat` (31 directories for a 64-character id), holding the serialized
//! session only, so a Ktor service and a Rust service can share sessions during a migration.
//!
//! * **Expiry.** The files have no room for metadata, and Ktor itself never expires them. The
//!   rule here: a record is valid for `max_age` (default 7 days, Ktor's cookie max age) after
//!   the file was last written, by either server (its modification time); it reads as created
//!   at that time too. The by-id tracker's absolute lifetime therefore slides with each write
//!   in this layout, and a session that is only read expires `max_age` after its last write.
//! * **Ids.** Ids are validated [`SessionId`](crate::SessionId)s (`[A-Za-z0-9_-]`, which already excludes every
//!   character Ktor's `requireId` refuses). Ids with capital letters are refused (read as
//!   absent, cannot be created): on a case-insensitive file system `Ab` and `aB` would share a
//!   file. Reads never create directories (Ktor's do); deletes remove the emptied directories,
//!   as Ktor does.
//! * **Data only.** The files hold the serialized session, nothing else, as Ktor's do: no
//!   revision (so no [conditional updates](super::SessionStorage::update_if)) and no metadata (so no
//!   [principal index](super::SessionStorage::supports_principals)); both refuse with
//!   [`Unsupported`](crate::storage::StorageErrorKind::Unsupported), and a record's metadata
//!   is not kept. The data may be any bytes.
//! * **Ktor's own writes are not atomic** (it truncates and rewrites the file in place), so a
//!   read that meets a Ktor write halfway can see a partial file. An unreadable file therefore
//!   reads as absent but is not removed by a read in this layout; sweeps remove it only once
//!   it is older than `max_age`.
//! * **One user.** The checks at open apply to this layout too: the Ktor service and this one
//!   must run as the same user (Ktor creates its directories with the process's umask, often
//!   `0755`: readable, which is accepted with a warning, but a group-writable umask is not).
//! * Prefer the default layout for anything but a migration.

mod files;
mod format;
mod index;
mod layout;
mod records;
mod session_storage;
mod sweep;
mod trust;

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use self::files::Dir;
use self::layout::{Layout, Location};
use self::records::Target;
use self::sweep::Sweep;
pub use self::trust::{DirectoryRole, UntrustedDirectory};
use super::{SessionKey, StorageError};

/// How long a session file lasts after its last write in the Ktor-compatible layout, by
/// default: 7 days, Ktor's default cookie max age.
pub const DEFAULT_KTOR_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How old a temporary file must be before [`DirectoryStorage::open`] or a sweep removes it,
/// by default.
pub const DEFAULT_TEMP_GRACE: Duration = Duration::from_secs(60);

/// Sessions as files in a directory. See the [module documentation](self) for the layout and
/// the guarantees.
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::storage::{
///     Created, DirectoryStorage, Namespace, Record, SessionHandle, SessionId, SessionStorage,
///     Updated,
/// };
///
/// # let dir = tempfile::tempdir().unwrap();
/// let storage = DirectoryStorage::open(dir.path().join("sessions"))?;
/// let user = Namespace::new("user_session");
/// let id = SessionId::generate();
/// let key = user.key(&id);
/// let now = SystemTime::now();
/// let record = Record::new(r#"{"userID":"123"}"#, now, now + Duration::from_secs(60))
///     .with_principal("ada");
/// assert_eq!(storage.create(key, &record, now).await?, Created::Inserted);
/// assert_eq!(storage.load(key, now).await?, Some(record.clone()));
/// assert!(storage.path_of(key).unwrap().ends_with(key.storage_key()));
///
/// // A conditional update compares the revision it read, under the file's lock.
/// let next = Record::new(r#"{"userID":"123","n":1}"#, now, now + Duration::from_secs(60))
///     .with_principal("ada");
/// assert_eq!(storage.update_if(key, &next, record.revision, now).await?, Updated::Written);
/// assert_eq!(storage.update_if(key, &next, record.revision, now).await?, Updated::Conflict);
///
/// // The principal index: ada's sessions, and "log out this device".
/// let listed = storage.sessions_of(&user, "ada", now).await?;
/// assert_eq!(listed.len(), 1);
/// assert_eq!(listed[0].handle, SessionHandle::of(key));
/// assert!(storage.delete_of(&user, "ada", &listed[0].handle).await?);
/// assert_eq!(storage.load(key, now).await?, None);
/// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct DirectoryStorage {
    dir: Arc<Dir>,
}

/// Settings of a [`DirectoryStorage`], from [`DirectoryStorage::builder`].
///
/// ```
/// use std::time::Duration;
/// use typed_sessions::storage::DirectoryStorage;
///
/// # let dir = tempfile::tempdir().unwrap();
/// let storage = DirectoryStorage::builder(dir.path())
///     .temp_grace(Duration::from_secs(10))
///     .open()?;
/// # Ok::<(), typed_sessions::storage::StorageError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "nothing happens until `open` is called"]
pub struct DirectoryStorageBuilder {
    root: PathBuf,
    layout: Layout,
    durable: bool,
    temp_grace: Duration,
}

impl DirectoryStorageBuilder {
    /// Uses the Ktor-compatible layout, in which a record is valid for `max_age` after its
    /// file was last written (see the [module documentation](self#ktor-compatible-layout)).
    pub fn ktor_layout(mut self, max_age: Duration) -> Self {
        self.layout = Layout::Ktor { max_age };
        self
    }

    /// Whether writes are fsynced (on by default). Turning it off keeps atomicity (a crash of
    /// the process still leaves whole files) but a power loss may lose recent writes; for
    /// tests, or a directory on `tmpfs`.
    pub fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// How old a temporary file must be before it is taken for a crash leftover and removed
    /// (default [`DEFAULT_TEMP_GRACE`]). Another process writing to the same directory keeps
    /// its temporary files for milliseconds; a zero grace is for a directory that only one
    /// process ever uses.
    pub fn temp_grace(mut self, grace: Duration) -> Self {
        self.temp_grace = grace;
        self
    }

    /// Creates the directory if needed (mode `0700`), checks that it is private to this
    /// process's user, removes stray temporary files left by a crash and, in the default
    /// layout, reconciles the principal index with the records (entries a crash left without
    /// their record go; see the [module documentation](self#the-principal-index)). Meant for
    /// startup: it runs blocking I/O on the calling thread, and reads the record of every
    /// index entry once.
    ///
    /// The root and every fan-out directory of the layout below it must be owned by the
    /// process's effective user and not writable by its group or by others, and no fan-out
    /// directory may be a symbolic link; otherwise this is an error (kind
    /// [`Backend`](crate::storage::StorageErrorKind::Backend)) whose source is an
    /// [`UntrustedDirectory`] naming the problem and its fix. A root that other users can list
    /// is accepted with a warning.
    pub fn open(self) -> Result<DirectoryStorage, StorageError> {
        let unavailable = |message: &'static str| {
            move |e: std::io::Error| StorageError::unavailable(message).with_source(e)
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(unavailable("cannot create the session directory"))?;
        trust::verify(&self.root, self.layout)?;
        let dir = Dir {
            root: self.root,
            layout: self.layout,
            durable: self.durable,
            temp_grace: self.temp_grace,
        };
        let swept = dir
            .sweep(Sweep {
                expired_at: None,
                temps_before: SystemTime::now().checked_sub(dir.temp_grace),
            })
            .map_err(unavailable("cannot list the session directory"))?;
        if swept.temps > 0 {
            tracing::info!(
                removed = swept.temps,
                "removed temporary session files left by a crash"
            );
        }
        if dir.layout == Layout::Hashed {
            let (records, entries) = dir
                .reconcile(SystemTime::now(), None)
                .map_err(unavailable("cannot reconcile the principal index"))?;
            if records + entries > 0 {
                tracing::info!(
                    records,
                    entries,
                    "removed stale principal index entries and expired indexed sessions"
                );
            }
        }
        Ok(DirectoryStorage { dir: Arc::new(dir) })
    }
}

impl DirectoryStorage {
    /// Opens (creating if needed) a storage in `root` with the default layout, durable writes
    /// and the default temporary-file grace. See [`DirectoryStorageBuilder::open`].
    pub fn open(root: impl AsRef<Path>) -> Result<DirectoryStorage, StorageError> {
        DirectoryStorage::builder(root).open()
    }

    /// Opens (creating if needed) a storage in `root` that reads and writes the files of Ktor's
    /// `directorySessionStorage`, with records valid for [`DEFAULT_KTOR_MAX_AGE`] after their
    /// last write.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
    /// use std::time::{Duration, SystemTime};
    /// use typed_sessions::storage::{DirectoryStorage, Namespace, Record, SessionId, SessionStorage};
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// let storage = DirectoryStorage::ktor_compatible(dir.path())?;
    /// let id = SessionId::parse_custom("abcdef").unwrap();
    /// let user = Namespace::new("user_session");
    /// let key = user.key(&id);
    /// let now = SystemTime::now();
    /// storage.create(key, &Record::new(r#"{"userID":"123"}"#, now, now), now).await?;
    /// let file = dir.path().join("ab/cd/ef.dat");
    /// assert_eq!(std::fs::read_to_string(&file).unwrap(), r#"{"userID":"123"}"#);
    /// # Ok::<(), typed_sessions::storage::StorageError>(()) }).unwrap();
    /// ```
    pub fn ktor_compatible(root: impl AsRef<Path>) -> Result<DirectoryStorage, StorageError> {
        DirectoryStorage::builder(root)
            .ktor_layout(DEFAULT_KTOR_MAX_AGE)
            .open()
    }

    /// Settings for a storage in `root`.
    pub fn builder(root: impl AsRef<Path>) -> DirectoryStorageBuilder {
        DirectoryStorageBuilder {
            root: root.as_ref().to_path_buf(),
            layout: Layout::Hashed,
            durable: true,
            temp_grace: DEFAULT_TEMP_GRACE,
        }
    }

    /// The storage's directory.
    pub fn root(&self) -> &Path {
        &self.dir.root
    }

    /// Whether this storage uses the Ktor-compatible layout.
    pub fn is_ktor_compatible(&self) -> bool {
        matches!(self.dir.layout, Layout::Ktor { .. })
    }

    /// The file that holds (or would hold) `key`'s record, or `None` if this layout cannot
    /// hold its id. For operations and tests; the file may not exist.
    pub fn path_of(&self, key: SessionKey<'_>) -> Option<PathBuf> {
        self.locate(key).map(|location| location.file)
    }

    fn locate(&self, key: SessionKey<'_>) -> Option<Location> {
        self.dir.layout.locate(&self.dir.root, key)
    }

    /// Where `key`'s record is written, with its namespace.
    fn target(&self, key: SessionKey<'_>) -> Option<Target> {
        Some(Target {
            location: self.locate(key)?,
            namespace: key.namespace().name().to_owned(),
        })
    }

    fn target_for_write(&self, key: SessionKey<'_>) -> Result<Target, StorageError> {
        self.target(key).ok_or_else(|| {
            StorageError::backend(
                "the Ktor-compatible directory layout cannot store ids with capital letters",
            )
        })
    }
}

#[cfg(test)]
mod tests;
