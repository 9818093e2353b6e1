//! The record writer: creates, updates and deletes; after a kill every session file must read
//! back whole (exactly a record the writer wrote), or be absent.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use typed_sessions::SessionId;
use typed_sessions::storage::{Created, DirectoryStorage, Record, Revision, SessionStorage};

use super::{ids, open};
use crate::common::session_key;

/// What the writer stores for id `k` at `step`: self-describing, with a size that varies from
/// 60 bytes to 20 KB, so a torn or mixed file cannot pass for a real one, and a revision
/// derived from both, so a record read back can be compared whole.
fn record_for(k: usize, step: u64) -> Record {
    let len = 50 + (step.wrapping_mul(7919) % 20_000) as usize;
    let filler = char::from(b'a' + (step % 26) as u8).to_string().repeat(len);
    let data = format!(r#"{{"k":{k},"step":{step},"pad":"{filler}"}}"#);
    let created = UNIX_EPOCH + Duration::from_secs(1_000_000_000 + step % 1_000_000);
    let expires = UNIX_EPOCH + Duration::from_secs(4_000_000_000); // 2096: never in this test
    Record::new(data, created, expires).with_revision(Revision::from_u64((step << 8) | k as u64))
}

/// Whether `record`, found under id `k`, is exactly one the writer wrote for `k` (in the Ktor
/// layout, whose times come from the file's modification time, its data).
fn is_whole(k: usize, record: &Record, layout: &str) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&record.data) else {
        return false;
    };
    let (Some(found_k), Some(step)) = (value["k"].as_u64(), value["step"].as_u64()) else {
        return false;
    };
    let written = record_for(k, step);
    found_k == k as u64
        && match layout {
            "ktor" => record.data == written.data,
            _ => *record == written,
        }
}

/// One write of the record writer.
pub(super) async fn write(storage: &DirectoryStorage, ids: &[SessionId], n: u64, step: u64) {
    let k = (step % ids.len() as u64) as usize;
    let (id, record) = (&ids[k], record_for(k, step));
    let now = SystemTime::now();
    if n % 9 == 8 {
        storage.delete(session_key(id)).await.unwrap();
    } else if !storage.update(session_key(id), &record, now).await.unwrap() {
        let created = storage.create(session_key(id), &record, now).await.unwrap();
        assert!(matches!(created, Created::Inserted | Created::Collision));
    }
}

/// Every session file in `dir` reads back whole; nothing else but temporary files is there.
/// Returns how many session files it checked.
pub(super) fn check(dir: &Path, layout: &str, round: usize) -> usize {
    super::runtime().block_on(async {
        let storage = open(dir, layout);
        let ids = ids();
        let mut expected_files = Vec::new();
        let mut checked = 0;
        for (k, id) in ids.iter().enumerate() {
            let path = storage.path_of(session_key(id)).unwrap();
            if !path.exists() {
                continue;
            }
            let loaded = storage.load(session_key(id), SystemTime::now()).await.unwrap();
            let Some(record) = loaded else {
                panic!("{layout}, round {round}: the file of id {k} exists but does not read back (corrupt or partial)");
            };
            assert!(
                is_whole(k, &record, layout),
                "{layout}, round {round}: id {k} holds a record the writer never wrote"
            );
            expected_files.push(path);
            checked += 1;
        }
        // Nothing else: only directories, those files, and temporary files of killed writes.
        for entry in crate::storage::tree(dir) {
            let path = dir.join(&entry);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let allowed = path.is_dir()
                || expected_files.contains(&path)
                || (name.starts_with('.') && name.ends_with(".tmp"));
            assert!(allowed, "{layout}, round {round}: unexpected file {entry}");
        }
        checked
    })
}
