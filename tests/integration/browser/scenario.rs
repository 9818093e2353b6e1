//! The demo's features in headless Chromium: the login challenge, a refused and an accepted
//! login (each told by a flash notice), the cookies' attributes, the cart, the theme, a
//! restart of the server, "log out other devices" (another browser and an API token), the
//! logout and the back button.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use fantoccini::Locator;
use serde_json::json;
use typed_sessions::transform::{Encrypt, Sign, TransformContext};

use super::harness::{DemoServer, Driver, browsers, demo_key, free_port};
use super::pages::{
    body_class, click, cookie, every_form_has_a_token, log_in, navigate, page, sent, text, texts,
};
use crate::support::servers::{temp_dir, watchdog};

#[test]
fn demo_in_chromium() {
    let Some((chromium, chromedriver)) = browsers("browser::scenario::demo_in_chromium") else {
        return;
    };
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
        "browser::scenario::demo_in_chromium: done in {:.1} s",
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

    // A wrong password is refused, told by a flash notice that a reload does not repeat; the
    // right one leads to the shop, signed in.
    every_form_has_a_token(&a).await;
    log_in(&a, "alice", "not-the-password").await;
    assert_eq!(page(&a).await, "login");
    assert_eq!(text(&a, "p.error#flash").await, "Credentials are not valid");
    assert!(cookie(&a, "user_session").await.is_none());
    a.refresh().await.unwrap();
    assert_eq!(page(&a).await, "login");
    assert!(a.find(Locator::Css("#flash")).await.is_err(), "shown once");
    log_in(&a, "alice", "wonderland").await;
    assert_eq!(page(&a).await, "shop");
    assert_eq!(text(&a, "#user").await, "alice");
    assert_eq!(text(&a, "p.note#flash").await, "Welcome, alice.");
    every_form_has_a_token(&a).await;

    // The CSRF cookie: the browser's part of the tokens, encrypted, HttpOnly, SameSite=Lax.
    let csrf = cookie(&a, "csrf").await.expect("a CSRF cookie");
    assert_eq!(csrf.http_only(), Some(true));
    assert_eq!(format!("{:?}", csrf.same_site()), "Some(Lax)");

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
    assert_eq!(text(&a, "#flash").await, "Dark theme on.");
    every_form_has_a_token(&a).await;

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

    // The account page: the id's first 8 characters only, the expiry, the storage, and every
    // session of alice, from the storage's principal index kept across the restart.
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
    let mut listed = texts(&a, "#devices tr.device td.what").await;
    listed.sort();
    assert_eq!(
        listed,
        [
            "API token",
            "Chrome on Linux",
            "Chrome on Linux (this device)"
        ],
        "this browser, the second browser and the API token"
    );

    // Log out other devices: the second browser and the API token are logged out, this
    // browser is not.
    click(&a, "#logout-others").await;
    assert_eq!(page(&a).await, "account");
    assert_eq!(text(&a, "#flash").await, "Logged out 2 other device(s).");
    assert_eq!(
        texts(&a, "#devices tr.device td.what").await,
        ["Chrome on Linux (this device)"]
    );
    b.goto(&url("/account")).await.unwrap();
    assert_eq!(page(&b).await, "login", "the second browser was logged out");
    let (status, body) = api_cart(token).await;
    assert_eq!(status, 401, "the API token was ended: {body}");
    a.refresh().await.unwrap();
    assert_eq!(page(&a).await, "account", "this browser stays signed in");
    assert!(a.find(Locator::Css("#flash")).await.is_err(), "shown once");

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
