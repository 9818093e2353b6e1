//! The writes of the file protocol: create, update (plain and conditional), delete, id change.
//!
//! * `create` publishes the temporary file with `link(2)`, which fails if the name exists: of
//!   two creators only one can win, in one process or several. An expired or corrupt record
//!   in the way is replaced while holding its lock.
//! * `update`, `delete` and `change_id` first lock the current file
//!   ([`Dir::lock_current`]) and act only after checking what it holds. A delete and an
//!   update of one session therefore never interleave: an update checks the record is live
//!   (and, conditional, that its revision is the expected one) and renames its temporary file
//!   over it under the lock, a delete unlinks it under the lock, and whichever comes second
//!   sees what the first did.
//! * A write that files a record under a principal holds the index entry first, and a write
//!   that takes a record away from a principal drops the entry after (see `index.rs`).

use std::fs;
use std::io;
use std::time::SystemTime;

use super::files::{Contents, Dir, RETRIES, Temp, exists};
use super::format::Stored;
use super::index::{Held, Owner};
use super::layout::{Layout, Location};
use crate::storage::{Created, Record, Revision, Updated};

/// Where a write goes: the record's file and the namespace of its session.
pub(crate) struct Target {
    pub(crate) location: Location,
    pub(crate) namespace: String,
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
        let held = match &owner {
            Some(owner) => Some(self.hold_entry(owner, &location.name)?),
            None => None,
        };
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

    /// Replaces the live record at `target` with `record`, if its revision is `expected`
    /// (any revision with `None`).
    pub(crate) fn replace(
        &self,
        target: &Target,
        record: &Record,
        expected: Option<Revision>,
        now: SystemTime,
    ) -> io::Result<Updated> {
        let location = &target.location;
        if !exists(&location.file)? {
            return Ok(Updated::Gone); // no temporary file, no directories for a session that is gone
        }
        let mut temp = self.write_temp(location, &self.contents_of(record, &target.namespace)?)?;
        let owner = self.owner_of(target, record);
        let mut held: Option<Held> = None;
        for _ in 0..RETRIES {
            let Some(mut current) = self.lock_current(&location.file, true)? else {
                self.release(held);
                return Ok(Updated::Gone);
            };
            let stored = match self.read(&mut current)? {
                Contents::Record(stored) if !stored.record.is_expired(now) => stored,
                Contents::Corrupt if self.layout == Layout::Hashed => {
                    self.unlink_locked(location, current)?;
                    self.release(held);
                    return Ok(Updated::Gone);
                }
                _ => {
                    self.release(held);
                    return Ok(Updated::Gone);
                }
            };
            if expected.is_some_and(|expected| stored.record.revision != expected) {
                self.release(held);
                return Ok(Updated::Conflict);
            }
            let previous = self.owner_in(Some(&stored));
            if let Some(owner) = owner.as_ref().filter(|o| previous.as_ref() != Some(*o))
                && held.is_none()
            {
                // Filed under another principal (or none) until now: the new owner's entry
                // must be held before the record's lock (the lock order), so start over.
                drop(current);
                held = Some(self.hold_entry(owner, &location.name)?);
                continue;
            }
            fs::rename(&temp.path, &location.file)?;
            temp.armed = false;
            drop(current);
            self.sync(&location.dir)?;
            drop(held);
            self.unfile(previous, owner.as_ref(), &location.name)?;
            return Ok(Updated::Written);
        }
        self.release(held);
        Err(io::Error::other(
            "a session file kept changing its principal",
        ))
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
        let held = match &owner {
            Some(owner) => Some(self.hold_entry(owner, &to.name)?),
            None => None,
        };
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
