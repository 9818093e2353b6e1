//! The home page: what the demo shows and what to try.

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;

use super::AppState;
use super::html::{PageContext, esc};
use super::users::USERS;

/// `GET /`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

async fn home(page: PageContext, headers: HeaderMap) -> Response {
    // The address the browser used, for the curl lines.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| "127.0.0.1:8080".to_owned(), esc);
    let users = USERS
        .iter()
        .map(|(name, password)| format!("<code>{name}</code> / <code>{password}</code>"))
        .collect::<Vec<_>>()
        .join(", ");
    let body = format!(
        r#"<p>A small shop built on <b>typed-sessions</b>. Every session is a Rust type; each
page says which feature of the library it shows.</p>
<ol>
<li><a href="/login">Log in</a> as {users}. The login starts a session kept on the server
  and gives it a new id (no session fixation). <a href="/shop">Shop</a> and
  <a href="/account">Account</a> need the login: without it they send you to the form.</li>
<li>Add something to the cart in the <a href="/shop">Shop</a>, then stop the demo (Ctrl+C)
  and start it again: you are still logged in and the cart is still there (the sessions are
  in files under the data directory).</li>
<li>Switch the theme (top right). It is kept in an encrypted cookie, not on the server, and
  it stays after a logout.</li>
<li>Log in as the same user in a second browser: the <a href="/account">Account</a> page
  lists both devices (browser, when each logged in and was last seen, "this device"), from
  the storage's own index of the user's sessions. Log out the other one from there, or all
  other devices at once, or change the password, which logs out every other device. The
  page also shows this session's id prefix, its expiry and where it is stored.</li>
<li>Check <em>Remember me</em> at the login and the cookie lasts 30 days (it survives a
  browser restart); without it, the login ends with the browser session.</li>
<li>Log out, then press the browser's back button: the signed-in page does not come back
  (no page is cached).</li>
<li>Every form carries a CSRF token bound to the login, so another site cannot submit them:
  not even the login form, which <code>SameSite=Lax</code> cookies alone do not protect (a
  page elsewhere could log you into someone else's account). Each form's result is shown
  once, as a flash notice on the page it leads to.</li>
<li>The API keeps its session in an <code>x-api-session</code> header instead of a cookie:
<pre>curl -si -H 'content-type: application/json' \
  -d '{{"username":"alice","password":"wonderland"}}' http://{host}/api/token
curl -s -H 'x-api-session: VALUE' http://{host}/api/cart
curl -s -H 'x-api-session: VALUE' -H 'content-type: application/json' \
  -d '{{"product":2}}' http://{host}/api/cart</pre>
(with the <code>x-api-session</code> value the first call returns as <code>VALUE</code>).</li>
</ol>"#
    );
    page.page("home", "Welcome", &body)
}
