//! Real Redis and PostgreSQL servers for the storage tests, started by the tests themselves.
//!
//! Every server runs on a free loopback port with its data in a fresh temporary directory.
//! The shared servers ([`redis`], [`redis_cluster`], [`postgres`]) start once per test binary
//! and serve every test (each test uses its own key prefix or table, so they never meet);
//! fault tests start their own ([`Redis::start`], [`Postgres::start`]) because they stop and
//! restart them. A watchdog process per server stops it and removes its directory when the
//! test binary exits, however it exits.
//!
//! A missing server binary fails the test with the package to install, unless the
//! environment variable `TYPED_SESSIONS_SKIP` names the backend (`redis`, `postgres`, or
//! `all`, comma-separated), in which case the test prints a loud `SKIPPED` line and passes.
//! The demo's browser test reads the same variable (`browser`) through [`skipped`].
//!
//! PostgreSQL's `initdb` and `postgres` refuse to run as root: as root, they run as the
//! `postgres` system user (through `setpriv`), in a directory owned by that user.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether the tests of `backend` are switched off with `TYPED_SESSIONS_SKIP`; says so loudly.
pub fn skipped(backend: &str, test: &str) -> bool {
    let list = std::env::var("TYPED_SESSIONS_SKIP").unwrap_or_default();
    let skip = list
        .split(',')
        .map(str::trim)
        .any(|b| b.eq_ignore_ascii_case(backend) || b.eq_ignore_ascii_case("all"));
    if skip {
        // Straight to stderr, not `eprintln!`, which the test harness captures (and shows
        // only for failed tests): a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED {test}: TYPED_SESSIONS_SKIP={list} turns off the {backend} tests ***\n"
        );
    }
    skip
}

/// The newest-first PostgreSQL binary directories of a Debian install.
fn postgres_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    dirs.into_iter().map(|(_, dir)| dir).collect()
}

