//! What the layer checks: safe methods pass, exempt routes pass, where the request comes from
//! (Fetch Metadata, `Origin`) is decided before the token, and the token comes from the header
//! or the form, whose body reaches the handler intact.

use super::{Site, app};
use crate::common::ProbeStorage;

#[tokio::test]
async fn safe_methods_are_never_checked() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let cross = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.test"),
    ];
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        let mut request = browser
            .client
            .request(method.clone(), browser.url("/whoami"));
        for (name, value) in cross {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{method}");
    }
    let options = browser
        .client
        .request(reqwest::Method::OPTIONS, browser.url("/echo"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_ne!(options.status(), 403, "OPTIONS is not checked");
    assert_eq!(browser.get("/whoami").await.body, "nobody");
}

#[tokio::test]
async fn a_form_with_its_token_passes_and_the_handler_gets_the_body_intact() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let token = browser.token().await;
    let form = format!("a=1&b=%20two+words&csrf_token={token}&c=%E2%82%AC");
    let reply = browser.form("/echo", &form, &[]).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, form, "the handler reads the same bytes");
    // The token as the form's first field, percent-encoded like a browser may write it.
    let encoded = token.replace('-', "%2D");
    let reply = browser
        .form("/echo", &format!("csrf_token={encoded}"), &[])
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn the_header_carries_the_token_for_any_body() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let token = browser.token().await;
    let json = r#"{"csrf_token":"not read"}"#;
    let response = browser
        .client
        .post(browser.url("/echo"))
        .header("content-type", "application/json")
        .header("x-csrf-token", &token)
        .body(json)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), json);
    // PUT, PATCH and DELETE pass the check with the header (and meet the router's 405,
    // since `/echo` only takes POST).
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let with = browser.client.request(method.clone(), browser.url("/echo"));
        let passed = with.header("x-csrf-token", &token).send().await.unwrap();
        assert_eq!(passed.status(), 405, "{method}");
    }
}

#[tokio::test]
async fn unsafe_methods_without_a_token_are_refused() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    browser.token().await; // the browser has its CSRF cookie
    let reply = browser.form("/echo", "a=1", &[]).await;
    assert_eq!((reply.status, reply.body.as_str()), (403, "missing_token"));
    let json = browser
        .client
        .post(browser.url("/echo"))
        .header("content-type", "application/json")
        .body(r#"{"csrf_token":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json.status(),
        403,
        "a JSON body is never searched for the token"
    );
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
    ] {
        let refused = browser
            .client
            .request(method.clone(), browser.url("/echo"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403, "{method}");
        assert_eq!(refused.text().await.unwrap(), "missing_token");
    }
    let multipart = browser
        .client
        .post(browser.url("/echo"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\ncontent-disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(multipart.text().await.unwrap(), "missing_token");
}

#[tokio::test]
async fn wrong_and_malformed_tokens_are_refused() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let token = browser.token().await;
    // Well-formed tokens that were never issued: one character changed in the pad, or in
    // the masked half.
    for at in [10, 60] {
        let mut flipped = token.clone().into_bytes();
        flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let reply = browser.submit("/echo", "", &flipped).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (403, "wrong_token"),
            "{at}"
        );
    }
    let undecodable = browser.submit("/echo", "", &"%".repeat(87)).await;
    assert_eq!(
        undecodable.body, "missing_token",
        "a field that does not decode is skipped"
    );
    for malformed in [
        "",
        "abc",
        &token[1..],
        &format!("{token}A"),
        &"é".repeat(40),
    ] {
        let reply = browser.submit("/echo", "", malformed).await;
        assert_eq!(reply.status, 403, "{malformed}");
        assert_eq!(reply.body, "malformed_token", "{malformed}");
    }
    let header = [("x-csrf-token", "not a token")];
    assert_eq!(
        browser.form("/echo", "", &header).await.body,
        "malformed_token"
    );
    // The real token still works after all that.
    assert_eq!(browser.submit("/echo", "", &token).await.status, 200);
}

