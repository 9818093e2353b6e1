//! The demo (`cargo run --example demo`) in a real browser: headless Chromium, driven over
//! WebDriver (`chromedriver`, with the fantoccini client), against the demo server running as
//! a separate process that the test kills and starts again.
//!
//! The server process is this test binary itself, started with the ignored test
//! `demo_server_process`, which runs the demo's own `run()` (what `main` runs): it is always
//! built from the current sources, whatever cargo was asked to build (`cargo test --test
//! integration` builds no examples), and it can be killed like the real binary.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`);
//! without them the test fails with that command, unless `TYPED_SESSIONS_SKIP=browser` (or
//! `all`) turns it off.
//!
//! | module | what |
//! |---|---|
//! | `scenario` | the demo's features in Chromium: login, cart, theme, restart, "log out other devices" |
//! | `devices` | two Chromium profiles as one user: the device list, "log out this device", a password change, "remember me" |
//! | `cross_site` | another site auto-submits the demo's forms: refused, the victim unchanged |
//! | `process` | the demo server as a process: its API over HTTP, its startup errors |
//! | `harness`, `pages` | the demo server process, chromedriver and Chromium; page helpers |

#[allow(dead_code)]
#[path = "../../../examples/demo/main.rs"]
mod demo;

mod cross_site;
mod devices;
mod harness;
mod pages;
mod process;
mod scenario;

/// Set in the environment of the server process.
const CHILD: &str = "TYPED_SESSIONS_DEMO_SERVER";

/// Not a test: the demo server process of the browser tests, started by them with
/// `--ignored --exact browser::demo_server_process`. Without the variable it does nothing.
#[test]
#[ignore = "the demo server process that the browser test starts"]
fn demo_server_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if let Err(message) = runtime.block_on(demo::run()) {
        eprintln!("demo: {message}");
        std::process::exit(1);
    }
}
