//! The file protocol's building blocks: blocking operations, run on tokio's blocking pool.
//!
//! * Reads open the file and read it whole; no lock (writes replace files atomically, so a
//!   reader sees one version or another, never a mix).
//! * Every write goes into a fresh temporary file in the target's directory first
//!   (`create_new`, `0600`, written, `sync_all`), which then gets its final name (see
//!   `records.rs`).
//! * A file is locked with [`Dir::lock_current`]: `flock` on it, then a check that the name
//!   still points at it. `flock` locks are held per open file, so this orders threads of one
//!   process and processes sharing the directory alike.
//! * After a name changes, the directory is fsynced (when durable).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::format::{self, MAX_FILE, Stored};
use super::layout::{self, Layout, Location};
use crate::id::LogTag;
use crate::storage::Record;

/// How often an operation retries when the file it works on keeps being replaced under it.
pub(crate) const RETRIES: usize = 64;

/// How often [`Dir::lock_current`] takes a lock that turns out to be on a replaced file before
/// it gives up. Each such miss means that another writer replaced the file meanwhile (progress
/// elsewhere), so under a storm of writes to one session a waiter may miss once per writer
/// ahead of it: the bound is far above any real number of concurrent requests of one session,
/// and is there only against a program that replaces the file forever.
const LOCK_MISSES: usize = 1 << 16;

/// A directory storage's settings, shared by its operations.
#[derive(Debug)]
pub(crate) struct Dir {
    pub(crate) root: PathBuf,
    pub(crate) layout: Layout,
    pub(crate) durable: bool,
    pub(crate) temp_grace: Duration,
}

/// What a session file holds.
pub(crate) enum Contents {
    Record(Stored),
    /// Empty, truncated, altered or otherwise unreadable as a record.
    Corrupt,
}

impl Contents {
    pub(crate) fn is_live(&self, now: SystemTime) -> bool {
        matches!(self, Contents::Record(s) if !s.record.is_expired(now))
    }

    /// The record, if the file holds one.
    pub(crate) fn stored(self) -> Option<Stored> {
        match self {
            Contents::Record(stored) => Some(stored),
            Contents::Corrupt => None,
        }
    }
}

/// A temporary file, removed when dropped unless it was renamed into place.
pub(crate) struct Temp {
    pub(crate) path: PathBuf,
    pub(crate) armed: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the session is larger than a directory storage keeps (16 MiB of data, 64 KiB of metadata)",
    )
}

/// Whether a file exists at `path` (a cheap look before any write: nothing is written, and no
/// directory created, for a session that is already gone).
pub(crate) fn exists(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Opens the session file at `path` for reading, never following a symbolic link: a link in
/// a record's place is an error, not a file elsewhere. Anything else that is not a regular
/// file (a FIFO, a device) is an error too; it is opened without blocking, so a FIFO cannot
/// stall the thread.
pub(crate) fn open_record(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            // `O_NOFOLLOW` on a link: `ELOOP` (Linux, macOS), `EMLINK` (FreeBSD).
            if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::EMLINK)) {
                io::Error::other(
                    "a session file is a symbolic link, which this storage never follows",
                )
            } else {
                e
            }
        })?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other("a session file is not a regular file"));
    }
    Ok(file)
}

/// When a Ktor-layout record last written at `written` expires: `max_age` later. A file's time
/// is whatever was set on it (a tmpfs takes any 64-bit second), so one near the end of time
/// expires then rather than overflowing.
pub(crate) fn ktor_expiry(written: SystemTime, max_age: Duration) -> SystemTime {
    written
        .checked_add(max_age)
        .or_else(|| written.checked_add(crate::clock::FOREVER))
        .unwrap_or(written)
}

