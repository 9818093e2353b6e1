//! Walking the directory: removing expired and corrupt session files, and stray temporary
//! files left by a crash.

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::files::{Contents, Dir};
use super::layout::{self, Layout, Location};

/// What a walk removes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sweep {
    /// Remove session files whose record has expired at this time (and corrupt ones).
    pub(crate) expired_at: Option<SystemTime>,
    /// Remove temporary files last modified before this time.
    pub(crate) temps_before: Option<SystemTime>,
}

/// What a walk found and removed.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Swept {
    pub(crate) records: u64,
    pub(crate) temps: u64,
}

impl Dir {
    /// Walks the storage's directories (only those of its layout; anything else is left
    /// alone) and removes what `sweep` asks for.
    pub(crate) fn sweep(&self, sweep: Sweep) -> io::Result<Swept> {
        let mut swept = Swept::default();
        self.walk(&self.root.clone(), 0, sweep, &mut swept)?;
        Ok(swept)
    }

    fn walk(&self, dir: &Path, depth: usize, sweep: Sweep, swept: &mut Swept) -> io::Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            // Pruned by a concurrent delete (Ktor layout).
            Err(e) if e.kind() == io::ErrorKind::NotFound && depth > 0 => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() && self.layout.is_layout_dir(&name, depth) {
                self.walk(&path, depth + 1, sweep, swept)?;
                if matches!(self.layout, Layout::Ktor { .. }) {
                    let _ = fs::remove_dir(&path); // only succeeds if empty
                }
            } else if kind.is_file() && layout::is_temp(&name) {
                let Some(before) = sweep.temps_before else {
                    continue;
                };
                let stale = entry.metadata()?.modified()? < before;
                if stale && remove_quietly(&path)? {
                    swept.temps += 1;
                }
            } else if kind.is_file() && self.layout.is_session_file(&name, depth) {
                let Some(now) = sweep.expired_at else {
                    continue;
                };
                let location = Location {
                    dirs: Vec::new(), // no pruning from here; the walk prunes on its way up
                    name,
                    dir: dir.to_path_buf(),
                    file: path,
                };
                if self.remove_if_dead(&location, now)? {
                    swept.records += 1;
                }
            }
        }
        Ok(())
    }

    /// Whether the open session file `file` is dead at `now`: expired, or unreadable. In the
    /// Ktor layout an unreadable file may be a Ktor server halfway through a write, so it only
    /// counts as dead once it is also older than the layout's max age.
    fn is_dead(&self, file: &mut File, now: SystemTime) -> io::Result<bool> {
        Ok(match self.read(file)? {
            Contents::Record(record) => record.is_expired(now),
            Contents::Corrupt => match self.layout {
                Layout::Hashed => true,
                Layout::Ktor { max_age } => file
                    .metadata()?
                    .modified()?
                    .checked_add(max_age)
                    .is_some_and(|expiry| expiry <= now),
            },
        })
    }

    /// Removes the session file at `location` if it is dead at `now`, checking again under
    /// its lock.
    fn remove_if_dead(&self, location: &Location, now: SystemTime) -> io::Result<bool> {
        // A cheap look without the lock first: most files are live.
        let mut file = match File::open(&location.file) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        if !self.is_dead(&mut file, now)? {
            return Ok(false);
        }
        drop(file);
        let Some(mut locked) = self.lock_current(&location.file, true)? else {
            return Ok(false);
        };
        if !self.is_dead(&mut locked, now)? {
            return Ok(false); // renewed meanwhile
        }
        match fs::remove_file(&location.file) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        drop(locked);
        if self.durable {
            layout::sync_dir(&location.dir)?;
        }
        Ok(true)
    }
}

/// Removes a file; `false` if it was already gone.
fn remove_quietly(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
