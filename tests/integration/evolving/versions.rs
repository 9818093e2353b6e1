//! Versioned session types across a deploy: sessions written by version 1 of a type (and by the
//! same type before it declared a version) are read by version 3 code, migrated 1 → 2 → 3, and
//! written back as version 3 by that same response; a version-4 value (a rollback) reads as no
//! session under version 3 and stays where it is. By value (encrypted) and by id on every
//! storage.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use typed_sessions::config::kind::CookieById;
use typed_sessions::serializer::{SessionVersion, Unversioned};
use typed_sessions::storage::{Namespace, SessionId, SessionKey, SessionStorage};
use typed_sessions::transform::{Encrypt, Key, TransformContext, Transformer};
use typed_sessions::{SessionBuilder, SessionError, Sessions, SessionsConfig};

use crate::common::{Answer, get as get_path};
use crate::support::storages;

/// The cart before the application declared versions: the same shape as version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CartPlain {
    items: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CartV1 {
    items: Vec<String>,
}

impl SessionVersion for CartV1 {
    const VERSION: u32 = 1;
    type Previous = Unversioned;
    fn migrate(previous: Unversioned) -> Self {
        match previous {}
    }
}

/// Version 2: each item with a quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CartV2 {
    items: Vec<(String, u32)>,
}

impl SessionVersion for CartV2 {
    const VERSION: u32 = 2;
    type Previous = CartV1;
    fn migrate(v1: CartV1) -> Self {
        CartV2 {
            items: v1.items.into_iter().map(|item| (item, 1)).collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Line {
    item: String,
    quantity: u32,
}

/// Version 3: named fields and a note of where the cart came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CartV3 {
    lines: Vec<Line>,
    origin: String,
}

impl SessionVersion for CartV3 {
    const VERSION: u32 = 3;
    type Previous = CartV2;
    fn migrate(v2: CartV2) -> Self {
        CartV3 {
            lines: v2
                .items
                .into_iter()
                .map(|(item, quantity)| Line { item, quantity })
                .collect(),
            origin: "migrated".into(),
        }
    }
}

/// Version 4: a field version 3 does not know. Its JSON would parse as a `CartV3` (serde
/// ignores unknown fields): only the version number tells version-3 code to keep off it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CartV4 {
    lines: Vec<Line>,
    origin: String,
    coupon: Option<String>,
}

impl SessionVersion for CartV4 {
    const VERSION: u32 = 4;
    type Previous = CartV3;
    fn migrate(v3: CartV3) -> Self {
        CartV4 {
            lines: v3.lines,
            origin: v3.origin,
            coupon: None,
        }
    }
}

/// What each deploy's code puts in a fresh cart.
trait Sample: Clone + Send + Sync + std::fmt::Debug + 'static {
    fn sample() -> Self;
}

impl Sample for CartPlain {
    fn sample() -> Self {
        CartPlain {
            items: vec!["apple".into(), "pear".into()],
        }
    }
}

impl Sample for CartV1 {
    fn sample() -> Self {
        CartV1 {
            items: vec!["apple".into(), "pear".into()],
        }
    }
}

impl Sample for CartV3 {
    fn sample() -> Self {
        CartV3 {
            lines: vec![],
            origin: "new".into(),
        }
    }
}

impl Sample for CartV4 {
    fn sample() -> Self {
        CartV4 {
            lines: vec![Line {
                item: "plum".into(),
                quantity: 9,
            }],
            origin: "new".into(),
            coupon: Some("ROLLBACK".into()),
        }
    }
}

/// The version-1 cart as version-3 code must see it.
fn migrated() -> CartV3 {
    CartV3 {
        lines: vec![
            Line {
                item: "apple".into(),
                quantity: 1,
            },
            Line {
                item: "pear".into(),
                quantity: 1,
            },
        ],
        origin: "migrated".into(),
    }
}

/// `/put` stores the sample cart, `/show` the cart as `{:?}` or `none`, `/id` the session id.
fn routes<T: Sample>() -> Router {
    Router::new()
        .route(
            "/put",
            get(|s: Sessions| async move {
                s.set(T::sample())?;
                Ok::<_, SessionError>("put")
            }),
        )
        .route(
            "/show",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.get::<T>().await? {
                    Some(cart) => format!("{cart:?}"),
                    None => "none".into(),
                })
            }),
        )
        .route(
            "/id",
            get(|s: Sessions| async move {
                Ok::<_, SessionError>(match s.id::<T>().await? {
                    Some(id) => id.as_str().to_owned(),
                    None => "none".into(),
                })
            }),
        )
}

fn key() -> Key {
    Key::from_hex("0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0").unwrap()
}

/// One deploy of a by-value encrypted cart; `versioned` registers the type's version chain.
fn by_value<T: Sample + Serialize + serde::de::DeserializeOwned>(
    configure: impl FnOnce(SessionBuilder<T>) -> SessionBuilder<T>,
) -> Router {
    let layer = SessionsConfig::new()
        .cookie::<T>("cart", |c| configure(c.transform(Encrypt::new(key()))))
        .build()
        .unwrap();
    routes::<T>().layer(layer)
}

/// One deploy of a by-id cart on `storage`.
fn by_id<T: Sample + Serialize + serde::de::DeserializeOwned>(
    storage: Arc<dyn SessionStorage>,
    configure: impl FnOnce(SessionBuilder<T, CookieById>) -> SessionBuilder<T, CookieById>,
) -> Router {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<T, _>("cart", storage, |c| configure(c.secure(false)))
        .build()
        .unwrap();
    routes::<T>().layer(layer)
}