pub(crate) fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Opens the session file (or index entry) at `path` for reading, as [`open_record`] does;
/// `None` if there is no file.
pub(crate) fn open_existing(path: &Path) -> io::Result<Option<File>> {
    match open_record(path) {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes a file; `false` if it was already gone.
pub(crate) fn remove_quietly(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

impl Dir {
    /// The bytes of the file that holds `record`, written under `namespace`.
    pub(crate) fn contents_of(&self, record: &Record, namespace: &str) -> io::Result<Vec<u8>> {
        match self.layout {
            Layout::Hashed if !format::fits(record, namespace) => Err(too_large()),
            Layout::Hashed => Ok(format::encode(record, namespace)),
            Layout::Ktor { .. } if record.data.len() > format::MAX_DATA => Err(too_large()),
            Layout::Ktor { .. } if record.data.is_empty() => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the Ktor-compatible layout cannot keep an empty session (Ktor reads an empty file as an error)",
            )),
            Layout::Ktor { .. } => Ok(record.data.clone()),
        }
    }

    /// Reads and decodes an open session file.
    pub(crate) fn read(&self, file: &mut File) -> io::Result<Contents> {
        let metadata = file.metadata()?;
        if metadata.len() > MAX_FILE as u64 {
            return Ok(Contents::Corrupt);
        }
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        file.read_to_end(&mut bytes)?;
        Ok(match self.layout {
            Layout::Hashed => format::decode(bytes).map_or(Contents::Corrupt, Contents::Record),
            Layout::Ktor { max_age } => match bytes {
                data if !data.is_empty() => {
                    let written = metadata.modified()?;
                    Contents::Record(Stored {
                        record: Record::new(data, written, ktor_expiry(written, max_age)),
                        namespace: None,
                    })
                }
                _ => Contents::Corrupt,
            },
        })
    }

    /// Reads the file at `path` without a lock; `None` if there is none.
    pub(crate) fn peek(&self, path: &Path) -> io::Result<Option<Contents>> {
        match open_existing(path)? {
            Some(mut file) => self.read(&mut file).map(Some),
            None => Ok(None),
        }
    }

    /// Writes `bytes` into a new temporary file next to `location`'s file.
    pub(crate) fn write_temp(&self, location: &Location, bytes: &[u8]) -> io::Result<Temp> {
        let mut last_error = None;
        for _ in 0..RETRIES {
            // In the Ktor layout a concurrent delete may prune a directory this just made or
            // found: make them again.
            match layout::create_dirs(&self.root, location, self.durable) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    last_error = Some(e);
                    continue;
                }
                Err(e) => return Err(e),
            }
            let path = location.dir.join(layout::temp_name(&location.name));
            let opened = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path);
            match opened {
                Ok(mut file) => {
                    let temp = Temp { path, armed: true };
                    file.write_all(bytes)?;
                    if self.durable {
                        file.sync_all()?;
                    }
                    return Ok(temp);
                }
                // The directory was pruned meanwhile (Ktor layout), or a name collided: again.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::AlreadyExists
                    ) =>
                {
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("cannot create a temporary file")))
    }

    /// Opens and exclusively locks the file at `path`, making sure `path` still names the
    /// locked file (a writer may have replaced or removed it while this waited for the lock).
    /// `None` if there is no file. With `wait == false`, a file locked by someone else is
    /// reported as `Err(WouldBlock)` instead of waited for.
    pub(crate) fn lock_current(&self, path: &Path, wait: bool) -> io::Result<Option<File>> {
        for _ in 0..LOCK_MISSES {
            let Some(file) = open_existing(path)? else {
                return Ok(None);
            };
            if wait {
                file.lock()?;
            } else if let Err(e) = file.try_lock() {
                return Err(match e {
                    fs::TryLockError::WouldBlock => io::ErrorKind::WouldBlock.into(),
                    fs::TryLockError::Error(e) => e,
                });
            }
            let locked = file.metadata()?;
            match fs::symlink_metadata(path) {
                Ok(named) if same_file(&named, &locked) => return Ok(Some(file)),
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("a session file kept being replaced"))
    }

    /// Fsyncs `dir` (when durable). A directory below the root that no longer exists is not
    /// an error: in the Ktor layout a concurrent delete prunes a directory as soon as it is
    /// empty, and a directory that is gone has no entry left to make durable (the record this
    /// call followed was removed after it).
    pub(crate) fn sync(&self, dir: &Path) -> io::Result<()> {
        if self.durable {
            match layout::sync_dir(&self.root, dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound && dir != self.root => {}
                synced => synced?,
            }
        }
        Ok(())
    }

    /// Removes the file at `location` that `locked` (locked, and named by the path) holds.
    pub(crate) fn unlink_locked(&self, location: &Location, locked: File) -> io::Result<bool> {
        let removed = remove_quietly(&location.file)?;
        drop(locked);
        self.sync(&location.dir)?;
        if matches!(self.layout, Layout::Ktor { .. }) {
            layout::prune_dirs(location);
        }
        Ok(removed)
    }

    /// The live record at `location`, if any. A corrupt file is removed (default layout only:
    /// in the Ktor layout an empty file may be a Ktor server halfway through a write).
    pub(crate) fn load(
        &self,
        location: &Location,
        now: SystemTime,
        tag: LogTag,
    ) -> io::Result<Option<Record>> {
        let Some(mut file) = open_existing(&location.file)? else {
            return Ok(None);
        };
        match self.read(&mut file)? {
            Contents::Record(stored) => {
                Ok((!stored.record.is_expired(now)).then_some(stored.record))
            }
            Contents::Corrupt => {
                if self.remove_corrupt(location, file)? {
                    tracing::warn!(id = %tag, "corrupt session file removed");
                }
                Ok(None)
            }
        }
    }

    /// Removes the file at `location` if it is still `file`, which was read as corrupt
    /// (default layout only: in the Ktor layout an empty file may be a Ktor server halfway
    /// through a write). Whether it removed it.
    pub(crate) fn remove_corrupt(&self, location: &Location, file: File) -> io::Result<bool> {
        if self.layout != Layout::Hashed {
            return Ok(false);
        }
        let read = file.metadata()?;
        drop(file);
        match self.lock_current(&location.file, true)? {
            Some(locked) if same_file(&locked.metadata()?, &read) => {
                self.unlink_locked(location, locked)
            }
            _ => Ok(false),
        }
    }
}
