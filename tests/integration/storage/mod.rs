//! Storages: the contract suite against every storage, crash safety of the directory storage,
//! hostile ids, bounds and sweeps through the sessions layer, and the ported Ktor example.

mod crash;
mod example;
mod floods;
mod hostile;
mod layer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use async_trait::async_trait;
use typed_sessions::storage::contract::{self, Case, Suite};
use typed_sessions::storage::{
    CacheStorage, Created, DirectoryStorage, MemoryStorage, Namespace, PrincipalSession, Record,
    Revision, SessionHandle, SessionKey, SessionStorage, StorageError, Updated,
};

/// Fresh, distinct directories under one temporary directory.
struct Dirs {
    parent: tempfile::TempDir,
    next: AtomicUsize,
}

impl Dirs {
    fn new() -> Dirs {
        Dirs {
            parent: tempfile::tempdir().unwrap(),
            next: AtomicUsize::new(0),
        }
    }

    fn fresh(&self) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        self.parent.path().join(format!("storage-{n}"))
    }
}

/// Every path under `root`, relative, sorted.
pub fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_storage_keeps_the_contract() {
    contract::run(|| async { MemoryStorage::new() }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_storage_keeps_the_contract() {
    let dirs = Dirs::new();
    contract::run(|| {
        let root = dirs.fresh();
        async move { DirectoryStorage::open(root).unwrap() }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ktor_compatible_directory_storage_keeps_the_contract_except_per_record_expiry() {
    let dirs = Dirs::new();
    Suite::new(|| {
        let root = dirs.fresh();
        async move { DirectoryStorage::ktor_compatible(root).unwrap() }
    })
    // The layout keeps no expiry (a record lasts `max_age` after its last write), no revision
    // and no metadata (the files hold the data only, as Ktor's do: no conditional updates and
    // no principal index, which the contract checks are refused), files records under the raw
    // id as Ktor does (no namespace), and cannot keep an empty session; loaded times come from
    // the file's modification time.
    .skip(Case::RECORD_EXPIRY)
    .skip(Case::RECORD_METADATA)
    .skip(Case::NAMESPACED)
    .skip(&[Case::EmptyPayload])
    .exact_times(false)
    .ops_per_task(20)
    .run()
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_directory_storage_keeps_the_contract() {
    let dirs = Dirs::new();
    contract::run(|| {
        let root = dirs.fresh();
        async move { CacheStorage::new(DirectoryStorage::open(root).unwrap()) }
    })
    .await;
}

/// Two directory storages on one directory, used alternately: they share nothing in memory,
/// exactly like two processes (their `flock`s are on separate open files), so the contract
/// holding here shows the file protocol needs no in-process coordination.
#[derive(Debug)]
struct TwoProcesses {
    heads: [DirectoryStorage; 2],
    turn: AtomicUsize,
}

impl TwoProcesses {
    fn head(&self) -> &DirectoryStorage {
        let n = self.turn.fetch_add(1, Ordering::Relaxed) % 2;
        &self.heads[n]
    }
}

#[async_trait]
impl SessionStorage for TwoProcesses {
    async fn load(
        &self,
        key: SessionKey<'_>,
        now: SystemTime,
    ) -> Result<Option<Record>, StorageError> {
        self.head().load(key, now).await
    }
    async fn create(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<Created, StorageError> {
        self.head().create(key, record, now).await
    }
    async fn update(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.head().update(key, record, now).await
    }
    async fn delete(&self, key: SessionKey<'_>) -> Result<bool, StorageError> {
        self.head().delete(key).await
    }
    async fn change_id(
        &self,
        old: SessionKey<'_>,
        new: SessionKey<'_>,
        record: &Record,
        now: SystemTime,
    ) -> Result<bool, StorageError> {
        self.head().change_id(old, new, record, now).await
    }
    async fn delete_expired(&self, now: SystemTime) -> Result<u64, StorageError> {
        self.head().delete_expired(now).await
    }
    async fn update_if(
        &self,
        key: SessionKey<'_>,
        record: &Record,
        expected: Revision,
        now: SystemTime,
    ) -> Result<Updated, StorageError> {
        self.head().update_if(key, record, expected, now).await
    }
    fn supports_conditional_updates(&self) -> bool {
        self.heads.iter().all(|h| h.supports_conditional_updates())
    }
    fn supports_principals(&self) -> bool {
        self.heads.iter().all(|h| h.supports_principals())
    }
    async fn sessions_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        now: SystemTime,
    ) -> Result<Vec<PrincipalSession>, StorageError> {
        self.head().sessions_of(namespace, principal, now).await
    }
    async fn delete_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        handle: &SessionHandle,
    ) -> Result<bool, StorageError> {
        self.head().delete_of(namespace, principal, handle).await
    }
    async fn delete_all_of(
        &self,
        namespace: &Namespace,
        principal: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StorageError> {
        self.head()
            .delete_all_of(namespace, principal, except)
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_directory_storages_on_one_directory_keep_the_contract_together() {
    let dirs = Dirs::new();
    Suite::new(|| {
        let root = dirs.fresh();
        async move {
            let open = || {
                DirectoryStorage::builder(&root)
                    .durable(false)
                    .open()
                    .unwrap()
            };
            TwoProcesses {
                heads: [open(), open()],
                turn: AtomicUsize::new(0),
            }
        }
    })
    .run()
    .await;
}