/// `id` in the namespace of the session named `cart`.
fn cart_key(id: &SessionId) -> SessionKey<'_> {
    static CART: std::sync::LazyLock<Namespace> =
        std::sync::LazyLock::new(|| Namespace::new("cart"));
    CART.key(id)
}

/// What the encrypted cookie in `answer` holds, decrypted.
fn opened(answer: &Answer) -> String {
    let value = answer.cookie_value("cart").expect("a cart cookie");
    Encrypt::new(key())
        .read(&TransformContext::new("cart", SystemTime::now()), &value)
        .expect("a valid envelope")
        .value
}

#[tokio::test]
async fn by_value_sessions_of_older_versions_migrate_and_newer_ones_are_left_alone() {
    let plain = by_value::<CartPlain>(|c| c);
    let v1 = by_value::<CartV1>(|c| c.versioned());
    let v3 = by_value::<CartV3>(|c| c.versioned());
    let v4 = by_value::<CartV4>(|c| c.versioned());

    for (written_by, app) in [("unversioned", &plain), ("version 1", &v1)] {
        let put = get_path(app, "/put", None).await;
        let cookie = put.cookie_pair("cart").expect("a cart cookie");
        if written_by == "version 1" {
            assert!(opened(&put).starts_with("v1:{"), "{}", opened(&put));
        } else {
            assert!(opened(&put).starts_with('{'), "no prefix: {}", opened(&put));
        }

        let read = get_path(&v3, "/show", Some(&cookie)).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, format!("{:?}", migrated()), "{written_by}");
        // The same response rewrote it as version 3.
        let rewritten = opened(&read);
        assert!(rewritten.starts_with("v3:{"), "{written_by}: {rewritten}");
        let again = get_path(&v3, "/show", read.cookie_pair("cart").as_deref()).await;
        assert_eq!(again.body, read.body);
        assert_eq!(
            again.set_cookie("cart"),
            None,
            "a current value is not rewritten"
        );
    }

    // A rollback: version-3 code meets a version-4 value.
    let newer = get_path(&v4, "/put", None).await;
    let cookie = newer.cookie_pair("cart").unwrap();
    assert!(opened(&newer).starts_with("v4:{"));
    let read = get_path(&v3, "/show", Some(&cookie)).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, "none");
    assert_eq!(
        read.set_cookie("cart"),
        None,
        "the browser keeps the newer value for the newer code"
    );
    let back = get_path(&v4, "/show", Some(&cookie)).await;
    assert_eq!(back.body, format!("{:?}", CartV4::sample()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_id_sessions_of_older_versions_migrate_on_every_storage() {
    for named in storages::every("versions_by_id").await {
        let name = named.name;
        let storage = named.storage;
        let plain = by_id::<CartPlain>(storage.clone(), |c| c);
        let v1 = by_id::<CartV1>(storage.clone(), |c| c.versioned());
        let v3 = by_id::<CartV3>(storage.clone(), |c| c.versioned());
        let v4 = by_id::<CartV4>(storage.clone(), |c| c.versioned());
        let version = |id: &SessionId| {
            let storage = storage.clone();
            let id = id.clone();
            async move {
                storage
                    .load(cart_key(&id), SystemTime::now())
                    .await
                    .unwrap()
                    .map(|record| record.meta.version)
            }
        };

        for (written_by, app, expected) in [("unversioned", &plain, None), ("v1", &v1, Some(1))] {
            let put = get_path(app, "/put", None).await;
            let cookie = put.cookie_pair("cart").expect("a cart cookie");
            let id = SessionId::parse(&get_path(app, "/id", Some(&cookie)).await.body).unwrap();
            assert_eq!(version(&id).await, Some(expected), "{name}: {written_by}");

            let read = get_path(&v3, "/show", Some(&cookie)).await;
            assert_eq!(read.status, 200, "{name}");
            assert_eq!(
                read.body,
                format!("{:?}", migrated()),
                "{name}: {written_by}"
            );
            assert_eq!(
                version(&id).await,
                Some(Some(3)),
                "{name}: {written_by}: the read rewrote the record as version 3"
            );
            let stored = storage
                .load(cart_key(&id), SystemTime::now())
                .await
                .unwrap()
                .unwrap();
            let json: CartV3 = serde_json::from_slice(&stored.data).unwrap();
            assert_eq!(json, migrated(), "{name}");
        }

        let newer = get_path(&v4, "/put", None).await;
        let cookie = newer.cookie_pair("cart").unwrap();
        let id = SessionId::parse(&get_path(&v4, "/id", Some(&cookie)).await.body).unwrap();
        let read = get_path(&v3, "/show", Some(&cookie)).await;
        assert_eq!(read.status, 200, "{name}");
        assert_eq!(read.body, "none", "{name}");
        assert_eq!(read.set_cookie("cart"), None, "{name}: the cookie is kept");
        // Writing under version 3 code starts a new session; the version-4 one stays.
        let fresh = get_path(&v3, "/put", Some(&cookie)).await;
        assert_eq!(fresh.status, 200);
        assert_eq!(
            version(&id).await,
            Some(Some(4)),
            "{name}: the record is still there"
        );
        let back = get_path(&v4, "/show", Some(&cookie)).await;
        assert_eq!(back.body, format!("{:?}", CartV4::sample()), "{name}");
    }
}
