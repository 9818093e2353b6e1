//! Page helpers over WebDriver: fill and send a form, click and wait for the next page, read
//! what the page shows and which cookies the browser holds.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::json;

/// Fills and sends the login form of the current page ("remember me" not checked).
pub async fn log_in(client: &Client, user: &str, password: &str) {
    log_in_with(client, user, password, false).await;
}

/// Fills and sends the login form of the current page, checking "remember me" if `remember`.
pub async fn log_in_with(client: &Client, user: &str, password: &str, remember: bool) {
    fill(client, "#login input[name=username]", user).await;
    fill(client, "#login input[name=password]", password).await;
    if remember {
        let checkbox = client.find(Locator::Css("#remember")).await.unwrap();
        checkbox.click().await.unwrap();
        assert_eq!(
            checkbox.prop("checked").await.unwrap().as_deref(),
            Some("true")
        );
    }
    click(client, "#login button").await;
}

/// Types `text` into the field `css` selects.
pub async fn fill(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Clicks what `css` selects and waits for the page that follows.
pub async fn click(client: &Client, css: &str) {
    let target = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
    navigate(client, target.click()).await;
}

/// Runs `action` and waits until it has replaced the document and the new one has loaded.
pub async fn navigate<E: std::fmt::Debug>(
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
pub async fn page(client: &Client) -> String {
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.attr("data-page").await.unwrap().unwrap_or_default()
}

pub async fn body_class(client: &Client) -> String {
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.attr("class").await.unwrap().unwrap_or_default()
}

pub async fn text(client: &Client, css: &str) -> String {
    let element = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"));
    element.text().await.unwrap()
}

pub async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(element.text().await.unwrap());
    }
    out
}

/// The names of the cookies the server received with this page's request (its footer).
pub async fn sent(client: &Client) -> Vec<String> {
    text(client, "#cookies-sent")
        .await
        .split(", ")
        .map(str::to_owned)
        .collect()
}

/// The browser's cookie `name` for the current page, if it holds one (WebDriver sees
/// `HttpOnly` cookies too).
pub async fn cookie(client: &Client, name: &str) -> Option<fantoccini::cookies::Cookie<'static>> {
    client
        .get_all_cookies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name() == name)
}

/// Checks that every form of the page carries a CSRF token field.
pub async fn every_form_has_a_token(client: &Client) {
    let forms = client.find_all(Locator::Css("form")).await.unwrap();
    assert!(!forms.is_empty(), "no form on the page");
    for form in forms {
        let action = form.attr("action").await.unwrap().unwrap_or_default();
        let token = form
            .find(Locator::Css(r#"input[type="hidden"][name="csrf_token"]"#))
            .await
            .unwrap_or_else(|_| panic!("the form to {action} has no CSRF token"));
        let value = token.attr("value").await.unwrap().unwrap_or_default();
        assert_eq!(value.len(), typed_sessions::csrf::TOKEN_LEN, "{action}");
    }
}
