//! The principal index of the default layout, on disk.
//!
//! An entry is an empty file `root/principals/<o0o1>/<o>/<k>`: `k` is the session's storage
//! key (the name of its record file, and its [`SessionHandle`]
//! in hex), `o` the [`Owner`], a hash of the namespace and the principal (no user name becomes
//! part of a path), and `o0o1` its first two characters. The record file is the truth: it
//! keeps its namespace and principal, and an entry counts only while the record it names says
//! it belongs to the entry's owner ("owned").
//!
//! A directory cannot change two files atomically; the order of the writes and a lock on the
//! entry make the index never disagree with the records as seen through the storage's API:
//!
//! * **Filing before publishing.** A write that makes a record owned (a create, an id change,
//!   an update to another principal) first creates or opens the entry and locks it
//!   ([`Dir::hold_entry`]), then publishes the record while holding that lock.
//! * **Unfiling after removing, and only if stale.** A removal of an entry locks it, then
//!   checks that the record it names is not owned (gone, unreadable, or of another principal)
//!   and only then unlinks it ([`Dir::drop_entry_if_stale`]). Deletes, id changes and sweeps
//!   do this after the record is gone. Since every write that makes a record owned holds the
//!   entry's lock, no removal can slip between its check and the write.
//! * **Lock order.** An entry's lock is taken before a record's, never after: no operation
//!   waits for an entry while holding a record.
//!
//! So an owned record always has its entry, whatever is killed when; a crash can only leave
//! an entry whose record is missing or says otherwise ("stale"). Listings check every entry
//! against its record and drop stale ones; [`Dir::reconcile`] (run by `open` and by every
//! sweep) drops all of them, and the entries of expired records together with the records.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::files::{Contents, Dir, RETRIES, exists, open_existing, remove_quietly, same_file};
use super::format::Stored;
use super::layout::{self, Layout, Location};
use super::sweep::Kept;
use crate::storage::{Record, SessionHandle};

/// The directory of the index under the root.
pub(crate) const INDEX_DIR: &str = "principals";

/// Hashed in front of an owner, so the names never collide with another use of SHA-256.
const OWNER_DOMAIN: &[u8] = b"typed-sessions principal index v1\0";

/// One principal in one namespace, as the index names its directory: 64 hex characters of
/// SHA-256 over the namespace and the principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner(String);

impl Owner {
    pub(crate) fn of(namespace: &str, principal: &str) -> Owner {
        let digest = Sha256::new()
            .chain_update(OWNER_DOMAIN)
            .chain_update((namespace.len() as u64).to_le_bytes())
            .chain_update(namespace)
            .chain_update(principal)
            .finalize();
        Owner(hex::encode(digest))
    }

    /// The name of the owner's directory (64 hex characters).
    pub(crate) fn name(&self) -> &str {
        &self.0
    }

    /// The owner a stored record is filed under, if it has a principal.
    pub(crate) fn of_stored(stored: &Stored) -> Option<Owner> {
        let principal = stored.record.meta.principal.as_deref()?;
        Some(Owner::of(stored.namespace.as_deref()?, principal))
    }

    /// The owner a directory of the index is named after.
    fn parse(name: &str) -> Option<Owner> {
        is_hex64(name).then(|| Owner(name.to_owned()))
    }
}