#[tokio::test]
async fn a_cross_site_request_is_refused_before_its_token_is_looked_at() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let token = browser.token().await;
    let form = format!("csrf_token={token}");
    let cases = [
        ("cross-site", Some("cross_site")),
        ("same-site", Some("same_site")),
        ("cross-origin", Some("unknown_fetch_site")),
        ("same-origin", None),
        ("none", None),
    ];
    for (value, refused) in cases {
        let site = [("sec-fetch-site", value)];
        let with_token = browser.form("/echo", &form, &site).await;
        // Without a token, the reason is still where the request came from.
        let without = browser.form("/echo", "", &site).await;
        match refused {
            Some(reason) => {
                assert_eq!((with_token.status, with_token.body.as_str()), (403, reason));
                assert_eq!(without.body, reason, "{value}: checked before the token");
            }
            None => {
                assert_eq!(with_token.status, 200, "{value}: {with_token:?}");
                assert_eq!(without.body, "missing_token", "{value}");
            }
        }
    }
    // Same-site requests can be allowed; they still need the token.
    let lenient = Site::start(|c| c.allow_same_site(true)).await;
    let browser = lenient.browser();
    let token = browser.token().await;
    let same_site = [("sec-fetch-site", "same-site")];
    let form = format!("csrf_token={token}");
    assert_eq!(browser.form("/echo", &form, &same_site).await.status, 200);
    assert_eq!(
        browser.form("/echo", "", &same_site).await.body,
        "missing_token"
    );
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_the_own_or_a_trusted_one_passes() {
    let site = Site::start(|c| c.trust_origin("https://admin.example.com")).await;
    let browser = site.browser();
    let token = browser.token().await;
    let form = format!("csrf_token={token}");
    let own = format!("http://{}", site.addr);
    let other_port = format!("http://127.0.0.1:{}", site.addr.port().wrapping_add(1));
    for foreign in [
        "http://evil.test",
        "null",
        "https://admin.example.com.evil.test",
        &other_port,
    ] {
        let reply = browser.form("/echo", &form, &[("origin", foreign)]).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (403, "foreign_origin"),
            "{foreign}"
        );
    }
    for allowed in [own.as_str(), "https://admin.example.com"] {
        let reply = browser.form("/echo", &form, &[("origin", allowed)]).await;
        assert_eq!(reply.status, 200, "{allowed}: {reply:?}");
    }
    // A trusted origin passes the Fetch Metadata check too (a front end on another site).
    let trusted = [
        ("origin", "https://admin.example.com"),
        ("sec-fetch-site", "cross-site"),
    ];
    assert_eq!(browser.form("/echo", &form, &trusted).await.status, 200);
}

#[tokio::test]
async fn exempt_routes_pass_without_a_token() {
    let site = Site::start(|c| c).await;
    let browser = site.browser();
    let cross = [("sec-fetch-site", "cross-site")];
    let hook = browser.form("/webhooks/github", "payload=1", &cross).await;
    assert_eq!((hook.status, hook.body.as_str()), (200, "hook"));
    let not_below = browser.form("/webhooks-old", "payload=1", &[]).await;
    assert_eq!(
        not_below.status, 403,
        "a prefix exempts the paths below it only"
    );
}

#[tokio::test]
async fn header_session_requests_are_exempt_when_configured() {
    for exempt in [true, false] {
        let site = Site::start(move |c| c.exempt_header_sessions(exempt)).await;
        let api = site.browser();
        // Starting the API session is itself an unsafe request without any session: checked.
        assert_eq!(api.form("/api/login", "", &[]).await.body, "missing_token");
        let token = api.token().await;
        let started = api
            .client
            .post(api.url("/api/login"))
            .header("x-csrf-token", &token)
            .send()
            .await
            .unwrap();
        let header = started.headers()["x-api"].to_str().unwrap().to_owned();
        let work = |client: &reqwest::Client| {
            let request = client.post(api.url("/api/work")).header("x-api", &header);
            async move {
                let response = request.send().await.unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            }
        };
        // Another client (no cookies at all) with only the header session.
        let (status, body) = work(&reqwest::Client::new()).await;
        if exempt {
            assert_eq!((status, body.as_str()), (200, "robot"));
        } else {
            assert_eq!((status, body.as_str()), (403, "missing_token"));
        }
        // With a cookie session as well, the request may be a browser's: checked.
        let browser = site.browser();
        browser.log_in("alice").await;
        let (status, _) = work(&browser.client).await;
        assert_eq!(status, 403, "exempt={exempt}");
    }
}

#[tokio::test]
async fn a_form_over_the_limit_is_refused_unless_the_header_carries_the_token() {
    let site = Site::start(|c| c.form_limit(1024)).await;
    let browser = site.browser();
    let token = browser.token().await;
    let big = format!("csrf_token={token}&text={}", "a".repeat(2000));
    let reply = browser.form("/echo", &big, &[]).await;
    assert_eq!((reply.status, reply.body.as_str()), (403, "form_too_large"));
    let reply = browser
        .form("/echo", &big, &[("x-csrf-token", &token)])
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body, big,
        "the body is not read when the header has the token"
    );
}

#[tokio::test]
async fn client_input_never_causes_a_server_error() {
    let storage = ProbeStorage::default();
    let router = app(storage, |c| c);
    let addr = crate::common::serve(router).await;
    let client = crate::common::cookie_client();
    let url = format!("http://{addr}/echo");
    let odd_headers: &[(&str, &[u8])] = &[
        ("x-csrf-token", b"\xff\xfe"),
        ("x-csrf-token", &[b'A'; 5000]),
        ("origin", b"http://[::1"),
        ("origin", b"\xe2\x82\xac://x"),
        ("sec-fetch-site", b"\xff"),
        ("cookie", b"csrf=garbage; user=also-garbage"),
        (
            "content-type",
            b"application/x-www-form-urlencoded; charset=\xff",
        ),
    ];
    for (name, value) in odd_headers {
        let mut request = client.post(&url);
        if *name != "content-type" {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let response = request
            .header(*name, http::HeaderValue::from_bytes(value).unwrap())
            .body("csrf_token=%ZZ&csrf_token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value:?}");
    }
}
