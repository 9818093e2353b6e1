//! Walking the directory: removing expired and corrupt session files, and stray temporary
//! files left by a crash.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::SystemTime;

use super::files::{Contents, Dir, open_existing, open_record, remove_quietly};
use super::index::Owner;
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
    /// Principal index entries removed (stale, or of a removed record).
    pub(crate) entries: u64,
}

/// Where the purge in parts goes on in the index: cursor codes above this are the index's
/// fan-out directories ([`dir_code`] of the name, plus this), after the records' ones.
const INDEX_CODES: u64 = 1 << 20;

impl Dir {
    /// Walks the storage's directories (only those of its layout; anything else is left
    /// alone) and removes what `sweep` asks for; with `expired_at`, then reconciles the
    /// principal index at that time.
    pub(crate) fn sweep(&self, sweep: Sweep) -> io::Result<Swept> {
        let mut swept = Swept::default();
        self.walk(&self.root.clone(), 0, true, sweep, &mut swept)?;
        if let Some(now) = sweep.expired_at {
            self.reconcile_into(now, None, &mut swept)?;
        }
        Ok(swept)
    }

    fn reconcile_into(
        &self,
        now: SystemTime,
        part: Option<&str>,
        swept: &mut Swept,
    ) -> io::Result<()> {
        if self.layout == Layout::Hashed {
            let (records, entries) = self.reconcile(now, part)?;
            swept.records += records;
            swept.entries += entries;
        }
        Ok(())
    }

    /// One step of a purge in parts, one top-level directory at a time, then (default layout)
    /// one fan-out directory of the principal index at a time. `after` is the code of the
    /// directory the previous step walked ([`dir_code`]), `None` to start: the first step also
    /// handles the files directly in the root. Returns what was removed and the code of the
    /// directory walked, or `None` when no directory was left.
    pub(crate) fn sweep_part(
        &self,
        after: Option<u64>,
        sweep: Sweep,
    ) -> io::Result<(Swept, Option<u64>)> {
        let mut swept = Swept::default();
        let after = after.unwrap_or(0);
        if after == 0 {
            self.walk(&self.root.clone(), 0, false, sweep, &mut swept)?;
        }
        if after < INDEX_CODES
            && let Some((name, code)) = self.next_top_dir(after)?
        {
            let path = self.root.join(&name);
            self.walk(&path, 1, true, sweep, &mut swept)?;
            if matches!(self.layout, Layout::Ktor { .. }) {
                let _ = fs::remove_dir(&path); // only succeeds if empty
            }
            return Ok((swept, Some(code)));
        }
        let (Some(now), Layout::Hashed) = (sweep.expired_at, self.layout) else {
            return Ok((swept, None));
        };
        let next = self.index_fan_outs()?.into_iter().find_map(|name| {
            let code = INDEX_CODES + dir_code(&name)?;
            (code > after).then_some((name, code))
        });
        match next {
            Some((name, code)) => {
                self.reconcile_into(now, Some(&name), &mut swept)?;
                Ok((swept, Some(code)))
            }
            None => Ok((swept, None)),
        }
    }

