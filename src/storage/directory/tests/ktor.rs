//! The Ktor-compatible layout: the contract without what its files cannot keep, Ktor's files
//! read and written exactly, expiry by modification time, pruning.

use std::fs;
use std::time::SystemTime;

use super::{hour, purge_in_batches, record, tree};
use crate::storage::contract::{Case, Suite};
use crate::storage::directory::DirectoryStorage;
use crate::storage::{SessionId, SessionStorage, test_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ktor_layout_keeps_the_contract_except_per_record_expiry() {
    let parent = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    Suite::new(|| {
        let root = parent.path().join(
            n.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                .to_string(),
        );
        async move {
            DirectoryStorage::builder(root)
                .ktor_layout(hour())
                .durable(false)
                .open()
                .unwrap()
        }
    })
    .skip(Case::RECORD_EXPIRY)
    .skip(Case::RECORD_METADATA)
    .skip(Case::NAMESPACED)
    .skip(&[Case::EmptyPayload])
    .exact_times(false)
    .run()
    .await;
}

#[tokio::test]
async fn ktor_layout_reads_ktor_files_and_expires_by_modification_time() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::builder(dir.path())
        .ktor_layout(hour())
        .open()
        .unwrap();
    let id = SessionId::generate();
    // A file exactly as Ktor writes it: `ab/cd/.../xx.dat` holding the JSON.
    let text = id.as_str();
    let mut path = dir.path().to_path_buf();
    for pair in text.as_bytes()[..62].chunks(2) {
        path.push(std::str::from_utf8(pair).unwrap());
    }
    fs::create_dir_all(&path).unwrap();
    path.push(format!("{}.dat", &text[62..]));
    let json = r#"{"userID":"123","productIDs":[1,3,7]}"#;
    fs::write(&path, json).unwrap();
    assert_eq!(storage.path_of(test_key(&id)).unwrap(), path);

    let now = SystemTime::now();
    let loaded = storage.load(test_key(&id), now).await.unwrap().unwrap();
    assert_eq!(loaded.data, json.as_bytes());
    let written = fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(loaded.expires_at, written + hour());
    // An hour after the last write it is gone; a sweep then removes it and its directories.
    assert_eq!(
        storage.load(test_key(&id), written + hour()).await.unwrap(),
        None
    );
    let old = SystemTime::now() - hour() * 2;
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(storage.load(test_key(&id), now).await.unwrap(), None);
    assert_eq!(storage.delete_expired(now).await.unwrap(), 1);
    assert_eq!(tree(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn ktor_layout_writes_what_ktor_reads_and_prunes_on_delete() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::ktor_compatible(dir.path()).unwrap();
    let now = SystemTime::now();
    let id = SessionId::generate();
    let json = r#"{"userID":"123","productIDs":[1,3,7]}"#;
    storage
        .create(test_key(&id), &record(json, now), now)
        .await
        .unwrap();
    let path = storage.path_of(test_key(&id)).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), json);
    assert_eq!(
        path.strip_prefix(dir.path()).unwrap().components().count(),
        32
    );
    // An empty or partial file (Ktor halfway through its in-place write) reads as absent
    // but is left alone.
    fs::write(&path, b"").unwrap();
    assert_eq!(storage.load(test_key(&id), now).await.unwrap(), None);
    assert!(path.exists());
    fs::write(&path, json).unwrap();
    assert!(storage.delete(test_key(&id)).await.unwrap());
    assert_eq!(
        tree(dir.path()),
        Vec::<String>::new(),
        "emptied directories are pruned"
    );

    let upper = SessionId::parse_custom("AbC").unwrap();
    assert_eq!(storage.path_of(test_key(&upper)), None);
    assert_eq!(storage.load(test_key(&upper), now).await.unwrap(), None);
    assert!(
        storage
            .create(test_key(&upper), &record("{}", now), now)
            .await
            .is_err()
    );
    assert!(
        storage
            .create(test_key(&id), &record("", now), now)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_batched_purge_of_the_ktor_layout_covers_root_files_and_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::builder(dir.path())
        .ktor_layout(hour())
        .durable(false)
        .open()
        .unwrap();
    let now = SystemTime::now();
    let old = now - hour() * 2;
    let ids = ["x", "ab", "abcd", "zz99", "zz98"].map(|t| SessionId::parse_custom(t).unwrap());
    for id in &ids {
        storage
            .create(test_key(id), &record("{}", now), now)
            .await
            .unwrap();
    }
    // `x` and `abcd` and `zz99` were last written two hours ago: expired in this layout.
    for n in [0, 2, 3] {
        fs::File::options()
            .write(true)
            .open(storage.path_of(test_key(&ids[n])).unwrap())
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let stats = storage.stats(now).await.unwrap().unwrap();
    assert_eq!((stats.live, stats.expired), (2, 3));
    let (removed, steps) = purge_in_batches(&storage, now).await;
    assert_eq!(removed, 3);
    assert_eq!(steps, 3, "the root and `ab`, then `zz`, then the last");
    assert_eq!(
        tree(dir.path()),
        ["ab.dat", "zz", "zz/98.dat"].map(String::from).to_vec(),
        "`x.dat` removed from the root, `ab/` pruned"
    );
}
