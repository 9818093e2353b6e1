//! Randomness across `fork`: a child process never repeats its parent's session ids or nonces.
//!
//! Ids and nonces come from a per-thread generator seeded from the OS; a child made by `fork`
//! starts with a copy of its parent's memory, generator included. The test forks a process
//! that has drawn from its generator, lets parent and child draw ids and encrypt the same value
//! under the same key, and checks that no id and no ciphertext (so no nonce) appears in both.

use std::collections::HashSet;
use std::process::Command;
use std::time::SystemTime;

use typed_sessions::transform::{TransformContext, Transformer};
use typed_sessions::{Encrypt, Key, SessionId};

const ENV_OUT: &str = "TYPED_SESSIONS_FORK_OUT";
const DRAWS: usize = 200;

/// What one process draws after the fork: ids, and encryptions of one value under one key.
fn draws(key: &Key) -> Vec<String> {
    let encrypt = Encrypt::new(key.clone());
    let ctx = TransformContext::new("s", SystemTime::now());
    let mut out: Vec<String> = (0..DRAWS)
        .map(|_| SessionId::generate().as_str().to_owned())
        .collect();
    out.extend((0..DRAWS).map(|_| encrypt.write(&ctx, "the same value").unwrap()));
    out
}

/// The forking process, started by the test below in a process of its own (so that it is the
/// only thread that draws when it forks). Writes the parent's and the child's draws to files.
#[test]
#[ignore = "run by a_forked_child_never_repeats_its_parents_ids_or_nonces in a child process"]
#[allow(unsafe_code)]
fn fork_entry() {
    let out = std::path::PathBuf::from(std::env::var(ENV_OUT).unwrap());
    let key = Key::generate();
    // Draw before forking, so the generator is seeded and holds buffered output.
    let before = draws(&key);
    assert_eq!(before.iter().collect::<HashSet<_>>().len(), 2 * DRAWS);
    // SAFETY: the child only draws, writes one file and leaves with `_exit`; this process
    // runs no other thread that could hold a lock the child needs.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    let mine = draws(&key).join("\n");
    if pid == 0 {
        let written = std::fs::write(out.join("child"), mine).is_ok();
        // SAFETY: ends the child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(if written { 0 } else { 1 }) };
    }
    std::fs::write(out.join("parent"), mine).unwrap();
    let mut status = 0;
    // SAFETY: waits for the child made above.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
}

#[test]
fn a_forked_child_never_repeats_its_parents_ids_or_nonces() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "random::fork_entry",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env(ENV_OUT, out.path())
        .status()
        .unwrap();
    assert!(status.success(), "the forking process failed");
    let read = |name: &str| -> Vec<String> {
        std::fs::read_to_string(out.path().join(name))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let (parent, child) = (read("parent"), read("child"));
    assert_eq!(parent.len(), 2 * DRAWS);
    assert_eq!(child.len(), 2 * DRAWS);
    let parent: HashSet<&String> = parent.iter().collect();
    let shared: Vec<&String> = child.iter().filter(|d| parent.contains(d)).collect();
    assert!(
        shared.is_empty(),
        "{} draws of the child repeat the parent's",
        shared.len()
    );
}
