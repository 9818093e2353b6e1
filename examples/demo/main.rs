//! The typed-sessions demo: a small shop that shows the library's features at once.
//!
//! ```text
//! cargo run --example demo                       # then open http://127.0.0.1:8080
//! SESSION_STORAGE=redis://127.0.0.1:6379/0 cargo run --example demo --features redis
//! ```
//!
//! | module | what it shows |
//! |---|---|
//! | [`auth`] | form login with `Sessions::login` (a new id, filed under the user in the storage's principal index) and "remember me"; [`SessionAuth`](typed_sessions::auth::SessionAuth) with a redirect challenge and a credential check |
//! | [`users`] | the users, their passwords and credential versions |
//! | [`account`] | the session's details and the user's devices (`Sessions::devices`) |
//! | [`devices`] | "log out this device", "log out other devices" |
//! | [`password`] | the password change, which logs out every other device (`Sessions::credentials_changed`) |
//! | [`forms`] | CSRF protection of every form ([`typed_sessions::csrf`]), tokens bound to the login; flash notices ([`typed_sessions::flash`]) |
//! | [`shop`] | a cart by id in the configured storage, its cookie scoped to `/shop` |
//! | [`prefs`] | a theme by value in an encrypted cookie, kept across logouts and restarts |
//! | [`api`] | a session in a header (`x-api-session`) for API clients |
//! | [`html`] | the page layout; no response is cacheable |
//! | [`setup`] | the settings: `SESSION_STORAGE` opened with `open_url`, the key, the data directory |
//!
//! One sessions layer serves the whole application, with the CSRF layer inside it; the three
//! by-id sessions share one storage, chosen by `SESSION_STORAGE` (a directory under
//! `./demo-data` by default, so the demo needs nothing else installed and survives restarts).
//! That storage also keeps the principal index: which sessions belong to which user, written in
//! the same atomic operation as each session, so the demo keeps no login bookkeeping of its
//! own.
//!
//! **Cookies and `Secure`.** The demo runs over plain http on 127.0.0.1, yet its cookies keep
//! the `Secure` flag (the library's default): browsers treat `http://127.0.0.1` and
//! `http://localhost` as secure contexts and accept and send `Secure` cookies there (Chromium
//! and Firefox do; the browser test checks Chromium), so the demo shows the attributes a real
//! deployment behind HTTPS uses. A browser that refuses them (older Safari) would lose the
//! login after each request: start the demo with `DEMO_SECURE_COOKIES=0` there.

mod account;
mod api;
mod auth;
mod devices;
mod forms;
mod home;
mod html;
mod password;
mod prefs;
mod setup;
mod shop;
mod users;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Response};
use typed_sessions::storage::{SessionStorage, spawn_sweeper};
use typed_sessions::{ConfigError, SessionError, SessionsConfig};

use setup::Setup;
use users::Users;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The storage of every by-id session (the account page lists the API tokens in it).
    pub storage: Arc<dyn SessionStorage>,
    /// The storage's kind and URL without credentials.
    pub storage_label: Arc<str>,
    /// The users and their passwords.
    pub users: Arc<Users>,
    /// Whether the cookies carry `Secure`.
    pub secure: bool,
}

/// The application: every route, one sessions layer, CSRF protection on every form, no
/// cacheable response.
pub fn app(setup: Setup) -> Result<Router, ConfigError> {
    let csrf = forms::protection(&setup)?;
    let config = SessionsConfig::new();
    let config = auth::register(config, &setup);
    let config = shop::register(config, &setup);
    let config = prefs::register(config, &setup);
    let config = api::register(config, &setup);
    let config = forms::register(config, &setup, &csrf);
    let sessions = config.build()?;
    let users = Arc::new(Users::demo());
    let state = AppState {
        storage: setup.storage,
        storage_label: setup.storage_label.into(),
        users: users.clone(),
        secure: setup.secure,
    };
    Ok(Router::new()
        .merge(home::routes())
        .merge(auth::routes())
        .merge(account::routes(&users))
        .merge(shop::routes(&users))
        .merge(prefs::routes())
        .merge(api::routes(&users))
        .layer(csrf)
        .layer(sessions)
        .layer(axum::middleware::map_response(html::no_store))
        .with_state(state))
}

/// Reads the settings, opens the storage, listens, serves until Ctrl+C.
pub async fn run() -> Result<(), String> {
    let setup = Setup::from_env().await?;
    let port = setup.port;
    let lines = [
        format!(
            "  log in as:  {}",
            users::USERS
                .iter()
                .map(|(name, password)| format!("{name} / {password}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("  sessions:   {}", setup.storage_label),
        format!("  key:        {}", setup.key_source),
        format!("  data:       {}", setup.data_dir.display()),
        format!(
            "  cookies:    {}",
            if setup.secure {
                "Secure (set DEMO_SECURE_COOKIES=0 if your browser drops them on http://127.0.0.1)"
            } else {
                "without Secure (DEMO_SECURE_COOKIES=0)"
            }
        ),
    ];
    // Expired sessions are removed every 10 minutes (a directory storage keeps them otherwise).
    let _sweeper = spawn_sweeper(&setup.storage, Duration::from_secs(600));
    let router = app(setup).map_err(|e| format!("invalid session configuration: {e}"))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Listening on http://{address}");
    for line in lines {
        println!("{line}");
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

/// What a handler can fail with.
#[derive(Debug)]
pub enum DemoError {
    /// From the sessions (a storage outage is `503`).
    Session(SessionError),
}

impl From<SessionError> for DemoError {
    fn from(e: SessionError) -> Self {
        DemoError::Session(e)
    }
}

impl IntoResponse for DemoError {
    fn into_response(self) -> Response {
        match self {
            DemoError::Session(e) => e.into_response(),
        }
    }
}

#[allow(dead_code)] // the browser test includes this file and calls `run` itself
#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::FAILURE
        }
    }
}
