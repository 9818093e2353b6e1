//! The file protocol: blocking operations, run on tokio's blocking pool.
//!
//! * Reads open the file and read it whole; no lock (writes replace files atomically, so a
//!   reader sees one version or another, never a mix).
//! * Every write goes into a fresh temporary file in the target's directory first
//!   (`create_new`, `0600`, written, `sync_all`).
//! * `create` publishes it with `link(2)`, which fails if the name exists: of two creators
//!   only one can win, in one process or several. An expired or corrupt record in the way is
//!   replaced while holding its lock.
//! * `update`, `delete` and `change_id` first lock the current file ([`Dir::lock_current`]:
//!   `flock` on it, then a check that the name still points at it). A delete and an update of
//!   one session therefore never interleave: an update checks the record is live and renames
//!   its temporary file over it under the lock, a delete unlinks it under the lock, and
//!   whichever comes second sees what the first did. `flock` locks are held per open file, so
//!   this also orders threads of one process and processes sharing the directory.
//! * After a name changes, the directory is fsynced (when durable).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::format::{self, MAX_DATA};
use super::layout::{self, Layout, Location};
use crate::id::LogTag;
use crate::storage::{Created, Record};

/// How often an operation retries when the file it works on keeps being replaced under it.
const RETRIES: usize = 64;

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
    Record(Record),
    /// Empty, truncated, altered or otherwise unreadable as a record.
    Corrupt,
}

impl Contents {
    fn is_live(&self, now: SystemTime) -> bool {
        matches!(self, Contents::Record(r) if !r.is_expired(now))
    }
}

/// A temporary file, removed when dropped unless it was renamed into place.
struct Temp {
    path: PathBuf,
    armed: bool,
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
        "the session is larger than a directory storage keeps (16 MiB)",
    )
}

/// Whether a file exists at `path` (a cheap look before any write: nothing is written, and no
/// directory created, for a session that is already gone).
fn exists(path: &Path) -> io::Result<bool> {
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

fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

impl Dir {
    /// The bytes of the file that holds `record`.
    fn contents_of(&self, record: &Record) -> io::Result<Vec<u8>> {
        if record.data.len() > MAX_DATA {
            return Err(too_large());
        }
        match self.layout {
            Layout::Hashed => Ok(format::encode(record)),
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
        if metadata.len() > (MAX_DATA + 256) as u64 {
            return Ok(Contents::Corrupt);
        }
        let mut bytes = Vec::with_capacity(metadata.len() as usize);
        file.read_to_end(&mut bytes)?;
        Ok(match self.layout {
            Layout::Hashed => format::decode(bytes).map_or(Contents::Corrupt, Contents::Record),
            Layout::Ktor { max_age } => match bytes {
                data if !data.is_empty() => {
                    let written = metadata.modified()?;
                    Contents::Record(Record::new(data, written, ktor_expiry(written, max_age)))
                }
                _ => Contents::Corrupt,
            },
        })
    }

    /// Writes `bytes` into a new temporary file next to `location`'s file.
    fn write_temp(&self, location: &Location, bytes: &[u8]) -> io::Result<Temp> {
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
        for _ in 0..RETRIES {
            let file = match open_record(path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
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

    fn sync(&self, dir: &Path) -> io::Result<()> {
        if self.durable {
            layout::sync_dir(&self.root, dir)?;
        }
        Ok(())
    }

    /// Removes the file at `location` that `locked` (locked, and named by the path) holds.
    fn unlink_locked(&self, location: &Location, locked: File) -> io::Result<bool> {
        let removed = match fs::remove_file(&location.file) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
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
        let mut file = match open_record(&location.file) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match self.read(&mut file)? {
            Contents::Record(record) => Ok((!record.is_expired(now)).then_some(record)),
            Contents::Corrupt => {
                if self.layout == Layout::Hashed {
                    let read = file.metadata()?;
                    drop(file);
                    if let Some(locked) = self.lock_current(&location.file, true)?
                        && same_file(&locked.metadata()?, &read)
                    {
                        self.unlink_locked(location, locked)?;
                        tracing::warn!(id = %tag, "corrupt session file removed");
                    }
                }
                Ok(None)
            }
        }
    }

    pub(crate) fn create(
        &self,
        location: &Location,
        record: &Record,
        now: SystemTime,
    ) -> io::Result<Created> {
        let mut temp = self.write_temp(location, &self.contents_of(record)?)?;
        for _ in 0..RETRIES {
            match fs::hard_link(&temp.path, &location.file) {
                Ok(()) => {
                    drop(temp); // removes the temporary name; the file keeps the final one
                    self.sync(&location.dir)?;
                    return Ok(Created::Inserted);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let Some(mut current) = self.lock_current(&location.file, true)? else {
                        continue; // removed meanwhile: link again
                    };
                    if self.read(&mut current)?.is_live(now) {
                        return Ok(Created::Collision);
                    }
                    // Expired or corrupt: replace it while holding its lock.
                    fs::rename(&temp.path, &location.file)?;
                    temp.armed = false;
                    drop(current);
                    self.sync(&location.dir)?;
                    return Ok(Created::Inserted);
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("a session file kept being replaced"))
    }

    pub(crate) fn update(
        &self,
        location: &Location,
        record: &Record,
        now: SystemTime,
    ) -> io::Result<bool> {
        if !exists(&location.file)? {
            return Ok(false); // no temporary file, no directories for a session that is gone
        }
        let mut temp = self.write_temp(location, &self.contents_of(record)?)?;
        let Some(mut current) = self.lock_current(&location.file, true)? else {
            return Ok(false);
        };
        match self.read(&mut current)? {
            contents if contents.is_live(now) => {}
            Contents::Corrupt if self.layout == Layout::Hashed => {
                self.unlink_locked(location, current)?;
                return Ok(false);
            }
            _ => return Ok(false),
        }
        fs::rename(&temp.path, &location.file)?;
        temp.armed = false;
        drop(current);
        self.sync(&location.dir)?;
        Ok(true)
    }

    pub(crate) fn delete(&self, location: &Location) -> io::Result<bool> {
        match self.lock_current(&location.file, true)? {
            Some(current) => self.unlink_locked(location, current),
            None => Ok(false),
        }
    }

    pub(crate) fn change_id(
        &self,
        old: &Location,
        new: &Location,
        record: &Record,
        now: SystemTime,
    ) -> io::Result<bool> {
        if old.file == new.file || !exists(&old.file)? {
            return Ok(false);
        }
        let mut temp = self.write_temp(new, &self.contents_of(record)?)?;
        let Some(mut current) = self.lock_current(&old.file, true)? else {
            return Ok(false);
        };
        if !self.read(&mut current)?.is_live(now) {
            return Ok(false);
        }
        // Claim the new name while holding the old file's lock.
        let mut claimed = false;
        for _ in 0..RETRIES {
            match fs::hard_link(&temp.path, &new.file) {
                Ok(()) => {
                    claimed = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // Never wait for a second lock while holding one: a file someone else
                    // holds counts as taken.
                    let held = match self.lock_current(&new.file, false) {
                        Ok(None) => continue,
                        Ok(Some(held)) => held,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                        Err(e) => return Err(e),
                    };
                    let mut held = held;
                    if self.read(&mut held)?.is_live(now) {
                        return Ok(false);
                    }
                    fs::rename(&temp.path, &new.file)?;
                    temp.armed = false;
                    claimed = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if !claimed {
            return Err(io::Error::other("a session file kept being replaced"));
        }
        drop(temp);
        self.sync(&new.dir)?;
        self.unlink_locked(old, current)?;
        Ok(true)
    }
}
