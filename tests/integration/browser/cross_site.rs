//! Another site attacks the demo's forms in headless Chromium: a page served from
//! `127.0.0.2` (another host, so another *site* for the browser, as `localhost` would be)
//! auto-submits the demo's login form with the attacker's credentials (login CSRF) and its
//! theme form. Chromium sends both as top-level cross-site `POST`s (`Sec-Fetch-Site:
//! cross-site`, no `SameSite=Lax` cookie); the CSRF layer refuses both, and the victim's
//! login, session id and theme are unchanged. The same forms sent from the demo's own pages
//! work.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use fantoccini::{Client, Locator};
use serde_json::json;

use super::harness::{DemoServer, Driver, browsers, free_port};
use super::pages::{body_class, click, cookie, log_in, page, text};
use crate::support::servers::{temp_dir, watchdog};

/// The attacker's host: loopback, but not the demo's `127.0.0.1`.
const ATTACKER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

#[test]
fn another_site_cannot_submit_the_demos_forms() {
    let test = "browser::cross_site::another_site_cannot_submit_the_demos_forms";
    let Some((chromium, chromedriver)) = browsers(test) else {
        return;
    };
    let dir = temp_dir("cross-site");
    watchdog(&dir);
    let server = DemoServer::start(free_port(), &dir.join("demo-data"), &dir, 1);
    let driver = Driver::start(&chromedriver, &dir);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let attacker = serve_attacker(server.port).await;
        let steps = scenario(server.port, attacker, &driver, &chromium, &dir);
        tokio::time::timeout(Duration::from_secs(180), steps)
            .await
            .expect("the cross-site scenario finished within 3 minutes");
    });
}

/// The attacker's site: one page per attack, each a form aimed at the demo that submits
/// itself as soon as it loads.
async fn serve_attacker(demo_port: u16) -> SocketAddr {
    let demo = format!("http://127.0.0.1:{demo_port}");
    let page = |action: String, fields: &[(&str, &str)]| {
        let inputs: String = fields
            .iter()
            .map(|(name, value)| format!(r#"<input type="hidden" name="{name}" value="{value}">"#))
            .collect();
        Html(format!(
            r#"<!doctype html><html><body data-page="attacker">
<form id="attack" method="post" action="{action}">{inputs}</form>
<script>document.getElementById("attack").submit();</script>
</body></html>"#
        ))
    };
    let login = page(
        format!("{demo}/login"),
        &[("username", "bob"), ("password", "builder")],
    );
    let theme = page(
        format!("{demo}/prefs"),
        &[("theme", "dark"), ("back", "/account")],
    );
    let router = Router::new()
        .route("/login", get(move || std::future::ready(login.clone())))
        .route("/theme", get(move || std::future::ready(theme.clone())));
    let listener = tokio::net::TcpListener::bind((ATTACKER, 0))
        .await
        .expect("127.0.0.2 is a loopback address on Linux");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn scenario(port: u16, attacker: SocketAddr, driver: &Driver, chromium: &Path, dir: &Path) {
    let demo = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let evil = |path: &str| format!("http://{attacker}{path}");

    // A visitor who is not logged in: the hostile page would log them in as bob.
    let anonymous = driver.browser(chromium, &dir.join("anonymous")).await;
    anonymous.goto(&demo("/login")).await.unwrap();
    attack(&anonymous, &evil("/login"), port).await;
    assert!(
        cookie(&anonymous, "user_session").await.is_none(),
        "not logged in as the attacker"
    );
    anonymous.goto(&demo("/account")).await.unwrap();
    assert_eq!(page(&anonymous).await, "login", "still not logged in");

    // A logged-in victim, with the light theme.
    let victim = driver.browser(chromium, &dir.join("victim")).await;
    victim.goto(&demo("/login")).await.unwrap();
    log_in(&victim, "alice", "wonderland").await;
    assert_eq!(text(&victim, "#user").await, "alice");
    let session = cookie(&victim, "user_session").await.unwrap();
    assert_eq!(body_class(&victim).await, "light");

    for path in ["/login", "/theme"] {
        attack(&victim, &evil(path), port).await;
        let after = cookie(&victim, "user_session").await.unwrap();
        assert_eq!(
            after.value(),
            session.value(),
            "{path}: the same session id"
        );
        assert!(
            cookie(&victim, "prefs").await.is_none(),
            "{path}: no theme set"
        );
        victim.goto(&demo("/account")).await.unwrap();
        assert_eq!(page(&victim).await, "account");
        assert_eq!(text(&victim, "#user").await, "alice", "{path}: still alice");
        assert_eq!(
            body_class(&victim).await,
            "light",
            "{path}: the theme unchanged"
        );
    }

    // The same forms from the demo's own pages work.
    click(&victim, "#theme").await;
    assert_eq!(body_class(&victim).await, "dark");
    click(&victim, "#logout").await;
    assert_eq!(page(&victim).await, "login");
    log_in(&victim, "bob", "builder").await;
    assert_eq!(text(&victim, "#user").await, "bob");

    anonymous.close().await.unwrap();
    victim.close().await.unwrap();
}

/// Opens the attacker's page, which submits its form to the demo, and checks that the demo
/// refused it as a cross-site request (so the browser really sent it as one).
async fn attack(client: &Client, page_url: &str, demo_port: u16) {
    client.goto(page_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = client.current_url().await.unwrap();
        let arrived = url.port() == Some(demo_port) && url.host_str() == Some("127.0.0.1");
        let ready = client
            .execute("return document.readyState", vec![])
            .await
            .is_ok_and(|state| state == json!("complete"));
        if arrived && ready && client.find(Locator::Css("body[data-page]")).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the attack page did not submit");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(page(client).await, "refused", "{page_url}");
    let reason = client.find(Locator::Css("#reason")).await.unwrap();
    let reason = reason.attr("data-reason").await.unwrap();
    assert_eq!(reason.as_deref(), Some("cross_site"), "{page_url}");
}
