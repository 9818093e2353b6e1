//! The pages' frame: the layout every page shares, and the rule that no response is cached.
//!
//! Every page carries this response's CSRF token (in its forms, through
//! [`PageContext::token_field`]) and shows the flash notice the previous form left, once.
//!
//! Every response leaves with `Cache-Control: no-store` ([`no_store`]). The library already
//! adds it to each response that writes a session; the demo adds it to the rest too, because
//! its pages show session data: after a logout, the back button must fetch the page again
//! (and meet the login redirect) instead of showing the signed-in page from the cache.
//!
//! The footer of each page lists the names of the cookies the browser sent with the request
//! (names only, never values): compare the shop's footer, where `cart_session` appears, with
//! the others, where it does not (its `Path` is `/shop`).

use axum::extract::FromRequestParts;
use axum::http::header::{CACHE_CONTROL, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use typed_sessions::csrf::CsrfToken;
use typed_sessions::flash::Flash;
use typed_sessions::{SessionError, Sessions};

use super::DemoError;
use super::auth::UserSession;
use super::forms::Notice;
use super::prefs::{self, Theme};

/// Marks every response as not cacheable (unless a handler said otherwise).
pub async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// What every page shows besides its content: who is signed in, the theme, which cookies
/// came with the request, the flash notice; and the CSRF token its forms carry. An
/// extractor, so a handler just asks for it.
pub struct PageContext {
    /// The signed-in user, if any.
    pub user: Option<String>,
    theme: Theme,
    path: String,
    cookies: Vec<String>,
    token: CsrfToken,
    notice: Option<Notice>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = DemoError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, DemoError> {
        let sessions = Sessions::from_extensions(&parts.extensions).map_err(SessionError::from)?;
        // On protected pages `SessionAuth` has loaded the session already: this is no second
        // storage read.
        let user = sessions.get::<UserSession>().await?.map(|s| s.user);
        Ok(PageContext {
            user,
            theme: prefs::theme(&sessions).await?,
            path: parts.uri.path().to_owned(),
            cookies: cookie_names(&parts.headers),
            token: CsrfToken::from_parts(parts).await?,
            // Shown on this page, so taken now: gone on reload.
            notice: Flash::<Notice>::take(&sessions).await?,
        })
    }
}

impl PageContext {
    /// The hidden field with this response's CSRF token, for every form of the page.
    pub fn token_field(&self) -> String {
        self.token.hidden_input()
    }

    /// A `200` page.
    pub fn page(&self, id: &str, title: &str, body: &str) -> Response {
        self.page_with_status(StatusCode::OK, id, title, body)
    }

    /// A page with `status`. `id` names the page in `<body data-page>`; `body` is HTML.
    pub fn page_with_status(
        &self,
        status: StatusCode,
        id: &str,
        title: &str,
        body: &str,
    ) -> Response {
        let who = match &self.user {
            Some(user) => format!(
                r#"Signed in as <b id="user">{}</b>
<form method="post" action="/logout">{}<button id="logout">Log out</button></form>"#,
                esc(user),
                self.token_field()
            ),
            None => r#"<a href="/login">Log in</a>"#.to_owned(),
        };
        let other = self.theme.other();
        let cookies = if self.cookies.is_empty() {
            "none".to_owned()
        } else {
            self.cookies
                .iter()
                .map(|name| format!("<code>{}</code>", esc(name)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let html = format!(
            r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · typed-sessions demo</title>
<style>{CSS}</style>
</head>
<body class="{theme}" data-page="{id}">
<header>
<nav><a href="/">Home</a> <a href="/shop">Shop</a> <a href="/account">Account</a></nav>
<div class="who">{who}</div>
<form method="post" action="/prefs" class="theme">
{token}<input type="hidden" name="back" value="{path}">
<button id="theme" name="theme" value="{other}">{other_label} theme</button>
</form>
</header>
<main>
<h1>{title}</h1>
{notice}{body}
</main>
<footer>Cookies your browser sent with this request: <span id="cookies-sent">{cookies}</span>
(names only; they are <code>HttpOnly</code>, so no script on this page can read them).</footer>
</body>
</html>
"#,
            title = esc(title),
            theme = self.theme.as_str(),
            id = esc(id),
            path = esc(&self.path),
            other = other.as_str(),
            other_label = other.label(),
            token = self.token_field(),
            notice = self.notice.as_ref().map(Notice::html).unwrap_or_default(),
        );
        (status, Html(html)).into_response()
    }
}

/// The names of the cookies in the request's `Cookie` headers, in order, without repeats.
fn cookie_names(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let name = pair.split('=').next().unwrap_or("").trim();
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// Escapes text for HTML (content and quoted attribute values).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Euros from cents: `12.50`.
pub fn euros(cents: u32) -> String {
    format!("€{}.{:02}", cents / 100, cents % 100)
}

const CSS: &str = "
body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
body.light { background: #fff; color: #1d1d1f; }
body.dark { background: #1d1f21; color: #e6e6e6; }
body.dark a { color: #8ab4f8; }
header { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; padding: .75rem 0;
  border-bottom: 1px solid #8884; }
header nav { flex: 1; } header nav a { margin-right: .75rem; }
form { display: inline; }
button { font: inherit; cursor: pointer; }
table { border-collapse: collapse; } td, th { padding: .25rem .75rem .25rem 0; text-align: left; }
code { background: #8882; padding: 0 .25rem; border-radius: 3px; }
.note { background: #fd03; padding: .5rem; }
.error { background: #f443; padding: .5rem; }
footer { margin: 2rem 0; padding-top: .5rem; border-top: 1px solid #8884; font-size: .9rem; }
";
