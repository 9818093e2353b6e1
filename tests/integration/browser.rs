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

#[allow(dead_code)]
#[path = "../../examples/demo/main.rs"]
mod demo;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use typed_sessions::transform::{Encrypt, Key, Sign, TransformContext};

use crate::support::servers::{find_binary, skipped, temp_dir, watchdog};

/// Set in the environment of the server process.
const CHILD: &str = "TYPED_SESSIONS_DEMO_SERVER";

/// Not a test: the demo server process of [`demo_in_chromium`], started by it with
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

#[test]
fn demo_in_chromium() {
    if skipped("browser", "browser::demo_in_chromium") {
        return;
    }
    let chromium = find_binary("chromium")
        .or_else(|| find_binary("chromium-browser"))
        .unwrap_or_else(|| panic!("`chromium` was not found on PATH. {INSTALL}"));
    let chromedriver = find_binary("chromedriver")
        .unwrap_or_else(|| panic!("`chromedriver` was not found on PATH. {INSTALL}"));

    // The servers' pid files go here: the watchdog ends them if this process is killed.
    let dir = temp_dir("browser");
    watchdog(&dir);
    let port = free_port();
    let started = Instant::now();
    let mut server = DemoServer::start(port, &dir.join("demo-data"), &dir, 1);
    let driver = Driver::start(&chromedriver, &dir);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let steps = scenario(&mut server, &driver, &chromium, &dir);
        tokio::time::timeout(Duration::from_secs(240), steps)
            .await
            .expect("the browser scenario finished within 4 minutes");
    });
    eprintln!(
        "browser::demo_in_chromium: scenario done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn scenario(server: &mut DemoServer, driver: &Driver, chromium: &Path, dir: &Path) {
    let base = format!("http://127.0.0.1:{}", server.port);
    let url = |path: &str| format!("{base}{path}");
    let a = driver.browser(chromium, &dir.join("profile-a")).await;

    // A protected page without a login: the challenge sends the browser to the form, which
    // lists the demo users.
    a.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&a).await, "login");
    assert_eq!(a.current_url().await.unwrap().path(), "/login");
    let source = a.source().await.unwrap();
    assert!(source.contains("alice") && source.contains("wonderland"));

    // A wrong password is refused; the right one leads to the shop, signed in.
    log_in(&a, "alice", "not-the-password").await;
    assert_eq!(page(&a).await, "login");
    assert_eq!(text(&a, "#error").await, "Credentials are not valid");
    assert!(cookie(&a, "user_session").await.is_none());
    log_in(&a, "alice", "wonderland").await;
    assert_eq!(page(&a).await, "shop");
    assert_eq!(text(&a, "#user").await, "alice");

    // The session cookie: HttpOnly, Secure (accepted over http://127.0.0.1), SameSite=Lax.
    let session = cookie(&a, "user_session")
        .await
        .expect("Chromium kept the Secure session cookie set over http://127.0.0.1");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.secure(), Some(true));
    assert_eq!(session.path(), Some("/"));
    assert_eq!(format!("{:?}", session.same_site()), "Some(Lax)");

    // The cart: add two products, reload, still there.
    click(&a, r#"button.add[data-product="1"]"#).await;
    click(&a, r#"button.add[data-product="3"]"#).await;
    click(&a, r#"button.add[data-product="1"]"#).await;
    let expected_cart = vec!["2 × Ferris plush".to_owned(), "1 × Sticker pack".to_owned()];
    assert_eq!(texts(&a, "#cart li").await, expected_cart);
    a.refresh().await.unwrap();
    assert_eq!(texts(&a, "#cart li").await, expected_cart);

    // The cart cookie is scoped to /shop: the shop's requests carry it, the account page's do
    // not (the footer lists the cookie names the server received).
    let cart = cookie(&a, "cart_session").await.expect("a cart cookie");
    assert_eq!(cart.path(), Some("/shop"));
    assert!(sent(&a).await.contains(&"cart_session".to_owned()));
    a.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&a).await, "account");
    let on_account = sent(&a).await;
    assert!(
        on_account.contains(&"user_session".to_owned()),
        "{on_account:?}"
    );
    assert!(
        !on_account.contains(&"cart_session".to_owned()),
        "{on_account:?}"
    );

    // The theme: an encrypted by-value cookie, switched to dark.
    click(&a, "#theme").await;
    assert_eq!(
        page(&a).await,
        "account",
        "the theme form goes back to the page"
    );
    assert_eq!(body_class(&a).await, "dark");

    // Scripts can read no cookie at all: every cookie is HttpOnly (while the browser does
    // hold them, as WebDriver shows).
    let script_sees = a.execute("return document.cookie", vec![]).await.unwrap();
    assert_eq!(script_sees, json!(""));
    let held: Vec<String> = a
        .get_all_cookies()
        .await
        .unwrap()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    for name in ["user_session", "prefs"] {
        assert!(held.contains(&name.to_owned()), "{held:?}");
    }

    // A second browser logs in as alice too, and an API client gets a token for alice.
    let b = driver.browser(chromium, &dir.join("profile-b")).await;
    b.goto(&url("/login")).await.unwrap();
    log_in(&b, "alice", "wonderland").await;
    assert_eq!(page(&b).await, "shop");
    let api = reqwest::Client::new();
    let token = api
        .post(url("/api/token"))
        .header("content-type", "application/json")
        .body(r#"{"username":"alice","password":"wonderland"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    let token = token.headers()["x-api-session"]
        .to_str()
        .unwrap()
        .to_owned();
    let api_cart = |token: String| {
        let request = api.get(url("/api/cart")).header("x-api-session", token);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, body) = api_cart(token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""user":"alice""#), "{body}");

    // Restart the server: killed (no clean shutdown) and started again, same port, same data.
    server.restart();

    // Still signed in, the cart and the theme still there (the key was kept too).
    a.goto(&url("/shop")).await.unwrap();
    assert_eq!(page(&a).await, "shop", "still signed in after the restart");
    assert_eq!(texts(&a, "#cart li").await, expected_cart);
    assert_eq!(body_class(&a).await, "dark");
    let key = demo_key(&server.data);
    let ctx = |name| TransformContext::new(name, SystemTime::now());
    let prefs = cookie(&a, "prefs").await.expect("a prefs cookie");
    let opened = Encrypt::new(key.clone()).open(&ctx("prefs"), prefs.value());
    assert_eq!(opened.unwrap().payload, r#"{"theme":"dark"}"#);
    assert!(!prefs.value().contains("dark"), "the theme is encrypted");

    // The account page: the id's first 8 characters only, the expiry, the storage, and the
    // other sessions of alice, known from the index kept across the restart.
    a.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&a).await, "account");
    let cookie_value = cookie(&a, "user_session").await.unwrap();
    let id = Sign::new(key)
        .open(&ctx("user_session"), cookie_value.value())
        .expect("the session cookie is the id signed with the demo's key")
        .payload;
    assert_eq!(id.len(), 64);
    assert_eq!(text(&a, "#session-id").await, format!("{}…", &id[..8]));
    assert!(
        !a.source().await.unwrap().contains(&id),
        "the whole id is never shown"
    );
    assert!(text(&a, "#expires").await.contains("GMT (in "));
    let storage = text(&a, "#storage").await;
    assert!(storage.starts_with("directory ("), "{storage}");
    assert_eq!(
        texts(&a, "#other-sessions li").await.len(),
        2,
        "the second browser and the API token"
    );

    // Log out everywhere else: the second browser and the API token are logged out, this
    // browser is not.
    click(&a, "#logout-others").await;
    assert_eq!(page(&a).await, "account");
    assert_eq!(text(&a, "#ended").await, "Ended 2 other session(s).");
    assert!(texts(&a, "#other-sessions li").await.is_empty());
    b.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&b).await, "login", "the second browser was logged out");
    let (status, body) = api_cart(token).await;
    assert_eq!(status, 401, "the API token was ended: {body}");
    a.refresh().await.unwrap();
    assert_eq!(page(&a).await, "account", "this browser stays signed in");

    // Log out; the back button must not bring the signed-in page back from a cache.
    click(&a, "#logout").await;
    assert_eq!(page(&a).await, "login");
    assert!(a.find(Locator::Css("#user")).await.is_err());
    navigate(&a, a.back()).await;
    assert_eq!(
        page(&a).await,
        "login",
        "after logout, Back shows the login page, not the cached account page"
    );
    assert!(a.find(Locator::Css("#user")).await.is_err());
    assert!(cookie(&a, "user_session").await.is_none());

    // The preferences outlive the login.
    assert_eq!(body_class(&a).await, "dark");
    assert!(cookie(&a, "prefs").await.is_some());

    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// The API's session travels in the `x-api-session` header: a token from the credentials, a
