//! The login writer: users log in (a create with a principal, or an id change of an anonymous
//! session), use their sessions (updates, some naming another principal), log out (delete) and are
//! logged out from an account page (`delete_of`, `delete_all_of`). After a kill and a restart
//! (`open`), the principal index and the records agree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use typed_sessions::SessionId;
use typed_sessions::storage::{
    DirectoryStorage, Namespace, Record, Revision, SessionHandle, SessionStorage,
};

use super::{ids, open};
use crate::common::session_key;

/// The users (one with a name that is no file name).
const PRINCIPALS: [&str; 3] = ["ada", "bob", "ünï cödé/../<u@example.org>"];

/// The namespace of `session_key`.
fn namespace() -> Namespace {
    Namespace::new("s")
}

/// What the writer stores for id `k` at `step`, logged in as `PRINCIPALS[p]` or anonymous:
/// self-describing, so a record read back can be rebuilt and compared whole.
fn record_for(k: usize, step: u64, p: Option<usize>) -> Record {
    let len = 20 + (step.wrapping_mul(7919) % 3_000) as usize;
    let filler = "x".repeat(len);
    let who = p.map_or_else(|| "null".to_owned(), |p| p.to_string());
    let data = format!(r#"{{"k":{k},"step":{step},"p":{who},"pad":"{filler}"}}"#);
    let created = UNIX_EPOCH + Duration::from_secs(1_000_000_000 + step % 1_000_000);
    let expires = UNIX_EPOCH + Duration::from_secs(4_000_000_000); // 2096: never in this test
    let record = Record::new(data, created, expires)
        .with_revision(Revision::from_u64((step << 8) | k as u64));
    match p.and_then(|p| PRINCIPALS.get(p)) {
        Some(principal) => record.with_principal(*principal),
        None => record,
    }
}

/// Which principal `record` is filed under, if it is exactly one the writer wrote for `k`. (An
/// update keeps the principal a record was stored with: the data names the principal the
/// writer asked for, the record holds the one it kept.)
fn whole(k: usize, record: &Record) -> Option<Option<usize>> {
    let value = serde_json::from_slice::<serde_json::Value>(&record.data).ok()?;
    let (found_k, step) = (value["k"].as_u64()?, value["step"].as_u64()?);
    let p = match &value["p"] {
        serde_json::Value::Null => None,
        p => Some(usize::try_from(p.as_u64()?).ok()?),
    };
    let kept = match &record.meta.principal {
        None => None,
        Some(name) => Some(PRINCIPALS.iter().position(|known| *known == &**name)?),
    };
    let mut expected = record_for(k, step, p);
    expected.meta.principal = kept
        .and_then(|kept| PRINCIPALS.get(kept))
        .map(|p| (*p).into());
    (found_k == k as u64 && *record == expected).then_some(kept)
}

/// Which principal the session `id` has now, if it is logged in.
async fn principal_of(storage: &DirectoryStorage, k: usize, id: &SessionId) -> Option<usize> {
    let record = storage
        .load(session_key(id), SystemTime::now())
        .await
        .unwrap()?;
    whole(k, &record).flatten()
}

/// One step of the login writer.
pub(super) async fn write(storage: &DirectoryStorage, ids: &[SessionId], _n: u64, step: u64) {
    let k = (step % ids.len() as u64) as usize;
    let id = &ids[k];
    let p = ((step / ids.len() as u64) % PRINCIPALS.len() as u64) as usize;
    let now = SystemTime::now();
    let key = session_key(id);
    match (step >> 5) % 8 {
        // A login, or an anonymous visit.
        0 | 1 => drop(
            storage
                .create(key, &record_for(k, step, Some(p)), now)
                .await
                .unwrap(),
        ),
        2 => drop(
            storage
                .create(key, &record_for(k, step, None), now)
                .await
                .unwrap(),
        ),
        // A login by regeneration: the session moves to a new id under the principal.
        3 => {
            let j = (k + 1 + (step as usize) % (ids.len() - 1)) % ids.len();
            let new = session_key(&ids[j]);
            storage
                .change_id(key, new, &record_for(j, step, Some(p)), now)
                .await
                .unwrap();
        }
        // A request that changes the session, as the same user; sometimes (what the sessions
        // layer never does, but a storage must survive) naming another, which the storage
        // ignores: an update keeps the principal.
        4 => {
            let same = principal_of(storage, k, id).await;
            storage
                .update(key, &record_for(k, step, same), now)
                .await
                .unwrap();
        }
        5 => drop(
            storage
                .update(key, &record_for(k, step, Some(p)), now)
                .await
                .unwrap(),
        ),
        // A logout.
        6 => drop(storage.delete(key).await.unwrap()),
        // Ended from an account page: one device, or all but one.
        _ => {
            let handle = SessionHandle::of(key);
            let principal = PRINCIPALS[p];
            if step.is_multiple_of(2) {
                storage
                    .delete_of(&namespace(), principal, &handle)
                    .await
                    .unwrap();
            } else {
                storage
                    .delete_all_of(&namespace(), principal, Some(&handle))
                    .await
                    .unwrap();
            }
        }
    }
}

/// After a restart, every live record with a principal is listed under it and nothing else is,
/// through `sessions_of` and on disk; every record is one the writer wrote. Returns how many
/// live sessions it checked.
pub(super) fn check(dir: &Path, mode: &str, round: usize) -> usize {
    super::runtime().block_on(async {
        let storage = open(dir, mode);
        let now = SystemTime::now();
        let mut expected: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
        let (mut files, mut logged_in, mut checked) = (BTreeSet::new(), BTreeSet::new(), 0);
        for (k, id) in ids().iter().enumerate() {
            let path = storage.path_of(session_key(id)).unwrap();
            let Some(record) = storage.load(session_key(id), now).await.unwrap() else {
                assert!(
                    !path.exists(),
                    "round {round}: the file of id {k} exists but does not read back"
                );
                continue;
            };
            let Some(p) = whole(k, &record) else {
                panic!("round {round}: id {k} holds a record the writer never wrote");
            };
            if let Some(p) = p {
                let handle = SessionHandle::of(session_key(id)).to_string();
                expected.entry(p).or_default().insert(handle);
                logged_in.insert(session_key(id).storage_key());
            }
            files.insert(path);
            checked += 1;
        }
        for (p, principal) in PRINCIPALS.iter().enumerate() {
            let listed: BTreeSet<String> = storage
                .sessions_of(&namespace(), principal, now)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.handle.to_string())
                .collect();
            let want = expected.remove(&p).unwrap_or_default();
            assert_eq!(
                listed, want,
                "round {round}: the index of principal {p} disagrees with the records"
            );
        }
        // On disk: the records, exactly one index entry per logged-in session (named by its
        // storage key), no empty principal directory, and temporary files of killed writes.
        let mut entries = BTreeSet::new();
        for entry in crate::storage::tree(dir) {
            let path = dir.join(&entry);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let depth = entry.matches('/').count();
            if entry.starts_with("principals/") && depth == 3 {
                assert!(
                    entries.insert(name),
                    "round {round}: a session filed twice: {entry}"
                );
            } else if entry.starts_with("principals") && path.is_dir() {
                let empty = path.read_dir().unwrap().next().is_none();
                assert!(
                    depth < 2 || !empty,
                    "round {round}: an empty principal directory {entry}"
                );
            } else {
                let allowed = path.is_dir()
                    || files.contains(&path)
                    || (name.starts_with('.') && name.ends_with(".tmp"));
                assert!(allowed, "round {round}: unexpected file {entry}");
            }
        }
        assert_eq!(
            entries, logged_in,
            "round {round}: the index entries on disk are not exactly the logged-in sessions"
        );
        checked
    })
}
