//! Crash safety of the directory storage (RL-3, T-38): a child process writes sessions in a
//! loop and is killed with SIGKILL at a random moment, many times; after each kill every
//! session file must read back whole, or be absent.
//!
//! The child is this test binary itself, re-executed with an environment variable that turns
//! [`crash_writer_child`] from a no-op into the writer.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use typed_sessions::SessionId;
use typed_sessions::storage::{Created, DirectoryStorage, Record, SessionStorage};

use crate::common::session_key;

const ENV_DIR: &str = "TYPED_SESSIONS_CRASH_DIR";
const ENV_LAYOUT: &str = "TYPED_SESSIONS_CRASH_LAYOUT";
const WROTE: &str = "crash-writer: wrote";
const IDS: usize = 16;
const WRITERS: usize = 4;

/// The ids the writer uses.
fn ids() -> Vec<SessionId> {
    (0..IDS)
        .map(|k| SessionId::parse(&format!("{:02x}", k * 7 + 3).repeat(32)).unwrap())
        .collect()
}

/// What the writer stores for id `k` at `step`: self-describing, with a size that varies from
/// 60 bytes to 20 KB, so a torn or mixed file cannot pass for a real one.
fn record_for(k: usize, step: u64) -> Record {
    let len = 50 + (step.wrapping_mul(7919) % 20_000) as usize;
    let filler = char::from(b'a' + (step % 26) as u8).to_string().repeat(len);
    let data = format!(r#"{{"k":{k},"step":{step},"pad":"{filler}"}}"#);
    let created = UNIX_EPOCH + Duration::from_secs(1_000_000_000 + step % 1_000_000);
    let expires = UNIX_EPOCH + Duration::from_secs(4_000_000_000); // 2096: never in this test
    Record::new(data, created, expires)
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

fn open(dir: &Path, layout: &str) -> DirectoryStorage {
    match layout {
        "ktor" => DirectoryStorage::ktor_compatible(dir).unwrap(),
        _ => DirectoryStorage::open(dir).unwrap(),
    }
}

/// The writer. A no-op unless started by the crash test.
#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let layout = std::env::var(ENV_LAYOUT).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let storage = std::sync::Arc::new(open(Path::new(&dir), &layout));
        let base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let writers: Vec<_> = (0..WRITERS as u64)
            .map(|w| {
                let storage = std::sync::Arc::clone(&storage);
                tokio::spawn(async move {
                    let ids = ids();
                    let now = SystemTime::now();
                    for n in 0u64.. {
                        let step = base.wrapping_add(n * WRITERS as u64 + w) % 1_000_000_007;
                        let k = (step % IDS as u64) as usize;
                        let (id, record) = (&ids[k], record_for(k, step));
                        if n % 9 == 8 {
                            storage.delete(session_key(id)).await.unwrap();
                        } else if !storage.update(session_key(id), &record, now).await.unwrap() {
                            let created =
                                storage.create(session_key(id), &record, now).await.unwrap();
                            assert!(matches!(created, Created::Inserted | Created::Collision));
                        }
                        println!("{WROTE}");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}

/// A small generator for the kill delays; the seed is printed so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Kills a writer `rounds` times, checking the directory after each kill. Returns how many
/// session files were checked.
fn run_rounds(layout: &str, rounds: usize, rng: &mut Lcg) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut written_during = Duration::ZERO;
    for round in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "storage::crash::crash_writer_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .env(ENV_LAYOUT, layout)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill a random moment after a random number of completed writes, so kills land
        // anywhere in the write path however slow the disk is.
        let writes = 1 + rng.below(8);
        let started = Instant::now();
        let mut seen = 0;
        while seen < writes {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("round {round}: the writer ended early"))
                .unwrap();
            if line.contains(WROTE) {
                seen += 1;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the writer is stuck"
            );
        }
        written_during += started.elapsed();
        std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        checked += check(dir.path(), layout, round);
    }
    assert!(
        checked >= rounds,
        "{layout}: only {checked} session files in {rounds} rounds ({written_during:?} of writing): the writer barely wrote"
    );
    checked
}

/// Every session file in `dir` reads back whole; nothing else but temporary files is there.
/// Returns how many session files it checked.
fn check(dir: &Path, layout: &str, round: usize) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
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
        for entry in super::tree(dir) {
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

#[test]
fn directory_storage_files_are_whole_or_absent_after_sigkill() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("crash test seed {seed}");
    let mut rng = Lcg(seed);
    let hashed = run_rounds("hashed", 30, &mut rng);
    let ktor = run_rounds("ktor", 10, &mut rng);
    println!("crash test: 30 + 10 SIGKILLs, {hashed} + {ktor} session files checked, all whole");
}
