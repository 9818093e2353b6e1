//! Ktor's own plugin tests (ktor-sessions.md §5.2) that are not covered elsewhere in `core`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get as route;
use base64::Engine as _;
use typed_sessions::storage::MemoryStorage;
use typed_sessions::{CookieEncoding, SameSite, SessionError, Sessions, SessionsConfig};

use crate::common::{TestUserSession, get, user_routes};

#[tokio::test]
async fn test_session_with_encoded_cookie() {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", MemoryStorage::new(), |c| {
            c.encoding(CookieEncoding::Base64)
        })
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let set = get(&router, "/set/id1", None).await;
    let encoded = set.cookie_value("s").unwrap();
    let id = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&encoded)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(id.len(), 64);
    let back = base64::engine::general_purpose::STANDARD.encode(&id);
    assert_eq!(
        get(&router, "/get", Some(&format!("s={back}"))).await.body,
        "id1"
    );
}

#[tokio::test]
async fn test_routes() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new().merge(user_routes().layer(layer));
    let cookie = get(&router, "/set/id1", None)
        .await
        .cookie_pair("s")
        .unwrap();
    assert_eq!(get(&router, "/get", Some(&cookie)).await.body, "id1");
}

#[tokio::test]
async fn test_session_by_id_cookie() {
    // identity { (id++).toString() } starting at 777, max age 5 s.
    let next = Arc::new(std::sync::atomic::AtomicU32::new(777));
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", MemoryStorage::new(), move |c| {
            c.max_age(Duration::from_secs(5)).identity(move |_| {
                next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                    .to_string()
            })
        })
        .build()
        .unwrap();
    let router = user_routes().layer(layer);
    let answer = get(&router, "/set/id1", None).await;
    let cookie = answer.set_cookie("s").unwrap();
    assert!(cookie.starts_with("s=777; Max-Age=5; Expires="), "{cookie}");
    assert_eq!(get(&router, "/get", Some("s=777")).await.body, "id1");
}

#[tokio::test]
async fn secure_cookie() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| {
            c.unprotected()
                .path("/token")
                .http_only(true)
                .same_site(SameSite::Strict)
                .max_age(Duration::from_secs(86400))
                .secure(true)
        })
        .build()
        .unwrap();
    let router = Router::new().nest("/token", user_routes()).layer(layer);
    let cookie = get(&router, "/token/set/id1", None)
        .await
        .set_cookie("s")
        .unwrap();
    assert!(cookie.contains("; Max-Age=86400; Expires="), "{cookie}");
    assert!(
        cookie.ends_with("; Path=/token; Secure; HttpOnly; SameSite=Strict"),
        "{cookie}"
    );
}

/// Ktor's testClearSessionByIdForMultipleDevices: an exclusive login ends every other session
/// of the same user.
#[tokio::test]
async fn exclusive_login_clears_the_other_devices() {
    type Devices = Arc<Mutex<HashMap<String, Vec<String>>>>;
    let devices: Devices = Arc::default();
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", MemoryStorage::new(), |c| c)
        .build()
        .unwrap();
    let router = Router::new()
        .route(
            "/login/{user}",
            route(
                |s: Sessions, State(devices): State<Devices>, Path(user): Path<String>| async move {
                    s.set(TestUserSession::new(&user))?;
                    let id = s.id::<TestUserSession>().await?.unwrap();
                    devices
                        .lock()
                        .unwrap()
                        .entry(user)
                        .or_default()
                        .push(id.as_str().to_owned());
                    Ok::<_, SessionError>("in")
                },
            ),
        )
        .route(
            "/exclusive/{user}",
            route(
                |s: Sessions, State(devices): State<Devices>, Path(user): Path<String>| async move {
                    let mine = s.id::<TestUserSession>().await?.unwrap();
                    let others: Vec<String> = devices
                        .lock()
                        .unwrap()
                        .get(&user)
                        .into_iter()
                        .flatten()
                        .filter(|id| id.as_str() != mine.as_str())
                        .cloned()
                        .collect();
                    for id in &others {
                        s.clear_by_id::<TestUserSession>(id).await?;
                    }
                    Ok::<_, SessionError>(format!("cleared {}", others.len()))
                },
            ),
        )
        .with_state(devices)
        .merge(user_routes())
        .layer(layer);
    let phone = get(&router, "/login/jet", None)
        .await
        .cookie_pair("s")
        .unwrap();
    let laptop = get(&router, "/login/jet", None)
        .await
        .cookie_pair("s")
        .unwrap();
    let tablet = get(&router, "/login/jet", None)
        .await
        .cookie_pair("s")
        .unwrap();
    assert_eq!(
        get(&router, "/exclusive/jet", Some(&laptop)).await.body,
        "cleared 2"
    );
    assert_eq!(get(&router, "/get", Some(&phone)).await.body, "none");
    assert_eq!(get(&router, "/get", Some(&tablet)).await.body, "none");
    assert_eq!(get(&router, "/get", Some(&laptop)).await.body, "jet");
}
