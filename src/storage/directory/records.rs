//! The writes of the file protocol: create, update (plain and conditional), delete, id change.
//!
//! * `create` publishes the temporary file with `link(2)`, which fails if the name exists: of
//!   two creators only one can win, in one process or several. An expired or corrupt record
//!   in the way is replaced while holding its lock.
//! * `update`, `delete` and `change_id` first lock the current file
//!   ([`Dir::lock_current`]) and act only after checking what it holds; `update_if` reads the
//!   current file and locks that very file, then checks the name still points at it. A delete
//!   and an update of one session therefore never interleave: an update checks the record is
//!   live (and, conditional, that its revision is the expected one) and renames its temporary
//!   file over it under the lock, a delete unlinks it under the lock, and whichever comes
//!   second sees what the first did.
//! * A write that files a record under a principal (a create, an id change) holds the index
//!   entry first, and a write that takes a record away from a principal (a delete, an id
//!   change) drops the entry after (see `index.rs`). Updates keep the principal a record was
//!   stored with, so they never touch the index.

use std::fs;
use std::io;
use std::time::SystemTime;

use super::files::{Contents, Dir, RETRIES, Temp, exists, open_existing, same_file};
use super::format::Stored;
use super::index::{Held, Owner};
use super::layout::{Layout, Location};
use crate::storage::{Created, Record, Revision, Updated};

/// Where a write goes: the record's file and the namespace of its session.
pub(crate) struct Target {
    pub(crate) location: Location,
    pub(crate) namespace: String,
}

/// `record` with the principal of `stored`, if it names another one: an update keeps the
/// principal a record was stored with (a new principal is an id change), so the index entry
/// never moves on an update.
fn keeping_principal(stored: &Stored, record: &Record) -> Option<Record> {
    (stored.record.meta.principal != record.meta.principal).then(|| {
        let mut kept = record.clone();
        kept.meta
            .principal
            .clone_from(&stored.record.meta.principal);
        kept
    })
}

/// What publishing a new record's file found under its name.
enum Published {
    /// The name was free, or held an expired or corrupt record, which this replaced.
    Inserted(Option<Stored>),
    /// A live record holds the name.
    Taken,
}

impl Dir {
    /// The index owner `record` is filed under when written to `target`, if the layout keeps
    /// the index and the record has a principal.
    fn owner_of(&self, target: &Target, record: &Record) -> Option<Owner> {
        let principal = record.meta.principal.as_deref()?;
        (self.layout == Layout::Hashed).then(|| Owner::of(&target.namespace, principal))
    }

    /// The owner of what a file held, in the layout that keeps the index.
    fn owner_in(&self, stored: Option<&Stored>) -> Option<Owner> {
        Owner::of_stored(stored?)
    }

    /// Lets go of `held` after a write that may not have published its record. An error here
    /// only leaves a stale entry behind, which listings and sweeps drop.
    fn release(&self, held: Option<Held>) {
        if let Some(held) = held
            && let Err(error) = self.release_checked(held)
        {
            tracing::debug!(%error, "could not drop an unused index entry");
        }
    }