/// cart kept in that session, a JSON `401` without it, and the token's end.
#[test]
fn demo_api_keeps_its_session_in_a_header() {
    let dir = temp_dir("demo-api");
    watchdog(&dir);
    let server = DemoServer::start(free_port(), &dir.join("data"), &dir, 1);
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", server.port);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let api = reqwest::Client::new();
        let send = |request: reqwest::RequestBuilder| async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let header = response
                .headers()
                .get("x-api-session")
                .map(|v| v.to_str().unwrap().to_owned());
            let no_store = response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(no_store.as_deref(), Some("no-store"));
            let body = response.text().await.unwrap();
            (status, header, body)
        };
        let json = |request: reqwest::RequestBuilder, body: &'static str| {
            request
                .header("content-type", "application/json")
                .body(body)
        };

        let (status, _, body) = send(api.get(url("/api/cart"))).await;
        assert_eq!(status, 401);
        assert!(body.contains("POST /api/token"), "{body}");
        let wrong = r#"{"username":"alice","password":"nope"}"#;
        let (status, header, _) = send(json(api.post(url("/api/token")), wrong)).await;
        assert_eq!((status, header), (401, None));

        let right = r#"{"username":"alice","password":"wonderland"}"#;
        let (status, header, body) = send(json(api.post(url("/api/token")), right)).await;
        assert_eq!(status, 201, "{body}");
        let token = header.expect("the token leaves in the x-api-session header");
        let with_token = |request: reqwest::RequestBuilder| request.header("x-api-session", &token);
        let (status, _, body) = send(with_token(api.get(url("/api/cart")))).await;
        assert_eq!(status, 200);
        let cart: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            cart,
            json!({ "user": "alice", "items": [], "total_cents": 0 })
        );
        for _ in 0..2 {
            let add = json(with_token(api.post(url("/api/cart"))), r#"{"product":2}"#);
            assert_eq!(send(add).await.0, 200);
        }
        let unknown = json(with_token(api.post(url("/api/cart"))), r#"{"product":99}"#);
        assert_eq!(send(unknown).await.0, 404);
        let (_, _, body) = send(with_token(api.get(url("/api/cart")))).await;
        let cart: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            cart["items"],
            json!([{ "product": 2, "name": "Kotlin mug", "count": 2, "cents": 1200 }])
        );
        assert_eq!(cart["total_cents"], 2400);

        // A new token asked for with the current one: a new id, and the old one ends.
        let again = json(with_token(api.post(url("/api/token"))), right);
        let (status, header, _) = send(again).await;
        assert_eq!(status, 201);
        let new_token = header.expect("a new token");
        assert_ne!(new_token, token);
        let (status, _, _) = send(with_token(api.get(url("/api/cart")))).await;
        assert_eq!(status, 401, "the token the new one replaced is dead");
        let token = new_token;
        let with_token = |request: reqwest::RequestBuilder| request.header("x-api-session", &token);
        assert_eq!(send(with_token(api.get(url("/api/cart")))).await.0, 200);

        // A forged token (a valid-looking id without the demo key's signature) is no session.
        let forged = format!("{}x", &token[..token.len() - 1]);
        let (status, _, _) = send(api.get(url("/api/cart")).header("x-api-session", forged)).await;
        assert_eq!(status, 401);

        let (status, header, _) = send(with_token(api.delete(url("/api/token")))).await;
        assert_eq!(status, 204);
        assert_eq!(header.as_deref(), Some(""), "the header session is cleared");
        let (status, _, _) = send(with_token(api.get(url("/api/cart")))).await;
        assert_eq!(status, 401, "an ended token is dead");
    });
}

