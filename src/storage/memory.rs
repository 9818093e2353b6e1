//! In-process storage.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use super::{Created, Record, SessionId, SessionStorage, StorageError};

/// Sessions kept in this process's memory. Lost on restart; not shared between processes.
///
/// ```
/// # tokio_test_block(async {
/// use std::time::{Duration, SystemTime};
/// use typed_sessions::storage::{Created, MemoryStorage, Record, SessionId, SessionStorage};
///
/// let storage = MemoryStorage::default();
/// let id = SessionId::generate();
/// let now = SystemTime::now();
/// let record = Record { data: "{}".into(), created_at: now, expires_at: now + Duration::from_secs(60) };
/// assert_eq!(storage.create(&id, &record, now).await.unwrap(), Created::Inserted);
/// assert_eq!(storage.load(&id, now).await.unwrap(), Some(record));
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryStorage {
    map: Mutex<HashMap<SessionId, Record>>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// The number of records held, expired ones included until they are swept.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn map(&self) -> Result<MutexGuard<'_, HashMap<SessionId, Record>>, StorageError> {
        self.map
            .lock()
            .map_err(|_| StorageError::backend("memory storage lock poisoned"))
    }
}

#[async_trait]
impl SessionStorage for MemoryStorage {
    async fn load(&self, id: &SessionId, now: SystemTime) -> Result<Option<Record>, StorageError> {
        Ok(self.map()?.get(id).filter(|r| !r.is_expired(now)).cloned())
    }

    async fn create(
        &self,
        id: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        let mut map = self.map()?;
        if map.get(id).is_some_and(|r| !r.is_expired(now)) {
            return Ok(Created::Collision);
        }
        map.insert(id.clone(), record.clone());
        Ok(Created::Inserted)
    }

    async fn update(
        &self,
        id: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let mut map = self.map()?;
        match map.get_mut(id) {
            Some(existing) if !existing.is_expired(now) => {
                *existing = record.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StorageError> {
        self.map()?.remove(id);
        Ok(())
    }

    async fn change_id(
        &self,
        old: &SessionId,
        new: &SessionId,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        let mut map = self.map()?;
        let old_live = map.get(old).is_some_and(|r| !r.is_expired(now));
        let new_taken = map.get(new).is_some_and(|r| !r.is_expired(now));
        if !old_live || new_taken {
            return Ok(false);
        }
        map.remove(old);
        map.insert(new.clone(), record.clone());
        Ok(true)
    }

    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        let mut map = self.map()?;
        let before = map.len();
        map.retain(|_, r| !r.is_expired(now));
        Ok((before - map.len()) as u64)
    }
}
