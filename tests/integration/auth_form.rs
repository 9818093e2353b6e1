//! The ported Ktor example `auth-form-session`, over real HTTP with a cookie-keeping client:
//! the challenge redirect, a refused login, a login, the visit count, the id regenerated at a
//! second login (the old id dead), and the logout (a `POST`; a `GET` does not log out).

#[allow(dead_code)]
#[path = "../../examples/auth_form_session.rs"]
mod auth_form_session;

use crate::common::{cookie_client, serve};

/// The `user_session` cookie a response sets: its value and its attributes.
fn session_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("user_session="))
        .map(|c| {
            let (value, attributes) = c.split_once(';').unwrap_or((c, ""));
            (value.to_owned(), attributes.to_owned())
        })
}

#[tokio::test]
async fn example_auth_form_session() {
    let addr = serve(auth_form_session::app()).await;
    let url = |path: &str| format!("http://{addr}{path}");
    let client = cookie_client();
    let location = |r: &reqwest::Response| {
        r.headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let post_login = |body: &'static str| {
        client
            .post(url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };

    // Not logged in: the challenge sends the browser to the form.
    let hello = client.get(url("/hello")).send().await.unwrap();
    assert_eq!(hello.status(), 302);
    assert_eq!(location(&hello).as_deref(), Some("/login"));
    let form = client.get(url("/login")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    for part in [
        r#"action="/login""#,
        r#"method="post""#,
        r#"name="username""#,
        r#"name="password""#,
    ] {
        assert!(form.contains(part), "{part} missing from {form}");
    }

    // Wrong credentials, or none: 401 with Ktor's text, and no session.
    for body in [
        "username=jetbrains&password=wrong",
        "username=jet&password=foobar",
        "",
    ] {
        let refused = post_login(body).await.unwrap();
        assert_eq!(refused.status(), 401, "{body}");
        assert!(session_cookie(&refused).is_none(), "{body}");
        assert_eq!(refused.text().await.unwrap(), "Credentials are not valid");
    }

    // The login: a session cookie with Ktor's attributes (plus HttpOnly, SameSite), then /hello.
    let login = post_login("username=jetbrains&password=foobar")
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    assert_eq!(location(&login).as_deref(), Some("/hello"));
    let (first_id, attributes) = session_cookie(&login).expect("the login sets the session");
    assert!(typed_sessions::SessionId::parse(&first_id).is_some());
    assert!(attributes.contains("Max-Age=60"), "{attributes}");
    assert!(attributes.contains("Path=/;"), "{attributes}");
    assert!(attributes.contains("HttpOnly"), "{attributes}");
    assert!(!attributes.contains("Secure"), "{attributes}");
    for count in 1..=3 {
        let hello = client.get(url("/hello")).send().await.unwrap();
        assert_eq!(hello.status(), 200);
        assert_eq!(
            hello.text().await.unwrap(),
            format!("Hello, jetbrains! Visit count is {count}.")
        );
    }

    // Logging in again with a session: the session gets a new id and the old one is dead.
    let again = post_login("username=jetbrains&password=foobar")
        .await
        .unwrap();
    assert_eq!(again.status(), 302);
    let (second_id, _) = session_cookie(&again).expect("the second login sends the new id");
    assert_ne!(second_id, first_id, "the login regenerates the session id");
    let stranger = cookie_client();
    let old = stranger
        .get(url("/hello"))
        .header("cookie", format!("user_session={first_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 302, "the id from before the login is dead");
    assert_eq!(location(&old).as_deref(), Some("/login"));
    let hello = client.get(url("/hello")).send().await.unwrap();
    assert_eq!(
        hello.text().await.unwrap(),
        "Hello, jetbrains! Visit count is 1.",
        "the second login starts a new count"
    );

    // A GET cannot log out (any page could send one with an <img>): the session stays.
    let get_logout = client.get(url("/logout")).send().await.unwrap();
    assert_eq!(get_logout.status(), 405);
    assert!(session_cookie(&get_logout).is_none());
    let hello = client.get(url("/hello")).send().await.unwrap();
    assert_eq!(hello.status(), 200, "still logged in");

    // Logout: the cookie is removed, the id ends on the server, /hello challenges again.
    let logout = client.post(url("/logout")).send().await.unwrap();
    assert_eq!(logout.status(), 302);
    assert_eq!(location(&logout).as_deref(), Some("/login"));
    let (removed, attributes) = session_cookie(&logout).expect("the logout removes the cookie");
    assert!(removed.is_empty() && attributes.contains("Max-Age=0"));
    let hello = client.get(url("/hello")).send().await.unwrap();
    assert_eq!(hello.status(), 302);
    assert_eq!(location(&hello).as_deref(), Some("/login"));
    let replayed = stranger
        .get(url("/hello"))
        .header("cookie", format!("user_session={second_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        302,
        "a logged-out id is dead on the server"
    );
}