    /// Drops `old`'s entry of `key` unless `new` is the same owner (it stays filed there).
    fn unfile(&self, old: Option<Owner>, new: Option<&Owner>, key: &str) -> io::Result<()> {
        match old {
            Some(old) if Some(&old) != new => self.drop_entry_if_stale(&old, key, None).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// Gives `temp` the name `location.file` unless a live record holds it; `wait == false`
    /// counts a file that someone else holds locked as taken (for a caller that already holds
    /// a lock and must not wait for a second).
    fn publish(
        &self,
        location: &Location,
        temp: &mut Temp,
        now: SystemTime,
        wait: bool,
    ) -> io::Result<Published> {
        for _ in 0..RETRIES {
            match fs::hard_link(&temp.path, &location.file) {
                Ok(()) => return Ok(Published::Inserted(None)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let mut current = match self.lock_current(&location.file, wait) {
                        Ok(Some(current)) => current,
                        Ok(None) => continue, // removed meanwhile: link again
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Ok(Published::Taken);
                        }
                        Err(e) => return Err(e),
                    };
                    let contents = self.read(&mut current)?;
                    if contents.is_live(now) {
                        return Ok(Published::Taken);
                    }
                    // Expired or corrupt: replace it while holding its lock.
                    fs::rename(&temp.path, &location.file)?;
                    temp.armed = false;
                    return Ok(Published::Inserted(contents.stored()));
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other("a session file kept being replaced"))
    }

    pub(crate) fn create(
        &self,
        target: &Target,
        record: &Record,
        now: SystemTime,
    ) -> io::Result<Created> {
        let location = &target.location;
        let mut temp = self.write_temp(location, &self.contents_of(record, &target.namespace)?)?;
        let owner = self.owner_of(target, record);
        let held = self.hold(owner.as_ref(), &location.name)?;
        match self.publish(location, &mut temp, now, true) {
            Ok(Published::Inserted(replaced)) => {
                drop(temp); // removes the temporary name; the file keeps the final one
                self.sync(&location.dir)?;
                drop(held);
                self.unfile(
                    self.owner_in(replaced.as_ref()),
                    owner.as_ref(),
                    &location.name,
                )?;
                Ok(Created::Inserted)
            }
            Ok(Published::Taken) => {
                self.release(held);
                Ok(Created::Collision)
            }
            Err(e) => {
                self.release(held);
                Err(e)
            }
        }
    }

    /// Replaces the live record at `target` with `record`, whatever its revision (the last
    /// writer wins). The temporary file is written before the lock is taken, so the lock is
    /// held for a rename only.
    pub(crate) fn update(
        &self,
        target: &Target,
        record: &Record,
        now: SystemTime,
    ) -> io::Result<bool> {
        let location = &target.location;
        if !exists(&location.file)? {
            return Ok(false); // no temporary file, no directories for a session that is gone
        }
        let mut temp = self.write_temp(location, &self.contents_of(record, &target.namespace)?)?;
        let Some(mut current) = self.lock_current(&location.file, true)? else {
            return Ok(false);
        };
        let stored = match self.read(&mut current)? {
            Contents::Record(stored) if !stored.record.is_expired(now) => stored,
            Contents::Corrupt if self.layout == Layout::Hashed => {
                self.unlink_locked(location, current)?;
                return Ok(false);
            }
            _ => return Ok(false),
        };
        if let Some(kept) = keeping_principal(&stored, record) {
            // Written again with the principal the record was stored with (rare: the sessions
            // layer never changes a principal in place), while holding the lock.
            temp = self.write_temp(location, &self.contents_of(&kept, &target.namespace)?)?;
        }
        fs::rename(&temp.path, &location.file)?;
        temp.armed = false;
        drop(current);
        self.sync(&location.dir)?;
        Ok(true)
    }

    /// Replaces the live record at `target` with `record` if its revision is `expected`.
    ///
    /// It reads the current file once and locks that very file: files are replaced whole and
    /// never changed in place, so while the name still points at the locked file, what was
    /// read is the record. If the name points elsewhere once the lock is held, another write
    /// came between (`Conflict`; `Gone` if the name is free). So a request that lost a race
    /// learns it from one read, and only the winner writes a temporary file (while holding the
    /// lock): when many requests race to change one session, the losers cost a read each.
    pub(crate) fn update_if(
        &self,
        target: &Target,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> io::Result<Updated> {
        let location = &target.location;
        let Some(mut current) = open_existing(&location.file)? else {
            return Ok(Updated::Gone);
        };
        let stored = match self.read(&mut current)? {
            Contents::Record(stored) if !stored.record.is_expired(now) => stored,
            Contents::Record(_) => return Ok(Updated::Gone),
            Contents::Corrupt => {
                self.remove_corrupt(location, current)?;
                return Ok(Updated::Gone);
            }
        };
        if stored.record.revision != expected {
            return Ok(Updated::Conflict);
        }
        current.lock()?;
        match fs::symlink_metadata(&location.file) {
            Ok(named) if same_file(&named, &current.metadata()?) => {}
            Ok(_) => return Ok(Updated::Conflict), // replaced since the read
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Updated::Gone), // deleted since
            Err(e) => return Err(e),
        }
        // An update keeps the principal the record was stored with.
        let kept = keeping_principal(&stored, record);
        let bytes = self.contents_of(kept.as_ref().unwrap_or(record), &target.namespace)?;
        let mut temp = self.write_temp(location, &bytes)?;
        fs::rename(&temp.path, &location.file)?;
        temp.armed = false;
        drop(current);
        self.sync(&location.dir)?;
        Ok(Updated::Written)
    }

    /// Holds `owner`'s entry of `key`, if there is an owner.
    fn hold(&self, owner: Option<&Owner>, key: &str) -> io::Result<Option<Held>> {
        owner.map(|owner| self.hold_entry(owner, key)).transpose()
    }

    pub(crate) fn delete(&self, location: &Location) -> io::Result<bool> {
        let Some(mut current) = self.lock_current(&location.file, true)? else {
            return Ok(false);
        };
        let owner = match self.layout {
            Layout::Hashed => self.owner_in(self.read(&mut current)?.stored().as_ref()),
            Layout::Ktor { .. } => None,
        };
        let removed = self.unlink_locked(location, current)?;
        self.unfile(owner, None, &location.name)?;
        Ok(removed)
    }

    pub(crate) fn change_id(
        &self,
        old: &Target,
        new: &Target,
        record: &Record,
        now: SystemTime,
    ) -> io::Result<bool> {
        let (from, to) = (&old.location, &new.location);
        if from.file == to.file || !exists(&from.file)? {
            return Ok(false);
        }
        let mut temp = self.write_temp(to, &self.contents_of(record, &new.namespace)?)?;
        let owner = self.owner_of(new, record);
        let held = self.hold(owner.as_ref(), &to.name)?;
        let Some(mut current) = self.lock_current(&from.file, true)? else {
            self.release(held);
            return Ok(false);
        };
        let previous = match self.read(&mut current)? {
            contents if contents.is_live(now) => self.owner_in(contents.stored().as_ref()),
            _ => {
                self.release(held);
                return Ok(false);
            }
        };
        // Claim the new name while holding the old file's lock. Never wait for a second lock
        // while holding one: a file someone else holds counts as taken.
        let replaced = match self.publish(to, &mut temp, now, false) {
            Ok(Published::Inserted(replaced)) => replaced,
            Ok(Published::Taken) => {
                drop(current);
                self.release(held);
                return Ok(false);
            }
            Err(e) => {
                drop(current);
                self.release(held);
                return Err(e);
            }
        };
        drop(temp);
        self.sync(&to.dir)?;
        self.unlink_locked(from, current)?;
        drop(held);
        self.unfile(previous, None, &from.name)?;
        self.unfile(self.owner_in(replaced.as_ref()), owner.as_ref(), &to.name)?;
        Ok(true)
    }
}
