//! Users and their devices: a session's principal, the principal index of every storage, the
//! device list of an account page, ending devices, the limit of sessions per user,
//! "remember me", and sessions that end when credentials change.

mod credentials;
mod devices;
mod limits;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use typed_sessions::clock::ManualClock;
use typed_sessions::config::kind::CookieById;
use typed_sessions::storage::{SessionHandle, SessionStorage};
use typed_sessions::{SessionBuilder, SessionError, Sessions, SessionsConfig};

use crate::common::{Answer, get_with};

/// A user's session: who, and the credential version they logged in with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub user: String,
    pub credentials: u64,
}

/// The user store: each user's current credential version.
#[derive(Clone, Default)]
pub struct Users(Arc<Mutex<HashMap<String, u64>>>);

impl Users {
    pub fn version(&self, user: &str) -> u64 {
        *self.0.lock().unwrap().get(user).unwrap_or(&1)
    }

    pub fn bump(&self, user: &str) -> u64 {
        let mut users = self.0.lock().unwrap();
        let version = users.entry(user.to_owned()).or_insert(1);
        *version += 1;
        *version
    }
}

/// User agents of three devices.
pub const FIREFOX_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
     AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
pub const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// The routes of an account area:
/// `/login/{user}` (`ok`, or `limit` when the limit refuses it), `/remember/{user}` (a login
/// that lasts 30 days), `/me`, `/devices` (one line per device: handle, `current` or `other`,
/// description, address), `/end/{handle}`, `/end_others`, `/end_all`, `/password` (a new
/// credential version for the current user).
pub fn account_routes(users: Users) -> Router {
    let login = |users: Users| {
        move |s: Sessions, Path(user): Path<String>| {
            let users = users.clone();
            async move {
                let credentials = users.version(&user);
                match s.login(Account { user, credentials }).await {
                    Ok(()) => Ok("ok"),
                    Err(SessionError::SessionLimit { .. }) => Ok("limit"),
                    Err(error) => Err(error),
                }
            }
        }
    };
    let remember = {
        let users = users.clone();
        move |s: Sessions, Path(user): Path<String>| {
            let users = users.clone();
            async move {
                let credentials = users.version(&user);
                s.login(Account { user, credentials }).await?;
                s.set_lifetime::<Account>(Duration::from_secs(30 * 24 * 3600))?;
                Ok::<_, SessionError>("ok")
            }
        }
    };
    let login = login(users.clone());
    let password = move |s: Sessions| {
        let users = users.clone();
        async move {
            let Some(account) = s.get::<Account>().await? else {
                return Ok::<_, SessionError>("none".to_owned());
            };
            let credentials = users.bump(&account.user);
            let ended = s
                .credentials_changed(Account {
                    credentials,
                    ..account
                })
                .await?;
            Ok(ended.to_string())
        }
    };
    Router::new()
        .route("/login/{user}", get(login))
        .route("/remember/{user}", get(remember))
        .route(
            "/me",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.get::<Account>().await? {
                    Some(account) => account.user,
                    None => "none".into(),
                })
            }),
        )
        .route(
            "/devices",
            get(|s: Sessions| async move {
                let devices = s.devices::<Account>().await?;
                Ok::<_, SessionError>(
                    devices
                        .iter()
                        .map(|d| {
                            format!(
                                "{} {} {} {}\n",
                                d.handle,
                                if d.current { "current" } else { "other" },
                                d.description.as_deref().unwrap_or("-").replace(' ', "_"),
                                d.address.as_deref().unwrap_or("-"),
                            )
                        })
                        .collect::<String>(),
                )
            }),
        )
        .route(
            "/end/{handle}",
            get(|s: Sessions, Path(handle): Path<String>| async move {
                let Ok(handle) = handle.parse::<SessionHandle>() else {
                    return Ok::<_, SessionError>("bad handle".to_owned());
                };
                Ok(s.end_device::<Account>(&handle).await?.to_string())
            }),
        )
        .route(
            "/end_others",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(s.end_other_devices::<Account>().await?.to_string())
            }),
        )
        .route(
            "/end_all",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(s.end_all_devices::<Account>().await?.to_string())
            }),
        )
        .route("/password", get(password))
}

/// The account area on `storage` with the principal taken from the session value, configured
/// further by `configure`.
pub fn account_app(
    storage: Arc<dyn SessionStorage>,
    clock: &ManualClock,
    users: Users,
    configure: impl FnOnce(SessionBuilder<Account, CookieById>) -> SessionBuilder<Account, CookieById>,
) -> Router {
    account_app_with(storage, clock, users, |config| config, configure)
}

/// [`account_app`] with the whole configuration open to `config`.
pub fn account_app_with(
    storage: Arc<dyn SessionStorage>,
    clock: &ManualClock,
    users: Users,
    config: impl FnOnce(SessionsConfig) -> SessionsConfig,
    configure: impl FnOnce(SessionBuilder<Account, CookieById>) -> SessionBuilder<Account, CookieById>,
) -> Router {
    let layer = config(SessionsConfig::new().clock(clock.clone()))
        .cookie_with_storage::<Account, _>("account", storage, |c| {
            configure(
                c.secure(false)
                    .principal(|account: &Account| Some(account.user.clone())),
            )
        })
        .build()
        .unwrap();
    account_routes(users).layer(layer)
}

/// A browser: its user agent and its cookie.
#[derive(Clone)]
pub struct Device {
    pub agent: &'static str,
    pub cookie: Option<String>,
}

impl Device {
    pub fn new(agent: &'static str) -> Device {
        Device {
            agent,
            cookie: None,
        }
    }

    /// Requests `path`, keeping the session cookie the response sets (or drops).
    pub async fn call(&mut self, app: &Router, path: &str) -> Answer {
        let mut headers = vec![("user-agent", self.agent)];
        let cookie = self.cookie.clone();
        if let Some(cookie) = &cookie {
            headers.push(("cookie", cookie.as_str()));
        }
        let answer = get_with(app, path, &headers).await;
        if answer.set_cookie("account").is_some() {
            self.cookie = if answer.removes_cookie("account") {
                None
            } else {
                answer.cookie_pair("account")
            };
        }
        answer
    }

    /// The body of `path`, which must answer 200.
    pub async fn body(&mut self, app: &Router, path: &str) -> String {
        let answer = self.call(app, path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        answer.body
    }
}

/// One listed device.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub handle: String,
    pub current: bool,
    pub description: String,
    pub address: String,
}

pub fn listed(body: &str) -> Vec<Listed> {
    body.lines()
        .map(|line| {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 4, "{line}");
            Listed {
                handle: parts[0].to_owned(),
                current: parts[1] == "current",
                description: parts[2].replace('_', " "),
                address: parts[3].to_owned(),
            }
        })
        .collect()
}
