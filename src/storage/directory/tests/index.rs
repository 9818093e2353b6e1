//! The principal index on disk: where entries live, how stale ones are recognised and dropped,
//! the lock that keeps a removal from slipping between a write's filing and its record, and
//! files of the first format.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{hour, record, tree};
use crate::storage::directory::DirectoryStorage;
use crate::storage::directory::index::Owner;
use crate::storage::{
    Namespace, Record, SessionHandle, SessionId, SessionStorage, Updated, test_key,
};

fn storage(root: &std::path::Path) -> DirectoryStorage {
    DirectoryStorage::builder(root)
        .durable(false)
        .open()
        .unwrap()
}

/// The namespace of `test_key`.
fn tests_ns() -> Namespace {
    Namespace::new("tests")
}

/// The entry file of `id` under `principal` (in `test_key`'s namespace).
fn entry_of(storage: &DirectoryStorage, principal: &str, id: &SessionId) -> PathBuf {
    let owner = Owner::of("tests", principal);
    storage.dir.entry(&owner, &test_key(id).storage_key()).file
}

async fn listed(
    storage: &DirectoryStorage,
    principal: &str,
    now: SystemTime,
) -> Vec<SessionHandle> {
    let mut handles: Vec<SessionHandle> = storage
        .sessions_of(&tests_ns(), principal, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.handle)
        .collect();
    handles.sort_by_key(|h| *h.digest());
    handles
}

/// Creates `id`'s session as `principal`'s, valid for an hour; returns its record.
async fn login(storage: &DirectoryStorage, id: &SessionId, principal: &str) -> Record {
    let now = SystemTime::now();
    let record = record("{}", now).with_principal(principal);
    storage.create(test_key(id), &record, now).await.unwrap();
    record
}

/// Writes an empty file at `path` (an index entry, as a crash or a hand could leave it).
fn plant(path: &std::path::Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, b"").unwrap();
}

fn handles(ids: &[&SessionId]) -> Vec<SessionHandle> {
    let mut handles: Vec<SessionHandle> = ids
        .iter()
        .map(|id| SessionHandle::of(test_key(id)))
        .collect();
    handles.sort_by_key(|h| *h.digest());
    handles
}

#[tokio::test]
async fn entries_are_hashed_private_and_go_with_their_session() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path()).unwrap();
    let (id, now) = (SessionId::generate(), SystemTime::now());
    let principal = "ada.lovelace@example.org";
    let r = record("{}", now).with_principal(principal);
    storage.create(test_key(&id), &r, now).await.unwrap();
    let entry = entry_of(&storage, principal, &id);
    assert!(entry.is_file());
    assert_eq!(fs::metadata(&entry).unwrap().len(), 0);
    let relative = entry
        .strip_prefix(dir.path())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let owner = Owner::of("tests", principal);
    let key = test_key(&id).storage_key();
    let expected = format!("principals/{}/{}/{key}", &owner.name()[..2], owner.name());
    assert_eq!(relative, expected);
    assert_ne!(owner, Owner::of("other", principal), "per namespace");
    assert_ne!(
        owner,
        Owner::of("tests", "ada.lovelace@example.com"),
        "per principal"
    );
    for path in tree(dir.path()) {
        assert!(
            !path.contains("ada") && !path.contains(id.as_str()),
            "{path}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&entry), 0o600);
    assert_eq!(mode(entry.parent().unwrap()), 0o700);
    let index = storage.dir.index_bytes().unwrap();
    assert!(index > 0);
    let stats = storage.stats(now).await.unwrap().unwrap();
    assert!(
        stats.bytes.unwrap() > index,
        "the size counts the index and the record"
    );
    // A delete removes the entry and the principal's emptied directory.
    assert!(storage.delete(test_key(&id)).await.unwrap());
    assert!(!entry.exists());
    assert!(!entry.parent().unwrap().exists());
}

#[tokio::test]
async fn stale_entries_are_never_listed_and_are_dropped_by_listing_and_open() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let now = SystemTime::now();
    let (live, gone, moved) = (
        SessionId::generate(),
        SessionId::generate(),
        SessionId::generate(),
    );
    login(&storage, &live, "ada").await;
    login(&storage, &moved, "bob").await;
    // What a crash can leave: an entry whose record never came (killed between the two
    // writes), and one whose record belongs to someone else.
    for id in [&gone, &moved] {
        plant(&entry_of(&storage, "ada", id));
    }
    assert_eq!(listed(&storage, "ada", now).await, handles(&[&live]));
    assert!(
        !entry_of(&storage, "ada", &gone).exists(),
        "listing dropped the stale entry"
    );
    assert!(!entry_of(&storage, "ada", &moved).exists());
    assert!(
        entry_of(&storage, "bob", &moved).exists(),
        "bob's own entry stays"
    );
    // The same leftovers are gone after a restart, without any listing.
    for id in [&gone, &moved] {
        fs::write(entry_of(&storage, "ada", id), b"").unwrap();
    }
    let reopened = self::storage(dir.path());
    assert!(!entry_of(&reopened, "ada", &gone).exists());
    assert!(!entry_of(&reopened, "ada", &moved).exists());
    assert!(entry_of(&reopened, "ada", &live).exists());
    assert_eq!(listed(&reopened, "ada", now).await, handles(&[&live]));
}

