//! The `typed-sessions` command-line tool, run as a real process
//! (`env!("CARGO_BIN_EXE_typed-sessions")`), against values the library writes and storages
//! the tests fill: directories and SQLite files in temporary directories, and the Redis,
//! Redis Cluster and PostgreSQL servers of `servers`.

mod help;
mod inspect;
mod inspect_digest;
mod keygen;
mod principals;
mod store;

/// The real Redis, Redis Cluster and PostgreSQL servers the library's tests start (one copy of
/// that code, shared with the library's integration tests).
#[allow(dead_code)]
#[path = "../../../tests/integration/support/servers.rs"]
mod servers;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use typed_sessions::storage::{Namespace, SessionId, SessionKey};

/// The storage key of `id` under the session name `s`, as the tests' storages file it.
pub fn session_key(id: &SessionId) -> SessionKey<'_> {
    static TESTS: LazyLock<Namespace> = LazyLock::new(|| Namespace::new("s"));
    TESTS.key(id)
}

/// What one run of the tool did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    /// The text after `label: ` on the first stdout line that starts with it.
    pub fn field(&self, label: &str) -> Option<&str> {
        let prefix = format!("{label}: ");
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(prefix.as_str()))
    }

    /// Whether stdout has exactly this line.
    pub fn has_line(&self, line: &str) -> bool {
        self.stdout.lines().any(|l| l == line)
    }

    /// Asserts the exit status and returns the run, showing everything on failure.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit status; the run: {self:#?}");
        self
    }

    /// Asserts a failure with exactly one line on stderr, `error: ...` containing `needle`.
    #[track_caller]
    pub fn expect_error(self, code: i32, needle: &str) -> Run {
        let run = self.expect(code);
        let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "one error line; the run: {run:#?}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(needle),
            "expected an error containing {needle:?}; the run: {run:#?}"
        );
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        run
    }

    /// Everything the run printed.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs the tool with `args`, `env` and `stdin`, without any `TYPED_SESSIONS_*` variable of
/// the test's own environment.
pub fn run_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_typed-sessions"));
    command
        .args(args)
        .env_remove("TYPED_SESSIONS_KEY")
        .env_remove("TYPED_SESSIONS_KTOR_SIGN_KEY")
        .env_remove("TYPED_SESSIONS_KTOR_ENCRYPT_KEY")
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("the tool starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let output = child.wait_with_output().expect("the tool runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: start.elapsed(),
    }
}

/// Runs the tool with `args`.
pub fn run(args: &[&str]) -> Run {
    run_with(args, &[], None)
}
