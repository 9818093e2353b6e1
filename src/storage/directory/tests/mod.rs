//! The directory storage's own tests: the contract, files and their permissions, corrupt files,
//! sweeps; the file format, the principal index, the Ktor-compatible layout, far-future times
//! and the trust checks at open in their own files.

mod far_future;
mod format;
mod index;
mod ktor;
mod trust;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::storage::contract;
use crate::storage::{Created, Record, SessionId, SessionStorage, test_key};

fn hour() -> Duration {
    Duration::from_secs(3600)
}

fn record(data: &str, now: SystemTime) -> Record {
    Record::new(data, now, now + hour())
}

/// Every path under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
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
async fn keeps_the_contract_without_fsync() {
    let parent = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    contract::run(|| {
        let root = parent.path().join(
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                .to_string(),
        );
        async move {
            DirectoryStorage::builder(root)
                .durable(false)
                .open()
                .unwrap()
        }
    })
    .await;
}

#[tokio::test]
async fn corrupt_and_empty_files_read_as_absent_and_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path()).unwrap();
    let now = SystemTime::now();
    for garbage in [&b""[..], b"garbage", b"typed-sessions/1 1 2 3 0000\n{}"] {
        let id = SessionId::generate();
        storage
            .create(test_key(&id), &record("{}", now), now)
            .await
            .unwrap();
        let path = storage.path_of(test_key(&id)).unwrap();
        fs::write(&path, garbage).unwrap();
        assert_eq!(storage.load(test_key(&id), now).await.unwrap(), None);
        assert!(!path.exists(), "the corrupt file was not removed");
        // The id is free again.
        assert_eq!(
            storage
                .create(test_key(&id), &record("{}", now), now)
                .await
                .unwrap(),
            Created::Inserted
        );
    }
    // A truncated copy of a real file.
    let id = SessionId::generate();
    storage
        .create(test_key(&id), &record("{\"a\":1}", now), now)
        .await
        .unwrap();
    let path = storage.path_of(test_key(&id)).unwrap();
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    assert!(
        !storage
            .update(test_key(&id), &record("{}", now), now)
            .await
            .unwrap()
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn operations_on_unknown_ids_create_nothing_in_either_layout() {
    let dir = tempfile::tempdir().unwrap();
    for storage in [
        DirectoryStorage::open(dir.path().join("hashed")).unwrap(),
        DirectoryStorage::ktor_compatible(dir.path().join("ktor")).unwrap(),
    ] {
        let now = SystemTime::now();
        for _ in 0..20 {
            let (id, other) = (SessionId::generate(), SessionId::generate());
            assert_eq!(storage.load(test_key(&id), now).await.unwrap(), None);
            assert!(
                !storage
                    .update(test_key(&id), &record("{}", now), now)
                    .await
                    .unwrap()
            );
            assert!(!storage.delete(test_key(&id)).await.unwrap());
            let r = record("{}", now);
            assert!(
                !storage
                    .change_id(test_key(&id), test_key(&other), &r, now)
                    .await
                    .unwrap()
            );
        }
        assert_eq!(tree(storage.root()), Vec::<String>::new());
    }
}

#[tokio::test]
async fn files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path().join("s")).unwrap();
    let id = SessionId::generate();
    let now = SystemTime::now();
    storage
        .create(test_key(&id), &record("{}", now), now)
        .await
        .unwrap();
    let file = storage.path_of(test_key(&id)).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    assert_eq!(mode(storage.root()), 0o700);
    storage
        .update(test_key(&id), &record("{\"b\":2}", now), now)
        .await
        .unwrap();
    assert_eq!(mode(&file), 0o600);
}

#[tokio::test]
async fn stray_temporary_files_are_removed_at_open_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path()).unwrap();
    let id = SessionId::generate();
    let now = SystemTime::now();
    storage
        .create(test_key(&id), &record("{}", now), now)
        .await
        .unwrap();
    let fan_out = storage
        .path_of(test_key(&id))
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let stray = fan_out.join(layout::temp_name(&test_key(&id).storage_key()));
    fs::write(&stray, b"half a rec").unwrap();
    let unrelated = fan_out.join("notes.txt");
    fs::write(&unrelated, b"not ours").unwrap();
    // Young temporary files may belong to another process: kept.
    DirectoryStorage::open(dir.path()).unwrap();
    assert!(stray.exists());
    // Old ones are crash leftovers: removed. Unknown files are never touched.
    DirectoryStorage::builder(dir.path())
        .temp_grace(Duration::ZERO)
        .open()
        .unwrap();
    assert!(!stray.exists());
    assert!(unrelated.exists());
    assert!(storage.load(test_key(&id), now).await.unwrap().is_some());
}