    /// The top-level directory of this layout with the smallest code above `after`.
    fn next_top_dir(&self, after: u64) -> io::Result<Option<(String, u64)>> {
        let mut best: Option<(String, u64)> = None;
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !entry.file_type()?.is_dir() || !self.layout.is_layout_dir(&name, 0) {
                continue;
            }
            let Some(code) = dir_code(&name) else {
                continue;
            };
            if code > after && best.as_ref().is_none_or(|(_, b)| code < *b) {
                best = Some((name, code));
            }
        }
        Ok(best)
    }

    fn walk(
        &self,
        dir: &Path,
        depth: usize,
        descend: bool,
        sweep: Sweep,
        swept: &mut Swept,
    ) -> io::Result<()> {
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
                if !descend {
                    continue;
                }
                self.walk(&path, depth + 1, true, sweep, swept)?;
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
                self.sweep_record(&location, now, swept)?;
            }
        }
        Ok(())
    }

    /// Removes the record at `location` if it is dead at `now`, and its index entry with it;
    /// files a live record that has a principal but no entry (lost to a power failure with
    /// durability off) under it again.
    fn sweep_record(
        &self,
        location: &Location,
        now: SystemTime,
        swept: &mut Swept,
    ) -> io::Result<()> {
        match self.remove_dead_record(location, now)? {
            Kept::Removed(removed) => {
                swept.records += 1;
                if let Some(owner) = removed.stored().as_ref().and_then(Owner::of_stored) {
                    swept.entries += self.drop_entry_if_stale(&owner, &location.name, None)?.1;
                }
            }
            Kept::Live(Some(stored)) => {
                if let Some(owner) = Owner::of_stored(&stored) {
                    self.refile(&owner, &location.name)?;
                }
            }
            Kept::Live(None) => {}
        }
        Ok(())
    }

    /// What the open session file `file` holds, and whether it is dead at `now`: expired, or
    /// unreadable. In the Ktor layout an unreadable file may be a Ktor server halfway through
    /// a write, so it only counts as dead once it is also older than the layout's max age.
    fn dead(&self, file: &mut File, now: SystemTime) -> io::Result<(bool, Contents)> {
        let contents = self.read(file)?;
        let dead = match &contents {
            Contents::Record(stored) => stored.record.is_expired(now),
            Contents::Corrupt => match self.layout {
                Layout::Hashed => true,
                Layout::Ktor { max_age } => file
                    .metadata()?
                    .modified()?
                    .checked_add(max_age)
                    .is_some_and(|expiry| expiry <= now),
            },
        };
        Ok((dead, contents))
    }

    /// Removes the session file at `location` if it is dead at `now`, checking again under
    /// its lock, and says what it held; its index entry is the caller's business.
    pub(crate) fn remove_dead_record(
        &self,
        location: &Location,
        now: SystemTime,
    ) -> io::Result<Kept> {
        // A cheap look without the lock first: most files are live.
        let Some(mut file) = open_existing(&location.file)? else {
            return Ok(Kept::Live(None));
        };
        let (dead, contents) = self.dead(&mut file, now)?;
        if !dead {
            return Ok(Kept::Live(contents.stored()));
        }
        drop(file);
        let Some(mut locked) = self.lock_current(&location.file, true)? else {
            return Ok(Kept::Live(None));
        };
        let (dead, contents) = self.dead(&mut locked, now)?;
        if !dead {
            return Ok(Kept::Live(contents.stored())); // renewed meanwhile
        }
        if !remove_quietly(&location.file)? {
            return Ok(Kept::Live(None));
        }
        drop(locked);
        if self.durable {
            layout::sync_dir(&self.root, &location.dir)?;
        }
        Ok(Kept::Removed(contents))
    }
}

/// What [`Dir::remove_dead_record`] did.
pub(crate) enum Kept {
    /// The record was dead and is removed; what it held.
    Removed(Contents),
    /// The record is live (what it holds, if readable), or gone already (`None`).
    Live(Option<super::format::Stored>),
}

/// A number for a top-level directory name of either layout (two ASCII characters), in the
/// names' byte order and never 0: the position a purge in parts goes on from.
pub(crate) fn dir_code(name: &str) -> Option<u64> {
    match *name.as_bytes() {
        [a, b] => Some(((u64::from(a) << 8) | u64::from(b)) + 1),
        _ => None,
    }
}

/// What a survey of the directory found (see [`Dir::survey`]).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Survey {
    pub(crate) live: u64,
    pub(crate) expired: u64,
    pub(crate) unreadable: u64,
    /// Disk space of the session files, the layout's directories and the principal index
    /// (allocated blocks).
    pub(crate) bytes: u64,
}

impl Dir {
    /// Reads every session file of the layout and classifies it at `now`, without locking,
    /// creating or removing anything.
    pub(crate) fn survey(&self, now: SystemTime) -> io::Result<Survey> {
        let mut survey = Survey::default();
        self.survey_dir(&self.root.clone(), 0, now, &mut survey)?;
        if self.layout == Layout::Hashed {
            survey.bytes = survey.bytes.saturating_add(self.index_bytes()?);
        }
        Ok(survey)
    }

    fn survey_dir(
        &self,
        dir: &Path,
        depth: usize,
        now: SystemTime,
        survey: &mut Survey,
    ) -> io::Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound && depth > 0 => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let kind = entry.file_type()?;
            if kind.is_dir() && self.layout.is_layout_dir(&name, depth) {
                if let Ok(metadata) = entry.metadata() {
                    survey.bytes = survey.bytes.saturating_add(metadata.blocks() * 512);
                }
                self.survey_dir(&entry.path(), depth + 1, now, survey)?;
            } else if kind.is_file() && self.layout.is_session_file(&name, depth) {
                let mut file = match open_record(&entry.path()) {
                    Ok(file) => file,
                    // Removed since the listing: a delete or a sweep.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                survey.bytes = survey.bytes.saturating_add(file.metadata()?.blocks() * 512);
                match self.read(&mut file)? {
                    Contents::Record(stored) if stored.record.is_expired(now) => {
                        survey.expired += 1;
                    }
                    Contents::Record(_) => survey.live += 1,
                    Contents::Corrupt => survey.unreadable += 1,
                }
            }
        }
        Ok(())
    }
}