#[tokio::test]
async fn a_removal_waits_for_the_write_that_holds_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let (id, now) = (SessionId::generate(), SystemTime::now());
    let owner = Owner::of("tests", "ada");
    let key = test_key(&id).storage_key();
    // A create has filed its entry and is about to publish the record.
    let held = storage.dir.hold_entry(&owner, &key).unwrap();
    let remover = {
        let (dir, owner, key) = (Arc::clone(&storage.dir), owner.clone(), key.clone());
        std::thread::spawn(move || dir.drop_entry_if_stale(&owner, &key, None).unwrap())
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !remover.is_finished(),
        "the removal did not wait for the held entry"
    );
    // The record is published while the entry is held, then the entry is let go.
    let location = storage.locate(test_key(&id)).unwrap();
    fs::create_dir_all(&location.dir).unwrap();
    let bytes = super::super::format::encode(&record("{}", now).with_principal("ada"), "tests");
    fs::write(&location.file, bytes).unwrap();
    drop(held);
    assert_eq!(
        remover.join().unwrap(),
        (0, 0),
        "the entry of an owned record was removed"
    );
    assert_eq!(listed(&storage, "ada", now).await, handles(&[&id]));
}

#[tokio::test]
async fn expired_sessions_leave_the_index_with_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let now = SystemTime::now();
    let (short, long) = (SessionId::generate(), SessionId::generate());
    let dying = Record::new("{}", now, now + Duration::from_secs(10)).with_principal("ada");
    storage.create(test_key(&short), &dying, now).await.unwrap();
    login(&storage, &long, "ada").await;
    let later = now + Duration::from_secs(10);
    assert_eq!(listed(&storage, "ada", later).await, handles(&[&long]));
    assert!(
        entry_of(&storage, "ada", &short).exists(),
        "kept with its record until a sweep"
    );
    assert_eq!(storage.delete_expired(later).await.unwrap(), 1);
    assert!(!entry_of(&storage, "ada", &short).exists());
    assert!(!storage.path_of(test_key(&short)).unwrap().exists());
    // At open, by the real clock.
    let past = now - hour() * 3;
    let old = SessionId::generate();
    let ended = Record::new("{}", past, past + hour()).with_principal("ada");
    storage.create(test_key(&old), &ended, past).await.unwrap();
    assert!(entry_of(&storage, "ada", &old).exists());
    let reopened = self::storage(dir.path());
    assert!(!entry_of(&reopened, "ada", &old).exists());
    assert!(!reopened.path_of(test_key(&old)).unwrap().exists());
    assert!(entry_of(&reopened, "ada", &long).exists());
}

#[tokio::test]
async fn a_sweep_files_a_session_whose_entry_was_lost_again() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let (id, now) = (SessionId::generate(), SystemTime::now());
    storage
        .create(test_key(&id), &record("{}", now).with_principal("ada"), now)
        .await
        .unwrap();
    // Durability off and a power failure: the record survived, its entry did not.
    fs::remove_file(entry_of(&storage, "ada", &id)).unwrap();
    assert_eq!(listed(&storage, "ada", now).await, handles(&[]));
    assert_eq!(storage.delete_expired(now).await.unwrap(), 0);
    assert_eq!(listed(&storage, "ada", now).await, handles(&[&id]));
}

#[tokio::test]
async fn delete_of_needs_the_principals_own_entry_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let (bobs, now) = (SessionId::generate(), SystemTime::now());
    let bob = record("{}", now).with_principal("bob");
    storage.create(test_key(&bobs), &bob, now).await.unwrap();
    let handle = SessionHandle::of(test_key(&bobs));
    // Not in ada's index: nothing ends.
    assert!(
        !storage
            .delete_of(&tests_ns(), "ada", &handle)
            .await
            .unwrap()
    );
    // In ada's index (planted, as a crash could leave it) but bob's by its record: nothing
    // ends either, and the planted entry goes.
    let planted = entry_of(&storage, "ada", &bobs);
    plant(&planted);
    assert!(
        !storage
            .delete_of(&tests_ns(), "ada", &handle)
            .await
            .unwrap()
    );
    assert!(!planted.exists());
    assert_eq!(storage.load(test_key(&bobs), now).await.unwrap(), Some(bob));
    // Another namespace's index does not end it either.
    let other = Namespace::new("other");
    assert!(!storage.delete_of(&other, "bob", &handle).await.unwrap());
    assert!(
        storage
            .delete_of(&tests_ns(), "bob", &handle)
            .await
            .unwrap()
    );
    assert_eq!(storage.load(test_key(&bobs), now).await.unwrap(), None);
    assert_eq!(
        tree(&dir.path().join("principals"))
            .iter()
            .filter(|p| p.matches('/').count() > 1)
            .count(),
        0
    );
}

