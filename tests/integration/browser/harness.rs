//! The processes behind the browser tests: the demo server (this test binary, running
//! `demo_server_process`), chromedriver, and the Chromium browsers it starts.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use typed_sessions::transform::Key;

use super::CHILD;
use crate::support::servers::{find_binary, skipped};

/// Chromium's flags: headless, off the network (no update checks, sync, QUIC probes), and
/// talking to chromedriver over a pipe, so it ends when chromedriver ends, however it ends.
const CHROMIUM_FLAGS: &[&str] = &[
    "--remote-debugging-pipe",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

const INSTALL: &str = "Install it with `apt-get install chromium chromium-driver`, or set \
                       TYPED_SESSIONS_SKIP=browser to skip this test.";

/// Chromium and chromedriver, or `None` when `TYPED_SESSIONS_SKIP` turns the browser tests
/// off (`test` names the test in the message). Missing binaries fail the test with the
/// command that installs them.
pub fn browsers(test: &str) -> Option<(PathBuf, PathBuf)> {
    if skipped("browser", test) {
        return None;
    }
    let chromium = find_binary("chromium")
        .or_else(|| find_binary("chromium-browser"))
        .unwrap_or_else(|| panic!("`chromium` was not found on PATH. {INSTALL}"));
    let chromedriver = find_binary("chromedriver")
        .unwrap_or_else(|| panic!("`chromedriver` was not found on PATH. {INSTALL}"));
    Some((chromium, chromedriver))
}

/// The key the demo generated into its data directory, which must be private (0600).
pub fn demo_key(data: &Path) -> Key {
    use std::os::unix::fs::PermissionsExt;
    let file = data.join("key");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the key file is readable by its owner only"
    );
    Key::from_hex(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until something listens on `port`.
fn wait_for_port(port: u16, what: &str, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{what} exited ({status}) before listening:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The demo server: this test binary, running `demo_server_process`.
pub struct DemoServer {
    child: Child,
    pub port: u16,
    pub data: PathBuf,
    logs: PathBuf,
    starts: u32,
}

impl DemoServer {
    pub fn start(port: u16, data: &Path, logs: &Path, starts: u32) -> DemoServer {
        let log = logs.join(format!("server-{starts}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "browser::demo_server_process"])
            .args(["--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("PORT", port.to_string())
            .env("DEMO_DATA_DIR", data)
            .env_remove("SESSION_STORAGE")
            .env_remove("DEMO_KEY")
            .env_remove("DEMO_SECURE_COOKIES")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("the test binary starts again as the demo server");
        std::fs::write(logs.join("server.pid"), child.id().to_string()).unwrap();
        wait_for_port(port, "the demo server", &mut child, &log);
        // The server prints its address right after it binds the port: on a loaded machine
        // the port can be open a moment before the line is in the log.
        let listening = format!("Listening on http://127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(10);
        let mut printed = std::fs::read_to_string(&log).unwrap();
        while !printed.contains(&listening) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
            printed = std::fs::read_to_string(&log).unwrap();
        }
        assert!(printed.contains(&listening), "{printed}");
        DemoServer {
            child,
            port,
            data: data.to_owned(),
            logs: logs.to_owned(),
            starts,
        }
    }

    /// Kills the server (SIGKILL: nothing gets flushed on the way out) and starts it again.
    pub fn restart(&mut self) {
        self.stop();
        *self = DemoServer::start(
            self.port,
            &self.data.clone(),
            &self.logs.clone(),
            self.starts + 1,
        );
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.logs.join("server.pid"));
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `chromedriver` on a free loopback port. The browsers it starts end with it.
pub struct Driver {
    child: Child,
    port: u16,
    pid_file: PathBuf,
}

impl Driver {
    pub fn start(chromedriver: &Path, logs: &Path) -> Driver {
        let port = free_port();
        let log = logs.join("chromedriver.log");
        let mut child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}. {INSTALL}", chromedriver.display()));
        let pid_file = logs.join("chromedriver.pid");
        std::fs::write(&pid_file, child.id().to_string()).unwrap();
        wait_for_port(port, "chromedriver", &mut child, &log);
        Driver {
            child,
            port,
            pid_file,
        }
    }

    /// A new browser with its own profile (so its own cookies).
    pub async fn browser(&self, chromium: &Path, profile: &Path) -> Client {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}
