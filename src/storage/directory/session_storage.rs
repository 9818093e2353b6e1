//! [`SessionStorage`] for [`DirectoryStorage`]: each operation runs its file protocol on
//! tokio's blocking pool.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::index::Owner;
use super::layout::Layout;
use super::sweep::Sweep;
use super::{Dir, DirectoryStorage};
use crate::storage::{
    Created, Namespace, PrincipalSession, PurgeBatch, PurgeCursor, Record, Revision, SessionHandle,
    SessionKey, SessionStorage, StorageError, StorageStats, Updated, blocking,
};

/// Maps an I/O failure of `what` into a storage error (an invalid record into `Backend`,
/// anything else into `Unavailable`). The message never holds a path: paths contain ids in
/// the Ktor layout.
fn io_error(what: &'static str) -> impl FnOnce(std::io::Error) -> StorageError {
    move |error| {
        let kind = if error.kind() == std::io::ErrorKind::InvalidInput {
            StorageError::backend(what)
        } else {
            StorageError::unavailable(what)
        };
        kind.with_source(error)
    }
}

fn no_index() -> StorageError {
    StorageError::unsupported(
        "the Ktor-compatible directory layout keeps no principal index (its files hold the data only)",
    )
}

impl DirectoryStorage {
    /// The principal index's owner of `principal` in `namespace`, or the refusal of a layout
    /// without an index.
    fn owner(&self, namespace: &Namespace, principal: &str) -> Result<Owner, StorageError> {
        match self.dir.layout {
            Layout::Hashed => Ok(Owner::of(namespace.name(), principal)),
            Layout::Ktor { .. } => Err(no_index()),
        }
    }

    /// Runs `work` on the blocking pool with this storage's directory.
    async fn run<T: Send + 'static>(
        &self,
        what: &'static str,
        work: impl FnOnce(&Dir) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let dir = Arc::clone(&self.dir);
        blocking(what, move || work(&dir).map_err(io_error(what))).await
    }
}

#[async_trait]
impl SessionStorage for DirectoryStorage {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        let Some(location) = self.locate(key) else {
            return Ok(None);
        };
        let tag = key.id().log_tag();
        self.run("cannot read a session file", move |dir| {
            dir.load(&location, now, tag)
        })
        .await
    }

    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        let (target, record) = (self.target_for_write(key)?, record.clone());
        self.run("cannot write a session file", move |dir| {
            dir.create(&target, &record, now)
        })
        .await
    }

    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let Some(target) = self.target(key) else {
            return Ok(false);
        };
        let record = record.clone();
        self.run("cannot write a session file", move |dir| {
            dir.update(&target, &record, now)
        })
        .await
    }

    /// Compares the revision under the same `flock` as [`update`](Self::update) holds, so it
    /// is atomic also across processes sharing the directory. The Ktor-compatible layout keeps
    /// no revision and refuses with [`Unsupported`](crate::storage::StorageErrorKind::Unsupported).
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        if self.is_ktor_compatible() {
            return Err(StorageError::unsupported(
                "the Ktor-compatible directory layout keeps no revision (its files hold the data only)",
            ));
        }
        let Some(target) = self.target(key) else {
            return Ok(Updated::Gone);
        };
        let record = record.clone();
        self.run("cannot write a session file", move |dir| {
            dir.update_if(&target, &record, expected, now)
        })
        .await
    }

    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        let Some(location) = self.locate(key) else {
            return Ok(false);
        };
        self.run("cannot remove a session file", move |dir| {
            dir.delete(&location)
        })
        .await
    }

    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let Some(old) = self.target(old) else {
            return Ok(false);
        };
        let (new, record) = (self.target_for_write(new)?, record.clone());
        self.run("cannot move a session file", move |dir| {
            dir.change_id(&old, &new, &record, now)
        })
        .await
    }

    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        let swept = self
            .run("cannot sweep the session directory", move |dir| {
                let temps_before = SystemTime::now().checked_sub(dir.temp_grace);
                dir.sweep(Sweep {
                    expired_at: Some(now),
                    temps_before,
                })
            })
            .await?;
        Ok(swept.records)
    }

    fn backend(&self) -> &'static str {
        if self.is_ktor_compatible() {
            "directory-ktor"
        } else {
            "directory"
        }
    }

    fn supports_conditional_updates(&self) -> bool {
        !self.is_ktor_compatible()
    }

    fn supports_principals(&self) -> bool {
        !self.is_ktor_compatible()
    }

    /// Lists the principal's directory of the index and reads each entry's record (one
    /// `readdir` and one read per session); entries a crash left stale are dropped on the way.
    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        let owner = self.owner(namespace, principal)?;
        let sessions = self
            .run("cannot read the principal index", move |dir| {
                dir.sessions_of(&owner, now)
            })
            .await?;
        Ok(sessions
            .into_iter()
            .map(|(handle, record)| PrincipalSession::new(handle, record))
            .collect())
    }

    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        let (owner, key) = (self.owner(namespace, principal)?, handle.storage_key());
        self.run("cannot end a session of the principal index", move |dir| {
            dir.end(&owner, &key)
        })
        .await
    }

    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        let owner = self.owner(namespace, principal)?;
        let except = except.map(SessionHandle::storage_key);
        self.run(
            "cannot end the sessions of the principal index",
            move |dir| dir.end_all(&owner, except.as_deref()),
        )
        .await
    }

    /// One fan-out directory per step (256 steps in the default layout, then one per fan-out
    /// directory of the principal index; in the Ktor layout one top-level directory, the first
    /// step also taking the files in the root); `limit` is not used.
    async fn delete_expired_batch(
        &self,
        now: SystemTime,
        from: Option<PurgeCursor>,
        _limit: u64,
    ) -> Result<PurgeBatch, StorageError> {
        let after = from.map(PurgeCursor::position);
        let (swept, walked) = self
            .run("cannot sweep the session directory", move |dir| {
                let temps_before = SystemTime::now().checked_sub(dir.temp_grace);
                dir.sweep_part(
                    after,
                    Sweep {
                        expired_at: Some(now),
                        temps_before,
                    },
                )
            })
            .await?;
        Ok(match walked {
            Some(code) => PurgeBatch::more(swept.records, PurgeCursor::new(code)),
            None => PurgeBatch::finished(swept.records),
        })
    }

    /// Reads every session file (no lock; nothing is created or removed). Unreadable files
    /// are counted apart; the size is the disk space of the session files, of the layout's
    /// directories and of the principal index (allocated blocks).
    async fn stats(&self, now: SystemTime) -> Result<Option<StorageStats>, StorageError> {
        let survey = self
            .run("cannot read the session directory", move |dir| {
                dir.survey(now)
            })
            .await?;
        Ok(Some(
            StorageStats::new(survey.live, survey.expired)
                .with_unreadable(survey.unreadable)
                .with_size(survey.bytes, "session files and directories on disk"),
        ))
    }
}
