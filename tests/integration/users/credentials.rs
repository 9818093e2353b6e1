//! Sessions end when credentials change: `credentials_changed` ends a user's other sessions at
//! once (on every storage), and `SessionAuth::credentials` ends any session made with an older
//! credential version at its next request, by-value sessions included.

use axum::Router;
use axum::routing::get;
use typed_sessions::auth::{Authenticated, SessionAuth};
use typed_sessions::clock::ManualClock;
use typed_sessions::transform::{Key, Sign};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use super::{Account, CHROME_WINDOWS, Device, FIREFOX_LINUX, SAFARI_IPHONE, Users, account_app};
use crate::support::storages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_every_other_session_at_once() {
    for named in storages::every("password_change").await {
        let name = named.name;
        let clock = ManualClock::new();
        let users = Users::default();
        let app = account_app(named.storage.clone(), &clock, users.clone(), |c| c);
        let mut laptop = Device::new(FIREFOX_LINUX);
        let mut phone = Device::new(SAFARI_IPHONE);
        let mut office = Device::new(CHROME_WINDOWS);
        let mut bob = Device::new(CHROME_WINDOWS);
        for device in [&mut laptop, &mut phone, &mut office] {
            device.body(&app, "/login/ada").await;
        }
        bob.body(&app, "/login/bob").await;
        // A copy of the laptop's cookie taken before the change (a stolen one).
        let mut stolen = Device::new(FIREFOX_LINUX);
        stolen.cookie = laptop.cookie.clone();
        assert_eq!(stolen.body(&app, "/me").await, "ada", "{name}");
        assert_eq!(laptop.body(&app, "/password").await, "2", "{name}");
        assert_ne!(
            laptop.cookie, stolen.cookie,
            "{name}: the session gets a new id"
        );
        assert_eq!(
            stolen.body(&app, "/me").await,
            "none",
            "{name}: the old id ended with the old password"
        );
        assert_eq!(phone.body(&app, "/me").await, "none", "{name}");
        assert_eq!(office.body(&app, "/me").await, "none", "{name}");
        assert_eq!(
            laptop.body(&app, "/me").await,
            "ada",
            "{name}: this session stays"
        );
        assert_eq!(
            bob.body(&app, "/me").await,
            "bob",
            "{name}: other users stay"
        );
        assert_eq!(users.version("ada"), 2);
    }
}

/// `/login/{user}` (by value, signed) and `/hello` behind `SessionAuth` with the credential
/// check.
fn by_value_app(users: Users) -> Router {
    let login = {
        let users = users.clone();
        move |s: Sessions, axum::extract::Path(user): axum::extract::Path<String>| {
            let users = users.clone();
            async move {
                let credentials = users.version(&user);
                s.set(Account { user, credentials })?;
                Ok::<_, SessionError>("ok")
            }
        }
    };
    let auth = SessionAuth::<Account>::new().credentials(
        |account: &Account| account.credentials,
        move |account: Account| {
            let users = users.clone();
            async move { Some(users.version(&account.user)) }
        },
    );
    let layer = SessionsConfig::new()
        .cookie::<Account>("account", |c| {
            c.secure(false).transform(Sign::new(
                Key::from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
                    .unwrap(),
            ))
        })
        .build()
        .unwrap();
    Router::new()
        .route(
            "/hello",
            get(
                |Authenticated(account): Authenticated<Account>| async move {
                    format!("hello {}", account.user)
                },
            ),
        )
        .route_layer(auth)
        .route("/login/{user}", get(login))
        .layer(layer)
}

#[tokio::test]
async fn sessions_made_with_old_credentials_end_at_their_next_request_even_by_value() {
    let users = Users::default();
    let app = by_value_app(users.clone());
    let mut laptop = Device::new(FIREFOX_LINUX);
    let mut phone = Device::new(SAFARI_IPHONE);
    laptop.body(&app, "/login/ada").await;
    phone.body(&app, "/login/ada").await;
    assert_eq!(phone.body(&app, "/hello").await, "hello ada");

    // The password changes elsewhere (a reset by e-mail): the user store's version moves.
    users.bump("ada");
    let answer = phone.call(&app, "/hello").await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(phone.cookie, None, "the stale session is cleared");
    assert_eq!(laptop.call(&app, "/hello").await.status, 401);
    // A new login carries the new version.
    laptop.body(&app, "/login/ada").await;
    assert_eq!(laptop.body(&app, "/hello").await, "hello ada");
}