#[tokio::test]
async fn the_sweep_removes_expired_and_corrupt_files_and_old_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::builder(dir.path())
        .temp_grace(Duration::ZERO)
        .open()
        .unwrap();
    let now = SystemTime::now();
    let mut live = Vec::new();
    for n in 0..30u32 {
        let id = SessionId::generate();
        let lifetime = Duration::from_secs(u64::from(n % 3) * 600 + 60); // 1, 11 or 21 min
        let record = Record::new("{}", now, now + lifetime);
        storage.create(test_key(&id), &record, now).await.unwrap();
        if n % 3 == 2 {
            live.push(id);
        }
    }
    let corrupt = SessionId::generate();
    storage
        .create(test_key(&corrupt), &record("{}", now), now)
        .await
        .unwrap();
    fs::write(storage.path_of(test_key(&corrupt)).unwrap(), b"").unwrap();
    let temp = storage
        .path_of(test_key(&corrupt))
        .unwrap()
        .with_file_name(layout::temp_name("x"));
    fs::write(&temp, b"").unwrap();

    let removed = storage
        .delete_expired(now + Duration::from_secs(15 * 60))
        .await
        .unwrap();
    assert_eq!(removed, 20 + 1, "20 expired and 1 corrupt file");
    assert!(!temp.exists());
    let files: Vec<String> = tree(storage.root())
        .into_iter()
        .filter(|p| p.contains('/'))
        .collect();
    assert_eq!(files.len(), live.len(), "{files:?}");
    for id in &live {
        assert!(
            storage
                .load(test_key(&id.clone()), now)
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn a_record_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::builder(dir.path())
        .durable(false)
        .open()
        .unwrap();
    let now = SystemTime::now();
    let huge = "x".repeat(crate::storage::directory::format::MAX_DATA + 1);
    let error = storage
        .create(test_key(&SessionId::generate()), &record(&huge, now), now)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), crate::storage::StorageErrorKind::Backend);
}

#[tokio::test]
async fn an_unwritable_directory_is_an_error_not_an_absent_session() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path().join("s")).unwrap();
    let now = SystemTime::now();
    let id = SessionId::generate();
    storage
        .create(test_key(&id), &record("{}", now), now)
        .await
        .unwrap();
    if nix_is_root() {
        return; // root ignores permissions
    }
    fs::set_permissions(storage.root(), fs::Permissions::from_mode(0o000)).unwrap();
    let result = storage.load(test_key(&id), now).await;
    fs::set_permissions(storage.root(), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(
        result.unwrap_err().kind(),
        crate::storage::StorageErrorKind::Unavailable
    );
}

fn nix_is_root() -> bool {
    // Without libc: root can read a file with mode 000.
    let probe = tempfile::NamedTempFile::new().unwrap();
    fs::set_permissions(probe.path(), fs::Permissions::from_mode(0o000)).unwrap();
    fs::read(probe.path()).is_ok()
}

/// Runs a batched purge to the end; returns the records removed and the number of steps.
async fn purge_in_batches(storage: &DirectoryStorage, now: SystemTime) -> (u64, usize) {
    let (mut removed, mut from, mut steps) = (0, None, 0);
    loop {
        let batch = storage.delete_expired_batch(now, from, 1000).await.unwrap();
        removed += batch.removed;
        steps += 1;
        match batch.next {
            Some(next) => from = Some(next),
            None => return (removed, steps),
        }
    }
}

#[tokio::test]
async fn stats_and_a_batched_purge_go_one_fan_out_directory_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::builder(dir.path())
        .durable(false)
        .open()
        .unwrap();
    let now = SystemTime::now();
    let mut dirs = std::collections::HashSet::new();
    for n in 0..40u32 {
        let id = SessionId::generate();
        dirs.insert(test_key(&id).storage_key()[..2].to_owned());
        let lifetime = if n % 4 == 0 { hour() } else { hour() * 3 };
        storage
            .create(test_key(&id), &Record::new("{}", now, now + lifetime), now)
            .await
            .unwrap();
    }
    let later = now + hour() * 2;
    let stats = storage.stats(later).await.unwrap().unwrap();
    assert_eq!((stats.live, stats.expired, stats.unreadable), (30, 10, 0));
    assert!(stats.bytes.unwrap() > 0);
    let before = tree(dir.path());
    let (removed, steps) = purge_in_batches(&storage, later).await;
    assert_eq!(removed, 10);
    assert_eq!(
        steps,
        dirs.len() + 1,
        "one step per fan-out directory, then the last"
    );
    let after = storage.stats(later).await.unwrap().unwrap();
    assert_eq!((after.live, after.expired), (30, 0));
    // Statistics created nothing, and the purge removed only files.
    assert_eq!(tree(dir.path()).len(), before.len() - 10);
}
