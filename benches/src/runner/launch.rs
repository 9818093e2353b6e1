//! Starting one server and running the load generator against it.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::loadgen::Report;
use crate::procstat::Watch;
use crate::scenario::Scenario;
use crate::variants::{ServerEnv, Variant};

/// The binaries of the bench crate, beside the running `bench`.
#[derive(Clone, Debug)]
pub struct Binaries {
    /// The directory holding them.
    pub dir: PathBuf,
}

impl Binaries {
    /// Path of binary `name`.
    pub fn get(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// A running `bench-server`, killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `variant` pinned to `core` and waits until it listens.
    pub fn start(
        binaries: &Binaries,
        variant: Variant,
        core: usize,
        env: &ServerEnv,
    ) -> Result<Server, String> {
        let mut command = Command::new(binaries.get("bench-server"));
        command
            .args(["--variant", variant.name(), "--port", "0"])
            .args(["--pin", &core.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(url) = &env.redis_url {
            command.args(["--redis", url]);
        }
        if let Some(url) = &env.postgres_url {
            command.args(["--postgres", url]);
        }
        if let Some(dir) = &env.data_dir {
            command.arg("--data-dir").arg(dir);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("starting bench-server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            // Keep draining so the server never blocks on its stdout.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                let _ = child.kill();
                return Err(format!("reading bench-server's output: {e}"));
            }
            Err(_) => {
                let _ = child.kill();
                return Err(format!("{variant}: the server did not start in 60 s"));
            }
        };
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{variant}: the server did not start (it said `{}`)",
                line.trim()
            ));
        };
        Ok(Server { child, addr })
    }

    /// Its process id.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to run the load generator.
#[derive(Clone, Debug)]
pub struct LoadSettings {
    /// Connections.
    pub connections: usize,
    /// Warm-up seconds.
    pub warmup: f64,
    /// Measured seconds.
    pub duration: f64,
    /// The server side's core.
    pub server_core: usize,
    /// The generator's core.
    pub client_core: usize,
    /// Count the server's instructions and cycles with `perf stat`.
    pub perf: bool,
}

/// Runs `loadgen` against `server`, counting `watches` as the server's CPU.
pub fn run_load(
    loadgen: &Path,
    server: &Server,
    variant: Variant,
    scenario: Scenario,
    watches: &[Watch],
    settings: &LoadSettings,
) -> Result<Report, String> {
    let mut command = Command::new(loadgen);
    command
        .args(["--addr", &server.addr.to_string()])
        .args(["--scenario", scenario.name()])
        .args(["--connections", &settings.connections.to_string()])
        .args(["--warmup", &settings.warmup.to_string()])
        .args(["--duration", &settings.duration.to_string()])
        .args(["--pin", &settings.client_core.to_string()])
        .args(["--server-core", &settings.server_core.to_string()]);
    if variant.stateless() {
        command.arg("--stateless");
    }
    if settings.perf {
        command.arg("--perf");
    }
    for watch in watches {
        let text = match watch {
            Watch::Process(pid) => pid.to_string(),
            Watch::Tree(pid) => format!("tree:{pid}"),
        };
        command.args(["--watch", &text]);
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("starting loadgen: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(stderr.trim().to_owned());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("loadgen's report: {e} (`{last}`)"))
}
