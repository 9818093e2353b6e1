//! Flash messages over real loopback HTTP: shown once after a redirect and gone on reload,
//! never shown to another browser, in an encrypted cookie or server-side, and a value too
//! large for its cookie fails at `set`.

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use typed_sessions::flash::{Flash, Flashed};
use typed_sessions::storage::MemoryStorage;
use typed_sessions::{Key, SessionError, Sessions, SessionsConfig};

use crate::common::{cookie_client, serve};

/// A typed notice, as an application would define it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Notice {
    Saved { title: String },
    Failed(String),
}

/// `/save/{title}` sets a notice and redirects to `/`, which shows it; `/huge` tries a notice
/// too large for a cookie; `/plain` does not read flashes.
fn routes() -> Router {
    Router::new()
        .route(
            "/save/{title}",
            post(
                |s: Sessions, axum::extract::Path(title): axum::extract::Path<String>| async move {
                    s.set(Flash(Notice::Saved { title }))?;
                    Ok::<_, SessionError>(Redirect::to("/"))
                },
            ),
        )
        .route("/", get(show))
        .route("/plain", get(|| async { "no flash read here" }))
        .route(
            "/huge",
            post(|s: Sessions| async move {
                match s.set(Flash(Notice::Failed("x".repeat(5000)))) {
                    Err(SessionError::TooLarge { size, limit, .. }) => {
                        format!("too large: {size} > {limit}").into_response()
                    }
                    other => format!("unexpected: {other:?}").into_response(),
                }
            }),
        )
}

async fn show(Flashed(notice): Flashed<Notice>) -> Response {
    match notice {
        Some(Notice::Saved { title }) => format!("saved {title}"),
        Some(Notice::Failed(why)) => format!("failed {why}"),
        None => "no notice".into(),
    }
    .into_response()
}

fn in_cookie() -> Router {
    let sessions = SessionsConfig::new()
        .flash::<Notice>("notice", Key::generate(), |c| c.secure(false))
        .build()
        .unwrap();
    routes().layer(sessions)
}

fn in_storage(storage: Arc<MemoryStorage>) -> Router {
    let sessions = SessionsConfig::new()
        .cookie_with_storage::<Flash<Notice>, _>("notice", storage, |c| c.secure(false))
        .build()
        .unwrap();
    routes().layer(sessions)
}

/// `GET path` and its body, with the `Set-Cookie` lines.
async fn page(client: &reqwest::Client, url: String) -> (String, Vec<String>) {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    (response.text().await.unwrap(), cookies)
}

#[tokio::test]
async fn a_flash_is_shown_once_after_the_redirect_and_gone_on_reload() {
    for (kind, router) in [
        ("cookie", in_cookie()),
        ("storage", in_storage(Arc::new(MemoryStorage::new()))),
    ] {
        let addr = serve(router).await;
        let url = |path: &str| format!("http://{addr}{path}");
        let client = cookie_client();
        assert_eq!(page(&client, url("/")).await.0, "no notice", "{kind}");
        let saved = client.post(url("/save/report")).send().await.unwrap();
        assert_eq!(saved.status(), 303, "{kind}");
        let set = saved.headers()["set-cookie"].to_str().unwrap();
        assert!(set.starts_with("notice="), "{kind}: {set}");
        assert!(
            !set.contains("report"),
            "{kind}: the cookie does not show the notice"
        );
        // A page that does not read flashes leaves it alone.
        assert_eq!(page(&client, url("/plain")).await.0, "no flash read here");
        // The page the redirect leads to shows it and clears it...
        let (body, cookies) = page(&client, url("/")).await;
        assert_eq!(body, "saved report", "{kind}");
        assert!(
            cookies.iter().any(|c| c.starts_with("notice=;")),
            "{kind}: the flash cookie is removed: {cookies:?}"
        );
        // ...so a reload does not show it again.
        assert_eq!(page(&client, url("/")).await.0, "no notice", "{kind}");
        // Two flashes in a row: the second replaces the first.
        client.post(url("/save/one")).send().await.unwrap();
        client.post(url("/save/two")).send().await.unwrap();
        assert_eq!(page(&client, url("/")).await.0, "saved two", "{kind}");
        assert_eq!(page(&client, url("/")).await.0, "no notice", "{kind}");
    }
}

#[tokio::test]
async fn a_flash_is_never_shown_to_another_browser() {
    let storage = Arc::new(MemoryStorage::new());
    for (kind, router) in [
        ("cookie", in_cookie()),
        ("storage", in_storage(storage.clone())),
    ] {
        let addr = serve(router).await;
        let url = |path: &str| format!("http://{addr}{path}");
        let alice = cookie_client();
        let bob = cookie_client();
        alice.post(url("/save/alices")).send().await.unwrap();
        bob.post(url("/save/bobs")).send().await.unwrap();
        let stranger = cookie_client();
        assert_eq!(page(&stranger, url("/")).await.0, "no notice", "{kind}");
        assert_eq!(page(&bob, url("/")).await.0, "saved bobs", "{kind}");
        assert_eq!(page(&alice, url("/")).await.0, "saved alices", "{kind}");
    }
    assert_eq!(storage.len(), 0, "read flashes leave no record behind");
}

#[tokio::test]
async fn a_flash_too_large_for_its_cookie_fails_at_set() {
    let addr = serve(in_cookie()).await;
    let client = cookie_client();
    let response = client
        .post(format!("http://{addr}/huge"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    let body = response.text().await.unwrap();
    assert!(body.starts_with("too large: "), "{body}");
    assert!(body.ends_with("> 4096"), "{body}");
    let (body, _) = page(&client, format!("http://{addr}/")).await;
    assert_eq!(body, "no notice");
}

#[tokio::test]
async fn a_handler_can_take_a_flash_and_set_the_next_one() {
    let sessions = SessionsConfig::new()
        .flash::<Notice>("notice", Key::generate(), |c| c.secure(false))
        .build()
        .unwrap();
    let router = routes()
        .route(
            "/relay",
            get(|s: Sessions| async move {
                let taken = Flash::<Notice>::take(&s).await?;
                s.set(Flash(Notice::Failed(format!("after {taken:?}"))))?;
                Ok::<_, SessionError>("relayed")
            }),
        )
        .layer(sessions);
    let addr = serve(router).await;
    let url = |path: &str| format!("http://{addr}{path}");
    let client = cookie_client();
    client.post(url("/save/first")).send().await.unwrap();
    assert_eq!(page(&client, url("/relay")).await.0, "relayed");
    assert_eq!(
        page(&client, url("/")).await.0,
        r#"failed after Some(Saved { title: "first" })"#
    );
    assert_eq!(page(&client, url("/")).await.0, "no notice");
}
