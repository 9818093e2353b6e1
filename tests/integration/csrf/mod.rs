//! CSRF protection over real loopback HTTP with cookie-keeping clients: where a request comes
//! from (`checks`), whose token it carries (`binding`), and what a refusal does and does not do
//! (`refusal`).

mod binding;
mod checks;
mod refusal;

use std::net::SocketAddr;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http::StatusCode;
use typed_sessions::csrf::{CsrfConfig, CsrfToken, Refusal};
use typed_sessions::{Key, SessionError, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, cookie_client, serve};

/// The login session the tokens are bound to.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub name: String,
}

/// An API client's session, in a header.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Api {
    pub name: String,
}

/// The test application: `/form` answers with a token; `/login` (clear then set, a new
/// id), `/regenerate`, `/logout` change the login; `/echo` answers with the body it got;
/// `/whoami` names the login; `/webhooks/...` is exempt; `/api/login` starts a header
/// session. A refusal answers `403` with the rejection's name.
pub fn app(storage: ProbeStorage, configure: impl FnOnce(CsrfConfig) -> CsrfConfig) -> Router {
    let key = Key::generate();
    let csrf = configure(CsrfConfig::new(key.clone()).bind::<User>())
        .exempt("/webhooks")
        .refusal(Refusal::custom(|ctx| async move {
            (StatusCode::FORBIDDEN, ctx.rejection.as_str()).into_response()
        }))
        .build()
        .unwrap();
    let sessions = SessionsConfig::new()
        .cookie_with_storage::<User, _>("user", storage.clone(), |c| c.secure(false))
        .header_with_storage::<Api, _>("x-api", storage, |h| h)
        .csrf("csrf", &csrf, |c| c.secure(false))
        .build()
        .unwrap();
    Router::new()
        .route(
            "/form",
            get(|token: CsrfToken| async move { token.to_string() }),
        )
        .route("/login", post(login))
        .route(
            "/regenerate",
            post(|s: Sessions| async move {
                s.regenerate::<User>().await?;
                Ok::<_, SessionError>("regenerated")
            }),
        )
        .route(
            "/logout",
            post(|s: Sessions| async move {
                s.clear::<User>()?;
                Ok::<_, SessionError>("logged out")
            }),
        )
        .route("/echo", post(|body: String| async move { body }))
        .route("/whoami", get(whoami))
        .route("/webhooks/github", post(|| async { "hook" }))
        .route("/webhooks-old", post(|| async { "old hook" }))
        .route(
            "/api/login",
            post(|s: Sessions| async move {
                s.set(Api {
                    name: "robot".into(),
                })?;
                Ok::<_, SessionError>("api session")
            }),
        )
        .route(
            "/api/work",
            post(|s: Sessions| async move {
                let who = s.get::<Api>().await?.map_or("nobody".into(), |a| a.name);
                Ok::<_, SessionError>(who)
            }),
        )
        .layer(csrf)
        .layer(sessions)
}

/// Logs in as the form's `name`: the session the request brought ends, a new one (new id)
/// starts, and the page that follows renders a token for the new session.
async fn login(
    sessions: Sessions,
    mut token: CsrfToken,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> Result<String, SessionError> {
    let name = form.get("name").cloned().unwrap_or_default();
    sessions.clear::<User>()?;
    sessions.set(User { name })?;
    token.refresh().await?;
    Ok(token.to_string())
}

async fn whoami(sessions: Sessions) -> Result<String, SessionError> {
    Ok(sessions
        .get::<User>()
        .await?
        .map_or_else(|| "nobody".to_owned(), |u| u.name))
}

/// A served app and its storage.
pub struct Site {
    pub addr: SocketAddr,
    pub storage: ProbeStorage,
}

impl Site {
    pub async fn start(configure: impl FnOnce(CsrfConfig) -> CsrfConfig) -> Site {
        let storage = ProbeStorage::default();
        let addr = serve(app(storage.clone(), configure)).await;
        Site { addr, storage }
    }

    pub fn browser(&self) -> Browser {
        Browser::at(self.addr)
    }

    /// How many session records the storage holds.
    pub fn records(&self) -> usize {
        self.storage.inner.len()
    }
}

/// One browser: a cookie-keeping client (it sends no `Sec-Fetch-Site` and no `Origin` unless
/// asked to).
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

/// A response's status, `Set-Cookie` names and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub set_cookies: Vec<String>,
    pub cache_control: Option<String>,
    pub body: String,
}

impl Browser {
    /// A new browser (no cookies yet) for the app served at `addr`.
    pub fn at(addr: SocketAddr) -> Browser {
        Browser {
            client: cookie_client(),
            base: format!("http://{addr}"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /form`: a fresh token.
    pub async fn token(&self) -> String {
        let reply = self.get("/form").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.body
    }

    pub async fn get(&self, path: &str) -> Reply {
        reply(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    /// `POST` a URL-encoded `form` with extra `headers`.
    pub async fn form(&self, path: &str, form: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send().await.unwrap()).await
    }

    /// A form with the token in its `csrf_token` field, after `fields`.
    pub async fn submit(&self, path: &str, fields: &str, token: &str) -> Reply {
        let form = if fields.is_empty() {
            format!("csrf_token={token}")
        } else {
            format!("{fields}&csrf_token={token}")
        };
        self.form(path, &form, &[]).await
    }

    /// Logs in as `name` with a token of this browser; returns the token the login page
    /// renders.
    pub async fn log_in(&self, name: &str) -> String {
        let token = self.token().await;
        let reply = self.submit("/login", &format!("name={name}"), &token).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(self.get("/whoami").await.body, name);
        reply.body
    }
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let set_cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
        .collect();
    let cache_control = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    Reply {
        status,
        set_cookies,
        cache_control,
        body,
    }
}
