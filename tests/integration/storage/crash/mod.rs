//! Crash safety of the directory storage (RL-3, T-38): a child process writes in a loop and is
//! killed with SIGKILL at a random moment, many times; after each kill the directory is
//! checked through a freshly opened storage.
//!
//! * `records.rs`: creates, updates and deletes of records; every session file must read back
//!   whole, or be absent (default and Ktor layouts).
//! * `principals.rs`: logins and logouts with principals (create, change_id, update, delete,
//!   delete_of, delete_all_of); the principal index and the records must agree: every live
//!   record with a principal is listed under it, and nothing else is, on disk or through the API.
//!
//! The child is this test binary itself, re-executed with an environment variable that turns
//! [`crash_writer_child`] from a no-op into the writer.

mod principals;
mod records;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use typed_sessions::SessionId;
use typed_sessions::storage::DirectoryStorage;

const ENV_DIR: &str = "TYPED_SESSIONS_CRASH_DIR";
const ENV_MODE: &str = "TYPED_SESSIONS_CRASH_MODE";
const WROTE: &str = "crash-writer: wrote";
const IDS: usize = 16;
const WRITERS: usize = 4;

/// The ids the writer uses.
fn ids() -> Vec<SessionId> {
    (0..IDS)
        .map(|k| SessionId::parse(&format!("{:02x}", k * 7 + 3).repeat(32)).unwrap())
        .collect()
}

/// What the child does and how its directory is checked: `hashed` and `ktor` write records in
/// that layout, `principals` logs users in and out in the default layout.
fn open(dir: &Path, mode: &str) -> DirectoryStorage {
    match mode {
        "ktor" => DirectoryStorage::ktor_compatible(dir).unwrap(),
        _ => DirectoryStorage::open(dir).unwrap(),
    }
}

/// The writer. A no-op unless started by a crash test.
#[test]
fn crash_writer_child() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let mode = std::env::var(ENV_MODE).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let storage = Arc::new(open(Path::new(&dir), &mode));
        let base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let writers: Vec<_> = (0..WRITERS as u64)
            .map(|w| {
                let (storage, mode) = (Arc::clone(&storage), mode.clone());
                tokio::spawn(async move {
                    let ids = ids();
                    for n in 0u64.. {
                        let step = base.wrapping_add(n * WRITERS as u64 + w) % 1_000_000_007;
                        match mode.as_str() {
                            "principals" => principals::write(&storage, &ids, n, step).await,
                            _ => records::write(&storage, &ids, n, step).await,
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
    fn seeded() -> Lcg {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        println!("crash test seed {seed}");
        Lcg(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Kills a writer in `mode` `rounds` times, each time after 1 to `writes` completed writes,
/// checking the directory with `check` after each kill. Returns the sum of what the checks
/// counted.
fn run_rounds(
    mode: &str,
    (rounds, writes): (usize, u64),
    rng: &mut Lcg,
    check: fn(&Path, &str, usize) -> usize,
) -> usize {
    let max_writes = writes;
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
            .env(ENV_MODE, mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill a random moment after a random number of completed writes, so kills land
        // anywhere in the write path however slow the disk is.
        let writes = 1 + rng.below(max_writes);
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
        checked += check(dir.path(), mode, round);
    }
    assert!(
        checked >= rounds,
        "{mode}: only {checked} sessions checked in {rounds} rounds ({written_during:?} of writing): the writer barely wrote"
    );
    checked
}

/// A current-thread runtime for a check.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn directory_storage_files_are_whole_or_absent_after_sigkill() {
    let mut rng = Lcg::seeded();
    let hashed = run_rounds("hashed", (30, 8), &mut rng, records::check);
    let ktor = run_rounds("ktor", (10, 8), &mut rng, records::check);
    println!("crash test: 30 + 10 SIGKILLs, {hashed} + {ktor} session files checked, all whole");
}

#[test]
fn the_principal_index_and_the_records_agree_after_sigkill() {
    let mut rng = Lcg::seeded();
    // Many writes per round: the kill lands anywhere among the index's and the records'
    // steps, after any history of logins and logouts.
    let sessions = run_rounds("principals", (40, 300), &mut rng, principals::check);
    println!(
        "crash test: 40 SIGKILLs during logins and logouts, {sessions} sessions checked, the index agreed every time"
    );
}
