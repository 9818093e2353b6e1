//! Conditional updates (`Sessions::modify`): concurrent read-modify-writes of one session lose
//! nothing on any storage, while plain `set` keeps last-writer-wins (and so loses some); an
//! update never revives a session that was cleared meanwhile, in any interleaving.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use typed_sessions::config::kind::CookieById;
use typed_sessions::storage::SessionStorage;
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::get as get_path;
use crate::support::storages;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub items: Vec<String>,
}

/// `/start` (an empty cart), `/add/{item}` (a conditional update), `/add_plain/{item}` (read,
/// a moment of work, then `set`), `/set/{item}` (a plain `set` of the session if there is one),
/// `/items` (the items, comma-separated, or `none`), `/clear`, `/regenerate` (if there is a
/// session).
pub fn cart_routes() -> Router {
    Router::new()
        .route(
            "/start",
            get(|s: Sessions| async move {
                s.set(Cart::default())?;
                Ok::<_, SessionError>("started")
            }),
        )
        .route(
            "/add/{item}",
            get(|s: Sessions, Path(item): Path<String>| async move {
                let cart = s
                    .modify(|cart: &Cart| {
                        let mut cart = cart.clone();
                        cart.items.push(item.clone());
                        cart
                    })
                    .await?;
                Ok::<_, SessionError>(match cart {
                    Some(cart) => cart.items.len().to_string(),
                    None => "none".into(),
                })
            }),
        )
        .route(
            "/add_plain/{item}",
            get(|s: Sessions, Path(item): Path<String>| async move {
                let Some(mut cart) = s.get::<Cart>().await? else {
                    return Ok::<_, SessionError>("none".to_owned());
                };
                tokio::time::sleep(Duration::from_millis(2)).await;
                cart.items.push(item);
                let count = cart.items.len();
                s.set(cart)?;
                Ok(count.to_string())
            }),
        )
        .route(
            "/set/{item}",
            get(|s: Sessions, Path(item): Path<String>| async move {
                let Some(mut cart) = s.get::<Cart>().await? else {
                    return Ok::<_, SessionError>("none");
                };
                cart.items.push(item);
                s.set(cart)?;
                Ok("set")
            }),
        )
        .route(
            "/items",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.get::<Cart>().await? {
                    Some(cart) => cart.items.join(","),
                    None => "none".into(),
                })
            }),
        )
        .route(
            "/clear",
            get(|s: Sessions| async move {
                s.clear::<Cart>()?;
                Ok::<_, SessionError>("cleared")
            }),
        )
        .route(
            "/regenerate",
            get(|s: Sessions| async move {
                if s.get::<Cart>().await?.is_none() {
                    return Ok::<_, SessionError>("none");
                }
                s.regenerate::<Cart>().await?;
                Ok("regenerated")
            }),
        )
}

pub fn cart_app(storage: Arc<dyn SessionStorage>) -> Router {
    let layer = SessionsConfig::new()
        .with_shared_storage::<Cart, CookieById>("cart", storage, |c| {
            c.secure(false).storage_timeout(Duration::from_secs(3600))
        })
        .build()
        .unwrap();
    cart_routes().layer(layer)
}