#[tokio::test]
async fn an_update_keeps_the_principal_and_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let (id, now) = (SessionId::generate(), SystemTime::now());
    let ada = record("1", now).with_principal("ada");
    storage.create(test_key(&id), &ada, now).await.unwrap();
    // An update naming another principal, conditional or not, or none: still ada's.
    let bob = record("2", now).with_principal("bob");
    let written = storage
        .update_if(test_key(&id), &bob, ada.revision, now)
        .await;
    assert_eq!(written.unwrap(), Updated::Written);
    assert!(
        storage
            .update(test_key(&id), &record("3", now), now)
            .await
            .unwrap()
    );
    let stored = storage.load(test_key(&id), now).await.unwrap().unwrap();
    assert_eq!(stored.data, b"3");
    assert_eq!(stored.meta.principal.as_deref(), Some("ada"));
    assert_eq!(listed(&storage, "ada", now).await, handles(&[&id]));
    assert_eq!(listed(&storage, "bob", now).await, handles(&[]));
    assert!(entry_of(&storage, "ada", &id).exists());
    assert!(!entry_of(&storage, "bob", &id).exists());
}

#[tokio::test]
async fn a_batched_purge_reconciles_the_index_one_fan_out_directory_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let now = SystemTime::now();
    let (expired, live, stale) = (
        SessionId::generate(),
        SessionId::generate(),
        SessionId::generate(),
    );
    let dying = Record::new("{}", now, now + Duration::from_secs(1)).with_principal("ada");
    storage
        .create(test_key(&expired), &dying, now)
        .await
        .unwrap();
    login(&storage, &live, "bob").await;
    let planted = entry_of(&storage, "eve", &stale);
    plant(&planted);
    let later = now + Duration::from_secs(1);
    let record_dirs: std::collections::HashSet<String> = [&expired, &live]
        .iter()
        .map(|id| test_key(id).storage_key()[..2].to_owned())
        .collect();
    let index_dirs = storage.dir.index_fan_outs().unwrap().len();
    let (removed, steps) = super::purge_in_batches(&storage, later).await;
    assert_eq!(removed, 1);
    assert_eq!(steps, record_dirs.len() + index_dirs + 1);
    assert!(!planted.exists());
    assert!(!entry_of(&storage, "ada", &expired).exists());
    assert!(entry_of(&storage, "bob", &live).exists());
}

/// A conditional update that read the current record, then waited for its lock while another
/// write replaced or removed the file, answers `Conflict` (or `Gone`) and writes nothing.
#[tokio::test]
async fn a_conditional_update_that_loses_the_race_for_the_lock_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(dir.path());
    let now = SystemTime::now();
    for replaced in [true, false] {
        let id = SessionId::generate();
        let first = record("1", now);
        storage.create(test_key(&id), &first, now).await.unwrap();
        let path = storage.path_of(test_key(&id)).unwrap();
        // Another writer holds the lock of the current file...
        let holder = fs::File::open(&path).unwrap();
        holder.lock().unwrap();
        let conditional = {
            let (dir, target) = (
                Arc::clone(&storage.dir),
                storage.target(test_key(&id)).unwrap(),
            );
            let (next, expected) = (record("2", now), first.revision);
            std::thread::spawn(move || dir.update_if(&target, &next, expected, now).unwrap())
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !conditional.is_finished(),
            "the update did not wait for the lock"
        );
        // ...and replaces the file (or removes it) before letting go.
        let other = record("other", now);
        if replaced {
            let bytes = crate::storage::directory::format::encode(&other, "tests");
            let temp = path.with_extension("tmp");
            fs::write(&temp, bytes).unwrap();
            fs::rename(&temp, &path).unwrap();
        } else {
            fs::remove_file(&path).unwrap();
        }
        drop(holder);
        let outcome = conditional.join().unwrap();
        let expected = if replaced {
            Updated::Conflict
        } else {
            Updated::Gone
        };
        assert_eq!(outcome, expected);
        let stored = storage.load(test_key(&id), now).await.unwrap();
        assert_eq!(
            stored,
            replaced.then_some(other),
            "the losing update wrote nothing"
        );
    }
}

#[tokio::test]
async fn a_linked_index_directory_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let storage = storage(&root);
    login(&storage, &SessionId::generate(), "ada").await;
    let elsewhere = dir.path().join("elsewhere");
    fs::rename(root.join("principals"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.join("principals")).unwrap();
    assert!(DirectoryStorage::open(&root).is_err());
}
