//! A file's time is whatever was set on it: a Ktor-layout file written "at the end of time"
//! reads without overflowing.

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::super::DirectoryStorage;
use super::super::files::ktor_expiry;
use crate::storage::{Record, SessionId, SessionStorage, test_key};
use crate::transport::DEFAULT_MAX_AGE;

/// The latest time a `SystemTime` holds here (64-bit seconds).
fn latest() -> SystemTime {
    UNIX_EPOCH + Duration::new(i64::MAX as u64, 999_999_999)
}

#[test]
fn a_ktor_expiry_never_overflows() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(ktor_expiry(now, DEFAULT_MAX_AGE), now + DEFAULT_MAX_AGE);
    for written in [
        latest(),
        latest() - Duration::from_secs(1),
        latest() - DEFAULT_MAX_AGE / 2,
    ] {
        assert!(ktor_expiry(written, DEFAULT_MAX_AGE) >= written);
        assert!(ktor_expiry(written, Duration::MAX) >= written);
    }
}

/// Where the file system takes such a time (tmpfs does; ext4 stops in 2446), the whole read
/// path: the record is live until the end of time, nothing panics.
#[tokio::test]
async fn a_file_dated_at_the_end_of_time_reads_without_panicking() {
    let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
        eprintln!("no /dev/shm here: only the unit test of the expiry covers this");
        return;
    };
    let storage = DirectoryStorage::ktor_compatible(dir.path().join("s")).unwrap();
    let id = SessionId::generate();
    let now = SystemTime::now();
    storage
        .create(test_key(&id), &Record::new("{}", now, now), now)
        .await
        .unwrap();
    let file = storage.path_of(test_key(&id)).unwrap();
    let far = latest() - Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(far)
        .unwrap();
    if fs::metadata(&file).unwrap().modified().unwrap() != far {
        eprintln!("/dev/shm clamps file times: only the unit test of the expiry covers this");
        return;
    }
    let read = storage.load(test_key(&id), now).await.unwrap().unwrap();
    assert_eq!(read.data, b"{}");
    assert_eq!(read.created_at, far);
    assert!(read.expires_at >= far);
    assert_eq!(storage.delete_expired(now).await.unwrap(), 0);
    let stats = storage.stats(now).await.unwrap().unwrap();
    assert_eq!(stats.live, 1);
}