/// Sends `/{route}/{i}` for `i` in `0..n` at once with `cookie`, alternating between `apps`;
/// the statuses.
async fn at_once(apps: &[Router], route: &str, n: usize, cookie: &str) -> Vec<u16> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let app = apps[i % apps.len()].clone();
            let path = format!("/{route}/{i}");
            let cookie = cookie.to_owned();
            tokio::spawn(async move { get_path(&app, &path, Some(&cookie)).await.status.as_u16() })
        })
        .collect();
    let mut statuses = Vec::with_capacity(n);
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_adds_lose_nothing_but_plain_sets_do() {
    const N: usize = 200;
    for named in storages::every("two_hundred_concurrent_adds").await {
        let name = named.name;
        // Two servers on one storage (two layers: updates of one server take turns, those of
        // the two race each other through the storage's revision check).
        let app = cart_app(named.storage.clone());
        let apps = [app.clone(), cart_app(named.storage)];

        let start = get_path(&app, "/start", None).await;
        let cookie = start.cookie_pair("cart").unwrap();
        let statuses = at_once(&apps, "add", N, &cookie).await;
        assert!(statuses.iter().all(|&s| s == 200), "{name}: {statuses:?}");
        let items = get_path(&app, "/items", Some(&cookie)).await.body;
        let items: BTreeSet<&str> = items.split(',').collect();
        let expected: BTreeSet<String> = (0..N).map(|i| i.to_string()).collect();
        assert_eq!(
            items,
            expected.iter().map(String::as_str).collect(),
            "{name}: every add is in the cart"
        );

        // The same through a plain read and `set`: the last writer wins, and adds are lost.
        let start = get_path(&app, "/start", None).await;
        let cookie = start.cookie_pair("cart").unwrap();
        let statuses = at_once(&apps, "add_plain", N, &cookie).await;
        assert!(statuses.iter().all(|&s| s == 200), "{name}: {statuses:?}");
        let items = get_path(&app, "/items", Some(&cookie)).await.body;
        let kept = items.split(',').filter(|s| !s.is_empty()).count();
        assert!(
            (1..N).contains(&kept),
            "{name}: plain sets kept {kept} of {N} adds"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_never_revives_a_session_ended_between_its_read_and_its_write() {
    for named in storages::every("update_never_revives").await {
        let name = named.name;
        let storage = named.storage;
        // The update's request reads the session, then a logout deletes it, then the update
        // writes: a handler that reads first and updates after a signal.
        let (read_tx, read_rx) = tokio::sync::oneshot::channel::<()>();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let slot = Arc::new(std::sync::Mutex::new(Some((read_tx, go_rx))));
        let layer = SessionsConfig::new()
            .with_shared_storage::<Cart, CookieById>("cart", storage.clone(), |c| c.secure(false))
            .build()
            .unwrap();
        let app = cart_routes()
            .route(
                "/slow_add",
                get(move |s: Sessions| {
                    let slot = slot.clone();
                    async move {
                        let (read_tx, go_rx) = slot.lock().unwrap().take().unwrap();
                        assert!(s.get::<Cart>().await?.is_some());
                        read_tx.send(()).unwrap();
                        go_rx.await.unwrap();
                        let cart = s
                            .modify(|cart: &Cart| {
                                let mut cart = cart.clone();
                                cart.items.push("late".into());
                                cart
                            })
                            .await?;
                        Ok::<_, SessionError>(if cart.is_some() { "added" } else { "none" })
                    }
                }),
            )
            .layer(layer);

        let cookie = get_path(&app, "/start", None)
            .await
            .cookie_pair("cart")
            .unwrap();
        let slow = {
            let app = app.clone();
            let cookie = cookie.clone();
            tokio::spawn(async move { get_path(&app, "/slow_add", Some(&cookie)).await })
        };
        read_rx.await.unwrap();
        let logout = get_path(&app, "/clear", Some(&cookie)).await;
        assert_eq!(logout.body, "cleared");
        go_tx.send(()).unwrap();
        let slow = slow.await.unwrap();
        assert_eq!(slow.status, 200, "{name}");
        assert_eq!(
            slow.body, "none",
            "{name}: the update found the session gone"
        );
        assert!(
            slow.set_cookie("cart")
                .is_some_and(|c| c.contains("Max-Age=0") || c.contains("Expires=Thu, 01 Jan 1970")),
            "{name}: the response drops the client's copy: {:?}",
            slow.set_cookie("cart")
        );
        assert_eq!(
            get_path(&app, "/items", Some(&cookie)).await.body,
            "none",
            "{name}: still logged out"
        );
    }
}

#[tokio::test]
async fn by_value_sessions_cannot_update_conditionally() {
    let layer = SessionsConfig::new()
        .cookie::<Cart>("cart", |c| c.secure(false).unprotected())
        .build()
        .unwrap();
    let app = cart_routes().layer(layer);
    let cookie = get_path(&app, "/start", None)
        .await
        .cookie_pair("cart")
        .unwrap();
    let add = get_path(&app, "/add/x", Some(&cookie)).await;
    // `SessionError::NotById`: a programming error, answered as one.
    assert_eq!(add.status, 500, "{}", add.body);
    assert_eq!(
        get_path(&app, "/items", Some(&cookie)).await.body,
        "",
        "the session is unchanged"
    );
}
