//! The storage services the Redis and PostgreSQL variants need, started for the run on free
//! loopback ports and pinned to the server core (their CPU time is the server's):
//!
//! * `redis-server` with persistence off (`--save ''`, `--appendonly no`);
//! * PostgreSQL from `initdb` in a temporary directory, durability off (`fsync`,
//!   `synchronous_commit`, `full_page_writes` off: the counterpart of Redis without
//!   persistence). `initdb` and `postgres` refuse to run as root, so as root they run as the
//!   `postgres` system user through `runuser`.
//!
//! Both are emptied before every measured run (`FLUSHALL`; the `bench` database dropped and
//! created again), so every run starts from the same state.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::affinity;

/// A free loopback port (the kernel's choice; released at once, so a small race is possible).
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

/// Finds `program` in `PATH` or in `extra` directories.
pub fn find_program(program: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().cloned())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// A running `redis-server`.
#[derive(Debug)]
pub struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts `redis-server` on a free port with persistence off, pinned to `core`.
    pub fn start(core: usize, dir: &Path) -> Result<Redis, String> {
        let program = find_program("redis-server", &[])
            .ok_or("redis-server not found (apt-get install redis-server)")?;
        let port = free_port()?;
        let mut command = Command::new(program);
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--loglevel", "warning", "--protected-mode", "yes"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null());
        affinity::pin_command(&mut command, core);
        let child = command
            .spawn()
            .map_err(|e| format!("starting redis-server: {e}"))?;
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.command("PING").as_deref() != Ok("+PONG") {
            if Instant::now() > deadline {
                return Err("redis-server did not answer PING in 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    /// Deletes every key.
    pub fn flush(&self) -> Result<(), String> {
        match self.command("FLUSHALL") {
            Ok(reply) if reply == "+OK" => Ok(()),
            Ok(reply) => Err(format!("FLUSHALL answered {reply}")),
            Err(e) => Err(format!("FLUSHALL: {e}")),
        }
    }

    /// Sends one inline command and returns the first line of the reply.
    fn command(&self, command: &str) -> Result<String, String> {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        stream
            .write_all(format!("{command}\r\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end().to_owned())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running PostgreSQL server.
#[derive(Debug)]
pub struct Postgres {
    child: Child,
    port: u16,
    postmaster: i32,
    psql: PathBuf,
}

/// The database the variants use.
const DATABASE: &str = "bench";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A command that runs `program` as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// `initdb` in `dir`, then `postgres` on a free port, pinned to `core`.
    pub fn start(core: usize, dir: &Path) -> Result<Postgres, String> {
        let mut extra: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        extra.sort();
        extra.reverse(); // the newest version first
        let initdb = find_program("initdb", &extra)
            .ok_or("initdb not found (apt-get install postgresql)")?;
        // The server and psql of the same installation as initdb.
        let bin = std::fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let postgres = Some(bin.join("postgres"))
            .filter(|p| p.is_file())
            .or_else(|| find_program("postgres", &extra))
            .ok_or("postgres not found")?;
        let psql = Some(bin.join("psql"))
            .filter(|p| p.is_file())
            .or_else(|| find_program("psql", &extra))
            .ok_or("psql not found")?;

        let data = dir.join("pgdata");
        std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&data)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err("chown of the PostgreSQL data directory failed".into());
            }
        }
        let output = as_postgres(&initdb)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }

        let port = free_port()?;
        let mut command = as_postgres(&postgres);
        command
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&data)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        affinity::pin_command(&mut command, core);
        let mut child = command
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        // Drain the server log so it never blocks on a full pipe; keep it quiet.
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = stderr.read_to_end(&mut sink);
            });
        }

        let deadline = Instant::now() + Duration::from_secs(30);
        let pid_file = data.join("postmaster.pid");
        let postmaster = loop {
            let ready = std::fs::read_to_string(&pid_file)
                .ok()
                .filter(|text| text.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
                .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok());
            if let Some(pid) = ready {
                break pid;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("postgres exited at start ({status})"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err("postgres was not ready in 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        Ok(Postgres {
            child,
            port,
            postmaster,
            psql,
        })
    }

    /// `postgres://postgres@127.0.0.1:PORT/bench`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The postmaster's process id (its backends are its children).
    pub fn postmaster(&self) -> i32 {
        self.postmaster
    }

    /// Drops and creates the `bench` database.
    pub fn reset(&self) -> Result<(), String> {
        let output = Command::new(&self.psql)
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .args([
                "-c",
                &format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"),
            ])
            .args(["-c", &format!("CREATE DATABASE {DATABASE}")])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "resetting the database failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown. The child may be `runuser`, so signal the
        // postmaster itself (a process this run started).
        // SAFETY: kill has no memory preconditions.
        unsafe {
            libc::kill(self.postmaster, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