fn is_hex64(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An index entry, created if needed and locked: see [`Dir::hold_entry`].
pub(crate) struct Held {
    file: File,
    owner: Owner,
    key: String,
}

impl Dir {
    pub(crate) fn entry(&self, owner: &Owner, key: &str) -> Location {
        let fan_out = owner.name().get(..2).unwrap_or_default().to_owned();
        let dirs = vec![INDEX_DIR.to_owned(), fan_out, owner.name().to_owned()];
        Location::new(&self.root, dirs, key.to_owned())
    }

    /// The record `key` (read without a lock), if it exists and is filed under `owner`,
    /// expired or not.
    fn owned_record(&self, owner: &Owner, key: &str) -> io::Result<Option<Stored>> {
        let Some(record) = Layout::hashed(&self.root, key) else {
            return Ok(None);
        };
        Ok(self
            .peek(&record.file)?
            .and_then(Contents::stored)
            .filter(|stored| Owner::of_stored(stored).as_ref() == Some(owner)))
    }

    /// Creates the entry of `key` under `owner` if it is missing, and locks it; the caller
    /// publishes the record while holding it (durable: the entry's name is on disk first).
    pub(crate) fn hold_entry(&self, owner: &Owner, key: &str) -> io::Result<Held> {
        let entry = self.entry(owner, key);
        for _ in 0..RETRIES {
            match layout::create_dirs(&self.root, &entry, self.durable) {
                Ok(()) => {}
                // A removal of the owner's last entry pruned a directory: make it again.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            let created = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&entry.file);
            let (file, new) = match created {
                Ok(file) => (file, true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    match open_existing(&entry.file)? {
                        Some(file) => (file, false),
                        None => continue,
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            file.lock()?;
            // A removal may have unlinked it while this waited: then make it again.
            match fs::symlink_metadata(&entry.file) {
                Ok(named) if same_file(&named, &file.metadata()?) => {}
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            if self.durable {
                if new {
                    file.sync_all()?;
                }
                // Also when it existed: its creator may not have synced it yet.
                layout::sync_dir(&self.root, &entry.dir)?;
            }
            return Ok(Held {
                file,
                owner: owner.clone(),
                key: key.to_owned(),
            });
        }
        Err(io::Error::other("an index entry kept being removed"))
    }

    /// Lets go of a held entry after a write that may not have published its record (a
    /// collision, a refusal, an error): the entry goes unless its record is owned.
    pub(crate) fn release_checked(&self, held: Held) -> io::Result<()> {
        if self.owned_record(&held.owner, &held.key)?.is_none() {
            let entry = self.entry(&held.owner, &held.key);
            self.unlink_entry(&entry, held.file)?;
        }
        Ok(())
    }

    /// Files the record `key` under `owner` again if its entry is missing (and the record
    /// still says so once the entry is held).
    pub(crate) fn refile(&self, owner: &Owner, key: &str) -> io::Result<()> {
        if exists(&self.entry(owner, key).file)? {
            return Ok(());
        }
        let held = self.hold_entry(owner, key)?;
        tracing::info!("a session missing from its principal's index was filed again");
        self.release_checked(held)
    }

    /// Removes the entry of `key` under `owner` if it is stale: its record is gone, unreadable
    /// or filed under someone else; with `expired_at`, also if the record has expired then,
    /// together with the record. Returns what it removed: (records, entries).
    pub(crate) fn drop_entry_if_stale(
        &self,
        owner: &Owner,
        key: &str,
        expired_at: Option<SystemTime>,
    ) -> io::Result<(u64, u64)> {
        let entry = self.entry(owner, key);
        let Some(held) = self.lock_current(&entry.file, true)? else {
            return Ok((0, 0));
        };
        let mut records = 0;
        if let Some(stored) = self.owned_record(owner, key)? {
            let expired = expired_at.filter(|now| stored.record.is_expired(*now));
            let Some(now) = expired else {
                return Ok((0, 0)); // owned: the entry stays
            };
            let Some(location) = Layout::hashed(&self.root, key) else {
                return Ok((0, 0));
            };
            // Entry, then record: the lock order.
            match self.remove_dead_record(&location, now)? {
                Kept::Removed(_) => records = 1,
                Kept::Live(Some(_)) => return Ok((0, 0)), // renewed meanwhile
                Kept::Live(None) => {}                    // removed meanwhile
            }
        }
        self.unlink_entry(&entry, held)?;
        Ok((records, 1))
    }

    /// Unlinks an entry whose lock `held` holds, and its owner's directory if that is now
    /// empty. Not fsynced: a removal lost to a power failure leaves a stale entry, which
    /// listings and [`reconcile`](Self::reconcile) drop.
    fn unlink_entry(&self, entry: &Location, held: File) -> io::Result<()> {
        remove_quietly(&entry.file)?;
        drop(held);
        let _ = fs::remove_dir(&entry.dir); // only succeeds if empty
        Ok(())
    }

    /// The storage keys filed under `owner` (unverified).
    fn keys_of(&self, owner: &Owner) -> io::Result<Vec<String>> {
        let mut keys = Vec::new();
        for entry in listing(&self.entry(owner, "").dir)? {
            if entry.file_type()?.is_file()
                && let Ok(name) = entry.file_name().into_string()
                && is_hex64(&name)
            {
                keys.push(name);
            }
        }
        Ok(keys)
    }

    /// The disk space of the index (allocated blocks of its directories and entries).
    pub(crate) fn index_bytes(&self) -> io::Result<u64> {
        fn walk(dir: &Path, depth: usize) -> io::Result<u64> {
            let mut bytes = 0u64;
            for entry in listing(dir)? {
                let Ok(metadata) = entry.metadata() else {
                    continue; // removed since the listing
                };
                bytes = bytes.saturating_add(metadata.blocks() * 512);
                if metadata.is_dir() && depth < 2 {
                    bytes = bytes.saturating_add(walk(&entry.path(), depth + 1)?);
                }
            }
            Ok(bytes)
        }
        let index = self.root.join(INDEX_DIR);
        match fs::symlink_metadata(&index) {
            Ok(metadata) if metadata.is_dir() => Ok(metadata.blocks() * 512 + walk(&index, 0)?),
            Ok(_) => Ok(0),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// The sessions of `owner` live at `now`, each checked against its record; stale entries
    /// met on the way are dropped.
    pub(crate) fn sessions_of(
        &self,
        owner: &Owner,
        now: SystemTime,
    ) -> io::Result<Vec<(SessionHandle, Record)>> {
        let mut sessions = Vec::new();
        for key in self.keys_of(owner)? {
            match self.owned_record(owner, &key)? {
                Some(stored) if !stored.record.is_expired(now) => {
                    let mut digest = [0u8; 32];
                    if hex::decode_to_slice(&key, &mut digest).is_ok() {
                        sessions.push((SessionHandle::from_digest(digest), stored.record));
                    }
                }
                Some(_) => {} // expired: the entry goes with the record, in a sweep
                None => {
                    self.drop_entry_if_stale(owner, &key, None)?;
                }
            }
        }
        Ok(sessions)
    }

    /// Ends the session `key` if it is filed under `owner` and its record says so (expired
    /// or not); whether it did.
    pub(crate) fn end(&self, owner: &Owner, key: &str) -> io::Result<bool> {
        let (entry, Some(record)) = (self.entry(owner, key), Layout::hashed(&self.root, key))
        else {
            return Ok(false);
        };
        if !exists(&entry.file)? {
            return Ok(false); // not in this principal's index: nothing to end
        }
        let ended = match self.lock_current(&record.file, true)? {
            Some(mut locked) => match self.read(&mut locked)? {
                Contents::Record(stored) if Owner::of_stored(&stored).as_ref() == Some(owner) => {
                    self.unlink_locked(&record, locked)?
                }
                _ => false,
            },
            None => false,
        };
        self.drop_entry_if_stale(owner, key, None)?;
        Ok(ended)
    }

    /// Ends every session filed under `owner` but `except`; how many it ended.
    pub(crate) fn end_all(&self, owner: &Owner, except: Option<&str>) -> io::Result<u64> {
        let mut ended = 0;
        for key in self.keys_of(owner)? {
            if Some(key.as_str()) != except && self.end(owner, &key)? {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Checks the index entries under the fan-out directory `fan_out` of the index (every one
    /// with `None`) against their records: stale entries go, and with them the empty owner
    /// directories; entries of records expired at `now` go together with the records. Returns
    /// (records, entries) removed.
    pub(crate) fn reconcile(
        &self,
        now: SystemTime,
        fan_out: Option<&str>,
    ) -> io::Result<(u64, u64)> {
        let index = self.root.join(INDEX_DIR);
        // Below the root nothing is followed (see the trust checks at open): the index's own
        // directory is no exception. Its fan-out and owner directories are listed without
        // following links.
        if fs::symlink_metadata(&index).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(io::Error::other(
                "the principal index directory is a symbolic link, which this storage never follows",
            ));
        }
        let fan_outs = match fan_out {
            Some(name) => vec![name.to_owned()],
            None => self.index_fan_outs()?,
        };
        let (mut records, mut entries) = (0, 0);
        for fan_out in fan_outs {
            for owner in names_in(&index.join(&fan_out))? {
                let Some(owner) = Owner::parse(&owner) else {
                    continue;
                };
                for key in self.keys_of(&owner)? {
                    let (r, e) = self.drop_entry_if_stale(&owner, &key, Some(now))?;
                    records += r;
                    entries += e;
                }
                let _ = fs::remove_dir(self.entry(&owner, "").dir); // only succeeds if empty
            }
        }
        Ok((records, entries))
    }

    /// The fan-out directories of the index, sorted.
    pub(crate) fn index_fan_outs(&self) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = names_in(&self.root.join(INDEX_DIR))?
            .into_iter()
            .filter(|name| Layout::Hashed.is_layout_dir(name, 0))
            .collect();
        names.sort();
        Ok(names)
    }
}

/// What `dir` holds (nothing if it does not exist: removed with its last entry).
fn listing(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The names of the directories in `dir` (none if it does not exist).
fn names_in(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in listing(dir)? {
        if entry.file_type()?.is_dir()
            && let Ok(name) = entry.file_name().into_string()
        {
            names.push(name);
        }
    }
    Ok(names)
}
