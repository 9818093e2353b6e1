//! The directory must be private: refused at open when it is not, and nothing below the root
//! is followed through a symbolic link.

use std::error::Error;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::super::trust::effective_uid;
use super::super::{DirectoryRole, DirectoryStorage, UntrustedDirectory};
use crate::storage::{Record, SessionId, SessionStorage, StorageError, StorageErrorKind, test_key};

/// Some other user's id: `nobody` where this runs as root, else root.
fn another_user() -> u32 {
    if effective_uid() == 0 { 65534 } else { 0 }
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn why(error: &StorageError) -> UntrustedDirectory {
    error
        .source()
        .and_then(|e| e.downcast_ref::<UntrustedDirectory>())
        .unwrap_or_else(|| panic!("not refused as untrusted: {error}"))
        .clone()
}

fn refusal(root: &Path) -> UntrustedDirectory {
    let error = DirectoryStorage::open(root).unwrap_err();
    assert_eq!(error.kind(), StorageErrorKind::Backend);
    why(&error)
}

#[test]
fn a_root_writable_by_group_or_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    fs::create_dir(&root).unwrap();
    for mode in [0o770, 0o777, 0o702, 0o720] {
        set_mode(&root, mode);
        let error = DirectoryStorage::open(&root).unwrap_err();
        assert_eq!(
            why(&error),
            UntrustedDirectory::WritableByOthers {
                role: DirectoryRole::Root,
                mode
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("chmod") && message.contains(&format!("{mode:04o}")),
            "{message}"
        );
    }
    // Private, or only readable by others (a warning): accepted.
    for mode in [0o700, 0o750, 0o755] {
        set_mode(&root, mode);
        DirectoryStorage::open(&root).unwrap();
    }
}

#[test]
fn a_root_owned_by_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = if effective_uid() == 0 {
        let root = dir.path().join("s");
        fs::create_dir(&root).unwrap();
        set_mode(&root, 0o700);
        std::os::unix::fs::chown(&root, Some(another_user()), None).unwrap();
        root
    } else {
        // Owned by root and not writable by this user.
        Path::new("/").to_path_buf()
    };
    let error = DirectoryStorage::open(&root).unwrap_err();
    assert_eq!(
        why(&error),
        UntrustedDirectory::NotOwned {
            role: DirectoryRole::Root,
            owner: another_user(),
            user: effective_uid(),
        }
    );
    assert!(error.to_string().contains("chown"), "{error}");
}

#[test]
fn fan_out_directories_must_be_private_and_real() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    DirectoryStorage::open(&root).unwrap();
    let fan_out = root.join("ab");
    fs::create_dir(&fan_out).unwrap();
    set_mode(&fan_out, 0o700);
    DirectoryStorage::open(&root).unwrap();

    set_mode(&fan_out, 0o777);
    assert_eq!(
        refusal(&root),
        UntrustedDirectory::WritableByOthers {
            role: DirectoryRole::FanOut,
            mode: 0o777
        }
    );
    set_mode(&fan_out, 0o700);

    if effective_uid() == 0 {
        std::os::unix::fs::chown(&fan_out, Some(another_user()), None).unwrap();
        assert!(matches!(
            refusal(&root),
            UntrustedDirectory::NotOwned {
                role: DirectoryRole::FanOut,
                ..
            }
        ));
    }
    fs::remove_dir(&fan_out).unwrap();

    // A link in a fan-out directory's place, even to a private directory of this user.
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    set_mode(&elsewhere, 0o700);
    symlink(&elsewhere, &fan_out).unwrap();
    let error = DirectoryStorage::open(&root).unwrap_err();
    assert_eq!(
        why(&error),
        UntrustedDirectory::SymbolicLink {
            role: DirectoryRole::FanOut
        }
    );
    assert!(!error.to_string().contains("elsewhere"), "{error}");

    // Entries that are not the layout's are none of the storage's business.
    fs::remove_file(&fan_out).unwrap();
    symlink(&elsewhere, root.join("not-a-fan-out")).unwrap();
    DirectoryStorage::open(&root).unwrap();
}

#[test]
fn every_level_of_the_ktor_layout_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    DirectoryStorage::ktor_compatible(&root).unwrap();
    let deep = root.join("ab").join("cd");
    fs::create_dir_all(&deep).unwrap();
    // A file that is not the layout's keeps the open's sweep from pruning the empty levels.
    fs::write(deep.join("keep"), "").unwrap();
    set_mode(&root.join("ab"), 0o700);
    set_mode(&deep, 0o700);
    DirectoryStorage::ktor_compatible(&root).unwrap();
    set_mode(&deep, 0o757);
    let error = DirectoryStorage::ktor_compatible(&root).unwrap_err();
    assert_eq!(
        why(&error),
        UntrustedDirectory::WritableByOthers {
            role: DirectoryRole::FanOut,
            mode: 0o757
        }
    );
}

#[tokio::test]
async fn a_link_in_a_record_s_place_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::open(dir.path().join("s")).unwrap();
    let now = SystemTime::now();
    let record = Record::new("victim", now, now + Duration::from_secs(3600));
    let (victim, other) = (SessionId::generate(), SessionId::generate());
    storage
        .create(test_key(&victim), &record, now)
        .await
        .unwrap();
    // A link named as `other`'s record, pointing at `victim`'s file.
    let target = storage.path_of(test_key(&victim)).unwrap();
    let link = storage.path_of(test_key(&other)).unwrap();
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    set_mode(link.parent().unwrap(), 0o700);
    symlink(&target, &link).unwrap();

    let error = storage.load(test_key(&other), now).await.unwrap_err();
    assert!(
        format!("{:?}", error.source()).contains("symbolic link"),
        "{error:?}"
    );
    assert!(storage.delete(test_key(&other)).await.is_err());
    assert!(
        storage
            .update(test_key(&other), &record, now)
            .await
            .is_err()
    );
    // The link and its target are left as they were.
    assert_eq!(
        storage.load(test_key(&victim), now).await.unwrap(),
        Some(record)
    );
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