/// A storage the demo cannot open ends it at startup with a message and a non-zero exit
/// code, not a panic, and the message does not repeat the password in the URL.
#[test]
fn demo_exits_with_a_clear_error_when_the_storage_cannot_be_opened() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Without the feature the demo says which one to enable; with it, nothing listens there.
    let redis = "redis://:hunter2@127.0.0.1:1/0";
    let redis_error = if cfg!(feature = "redis") {
        "cannot open the session storage: session storage unavailable"
    } else {
        "needs the `redis` feature of typed-sessions (SESSION_STORAGE is redis (redis://***@127.0.0.1:1/0)); \
         run `cargo run --example demo --features redis`"
    };
    for (url, expected) in [
        (
            "mysql://user:hunter2@db/shop",
            "demo: unknown session storage scheme `mysql`",
        ),
        (redis, redis_error),
    ] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "browser::demo_server_process",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env("PORT", free_port().to_string())
            .env("DEMO_DATA_DIR", dir.path())
            .env("SESSION_STORAGE", url)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(1), "{url}: {printed}");
        assert!(printed.contains(expected), "{url}: {printed}");
        assert!(!printed.contains("panicked"), "{url}: {printed}");
        assert!(!printed.contains("hunter2"), "{url}: {printed}");
    }
}

/// Fills and sends the login form of the current page.
async fn log_in(client: &Client, user: &str, password: &str) {
    let field = |name: &'static str| client.find(Locator::Css(name));
    field("#login input[name=username]")
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    field("#login input[name=password]")
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    click(client, "#login button").await;
}