/// Finds `name` on `PATH`, in `/usr/local/bin`, `/usr/sbin`, or in a PostgreSQL bin directory.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/bin", "/usr/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .chain(postgres_dirs())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Finds `name` or fails the test with what to install.
fn require(name: &str, package: &str, backend: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| {
        panic!(
            "`{name}` was not found (searched PATH, /usr/local/bin and /usr/lib/postgresql/*/bin). \
             Install it with `apt-get install {package}`, or set TYPED_SESSIONS_SKIP={backend} to skip these tests."
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A free loopback port; with `bus`, `port + 10000` is free too (Redis Cluster's bus port).
pub fn free_port(bus: bool) -> u16 {
    for _ in 0..200 {
        let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(port) = listener.local_addr().map(|a| a.port()) else {
            continue;
        };
        if !bus {
            return port;
        }
        if port < 55_000 && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port");
}

/// A fresh temporary directory that outlives the `TempDir` guard (the server or its watchdog
/// removes it).
pub fn temp_dir(kind: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("typed-sessions-{kind}-"))
        .tempdir()
        .expect("a temporary directory")
        .keep()
}

/// Starts a process that, once this test binary has exited, kills the processes whose pid
/// files lie in `dir` (one level deep) and removes `dir`.
pub fn watchdog(dir: &Path) {
    let script = r#"
while kill -0 "$1" 2>/dev/null; do sleep 0.5; done
for f in "$2"/*.pid "$2"/*/*.pid; do
  [ -f "$f" ] && kill -TERM "$(head -n 1 "$f")" 2>/dev/null
done
sleep 2
for f in "$2"/*.pid "$2"/*/*.pid; do
  [ -f "$f" ] && kill -KILL "$(head -n 1 "$f")" 2>/dev/null
done
rm -rf "$2"
"#;
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// Sends `signal` to `pid` with the `kill` command.
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

/// Waits for `child` to exit (at most `limit`), then kills it.
fn reap(child: &mut Child, limit: Duration) {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

// ---------------------------------------------------------------------------------------
// Redis

/// One `redis-server` with append-only persistence (`appendfsync always`), so its data
/// survives a stop and restart.
#[derive(Debug)]
pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    cluster: bool,
    child: Mutex<Option<Child>>,
    /// Whether `dir` belongs to a cluster (removed by the cluster, not by this node).
    owns_dir: bool,
}

impl Redis {
    /// Starts a dedicated single-node server (stopped and removed when dropped).
    pub fn start() -> Redis {
        let dir = temp_dir("redis");
        watchdog(&dir);
        Redis::start_in(dir, free_port(false), false, true)
    }

    fn start_in(dir: PathBuf, port: u16, cluster: bool, owns_dir: bool) -> Redis {
        let redis = Redis {
            port,
            dir,
            cluster,
            child: Mutex::new(None),
            owns_dir,
        };
        redis.launch();
        redis
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn launch(&self) {
        let binary = require("redis-server", "redis-server redis-tools", "redis");
        let mut command = Command::new(binary);
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--pidfile")
            .arg(self.dir.join("redis.pid"))
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .args(["--daemonize", "no"])
            .args(["--appendonly", "yes"])
            .args(["--appendfsync", "always"])
            .args(["--save", ""]);
        if self.cluster {
            command
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", "2000"]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        *self.child.lock().unwrap() = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let until = Instant::now() + START_TIMEOUT;
        loop {
            if self.ping() {
                return;
            }
            if let Some(child) = self.child.lock().unwrap().as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "redis-server on port {} exited ({status}):\n{}",
                    self.port,
                    tail(&self.dir.join("redis.log"))
                );
            }
            assert!(
                Instant::now() < until,
                "redis-server on port {} did not answer PING within {START_TIMEOUT:?}:\n{}",
                self.port,
                tail(&self.dir.join("redis.log"))
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Whether the server answers `PING` with `PONG` (not `LOADING`).
    fn ping(&self) -> bool {
        self.command("PING")
            .is_some_and(|reply| reply.starts_with("+PONG"))
    }

    /// Sends one inline command and returns the first reply bytes as text.
    pub fn command(&self, command: &str) -> Option<String> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut buffer = [0u8; 65536];
        let n = stream.read(&mut buffer).ok()?;
        Some(String::from_utf8_lossy(&buffer[..n]).into_owned())
    }

    /// Stops the server the way an operator would (`SIGTERM`: Redis flushes and exits).
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            signal(child.id(), "TERM");
            reap(&mut child, Duration::from_secs(10));
        }
    }

    /// Starts the server again on the same port, with the same data directory.
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }

    /// Freezes the server (`SIGSTOP`), as a hung host: connections stay open and nothing
    /// answers until [`resume`](Self::resume).
    pub fn pause(&self) {
        if let Some(child) = self.child.lock().unwrap().as_ref() {
            signal(child.id(), "STOP");
        }
    }

    /// Lets a [paused](Self::pause) server run again (`SIGCONT`).
    pub fn resume(&self) {
        if let Some(child) = self.child.lock().unwrap().as_ref() {
            signal(child.id(), "CONT");
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The shared single-node server, or `None` if the Redis tests are skipped.
pub fn redis(test: &str) -> Option<&'static Redis> {
    static SERVER: OnceLock<Redis> = OnceLock::new();
    if skipped("redis", test) {
        return None;
    }
    Some(SERVER.get_or_init(Redis::start))
}

/// A three-node Redis Cluster (three primaries, no replicas).
#[derive(Debug)]
pub struct RedisCluster {
    pub nodes: Vec<Redis>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts three nodes and joins them with `redis-cli --cluster create`.
    pub fn start() -> RedisCluster {
        let cli = require("redis-cli", "redis-tools", "redis");
        let dir = temp_dir("redis-cluster");
        watchdog(&dir);
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 3 {
            let port = free_port(true);
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let nodes: Vec<Redis> = ports
            .iter()
            .enumerate()
            .map(|(n, port)| {
                let node_dir = dir.join(format!("node{n}"));
                std::fs::create_dir_all(&node_dir).expect("node directory");
                Redis::start_in(node_dir, *port, true, false)
            })
            .collect();
        let output = Command::new(cli)
            .arg("--cluster")
            .arg("create")
            .args(ports.iter().map(|p| format!("127.0.0.1:{p}")))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = RedisCluster { nodes, dir };
        cluster.wait_ok();
        cluster
    }

    /// Waits until every node reports `cluster_state:ok`.
    pub fn wait_ok(&self) {
        let until = Instant::now() + START_TIMEOUT;
        while !self.nodes.iter().all(|node| {
            node.command("CLUSTER INFO")
                .is_some_and(|info| info.contains("cluster_state:ok"))
        }) {
            assert!(
                Instant::now() < until,
                "the Redis Cluster did not reach cluster_state:ok"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops every node.
    pub fn stop(&self) {
        for node in &self.nodes {
            node.stop();
        }
    }

    /// Starts every node again (same ports, same data and cluster configuration) and waits
    /// for the cluster to be whole.
    pub fn restart(&self) {
        for node in &self.nodes {
            node.restart();
        }
        self.wait_ok();
    }

    /// The seed-node URLs.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Redis::url).collect()
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shared cluster, or `None` if the Redis tests are skipped.
pub fn redis_cluster(test: &str) -> Option<&'static RedisCluster> {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    if skipped("redis", test) {
        return None;
    }
    Some(CLUSTER.get_or_init(RedisCluster::start))
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/// One PostgreSQL cluster (`initdb`), served by `postgres` on a loopback port, trust
/// authentication for the `postgres` role.
#[derive(Debug)]
pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
    as_postgres_user: bool,
    child: Mutex<Option<Child>>,
}

impl Postgres {
    /// Initialises and starts a dedicated server (stopped and removed when dropped).
    pub fn start() -> Postgres {
        let initdb = require("initdb", "postgresql", "postgres");
        let dir = temp_dir("postgres");
        watchdog(&dir);
        let as_postgres_user = is_root();
        if as_postgres_user {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown runs");
            assert!(status.success(), "cannot give {dir:?} to the postgres user");
        }
        let server = Postgres {
            port: free_port(false),
            dir,
            as_postgres_user,
            child: Mutex::new(None),
        };
        let output = server
            .command(&initdb)
            .arg("-D")
            .arg(server.data())
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale=C", "--no-instructions"])
            .stdin(Stdio::null())
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        server.launch();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command that runs `binary` as the `postgres` user when this process is root.
    fn command(&self, binary: &Path) -> Command {
        let mut command = if self.as_postgres_user {
            let setpriv = require("setpriv", "util-linux", "postgres");
            let mut c = Command::new(setpriv);
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(binary);
            c
        } else {
            Command::new(binary)
        };
        command.current_dir(&self.dir);
        command
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn launch(&self) {
        let postgres = require("postgres", "postgresql", "postgres");
        let log = std::fs::File::create(self.dir.join("postgres.log")).expect("log file");
        let child = self
            .command(&postgres)
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200", "-c", "shared_buffers=32MB"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("postgres starts");
        *self.child.lock().unwrap() = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let ready = find_binary("pg_isready");
        let until = Instant::now() + START_TIMEOUT;
        loop {
            let ok = match &ready {
                Some(pg_isready) => Command::new(pg_isready)
                    .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", "1"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success()),
                None => TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok(),
            };
            if ok {
                return;
            }
            if let Some(child) = self.child.lock().unwrap().as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "postgres on port {} exited ({status}):\n{}",
                    self.port,
                    tail(&self.dir.join("postgres.log"))
                );
            }
            assert!(
                Instant::now() < until,
                "postgres on port {} was not ready within {START_TIMEOUT:?}:\n{}",
                self.port,
                tail(&self.dir.join("postgres.log"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server with a fast shutdown (`SIGINT`), as `pg_ctl stop -m fast` does.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            signal(child.id(), "INT");
            reap(&mut child, Duration::from_secs(30));
        }
    }

    /// Starts the server again on the same port, with the same data directory.
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            signal(child.id(), "QUIT");
            reap(&mut child, Duration::from_secs(5));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shared PostgreSQL server, or `None` if the PostgreSQL tests are skipped.
pub fn postgres(test: &str) -> Option<&'static Postgres> {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    if skipped("postgres", test) {
        return None;
    }
    Some(SERVER.get_or_init(Postgres::start))
}

/// A fresh directory for SQLite files, removed when the test binary exits.
pub fn sqlite_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = temp_dir("sqlite");
        watchdog(&dir);
        dir
    })
}