/// Clicks what `css` selects and waits for the page that follows.
async fn click(client: &Client, css: &str) {
    let target = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
    navigate(client, target.click()).await;
}

/// Runs `action` and waits until it has replaced the document and the new one has loaded.
async fn navigate<E: std::fmt::Debug>(
    client: &Client,
    action: impl std::future::Future<Output = Result<(), E>>,
) {
    let old = client.find(Locator::Css("body")).await.unwrap();
    action.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The old body is stale once the new document replaced it.
        let replaced = old.tag_name().await.is_err();
        let ready = client
            .execute("return document.readyState", vec![])
            .await
            .is_ok_and(|state| state == json!("complete"));
        if replaced && ready {
            return;
        }
        assert!(Instant::now() < deadline, "no new page loaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page's name (`<body data-page>`).
async fn page(client: &Client) -> String {
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.attr("data-page").await.unwrap().unwrap_or_default()
}

async fn body_class(client: &Client) -> String {
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.attr("class").await.unwrap().unwrap_or_default()
}

async fn text(client: &Client, css: &str) -> String {
    let element = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
    element.text().await.unwrap()
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(element.text().await.unwrap());
    }
    out
}

/// The names of the cookies the server received with this page's request (its footer).
async fn sent(client: &Client) -> Vec<String> {
    text(client, "#cookies-sent")
        .await
        .split(", ")
        .map(str::to_owned)
        .collect()
}

/// The browser's cookie `name` for the current page, if it holds one (WebDriver sees
/// `HttpOnly` cookies too).
async fn cookie(client: &Client, name: &str) -> Option<fantoccini::cookies::Cookie<'static>> {
    client
        .get_all_cookies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name() == name)
}

/// The key the demo generated into its data directory, which must be private (0600).
fn demo_key(data: &Path) -> Key {
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

fn free_port() -> u16 {
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

/// The demo server: this test binary, running [`demo_server_process`].
struct DemoServer {
    child: Child,
    port: u16,
    data: PathBuf,
    logs: PathBuf,
    starts: u32,
}

impl DemoServer {
    fn start(port: u16, data: &Path, logs: &Path, starts: u32) -> DemoServer {
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
        let printed = std::fs::read_to_string(&log).unwrap();
        assert!(
            printed.contains(&format!("Listening on http://127.0.0.1:{port}")),
            "{printed}"
        );
        DemoServer {
            child,
            port,
            data: data.to_owned(),
            logs: logs.to_owned(),
            starts,
        }
    }

    /// Kills the server (SIGKILL: nothing gets flushed on the way out) and starts it again.
    fn restart(&mut self) {
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
struct Driver {
    child: Child,
    port: u16,
    pid_file: PathBuf,
}

impl Driver {
    fn start(chromedriver: &Path, logs: &Path) -> Driver {
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
    async fn browser(&self, chromium: &Path, profile: &Path) -> Client {
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
