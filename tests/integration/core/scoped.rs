//! Route-scoped layers: one nested router, different configurations side by side, nesting, and
//! a handler outside any layer.

use axum::Router;
use axum::routing::get as route;
use typed_sessions::{MissingSessionsLayer, SessionError, Sessions, SessionsConfig};

use crate::common::{TestUserSession, get, user_routes};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct OtherSession {
    n: u32,
}

#[tokio::test]
async fn a_layer_on_a_nested_router_and_a_handler_outside_it() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new()
        .nest("/app", user_routes().layer(layer))
        .route(
            "/outside",
            route(
                |s: Sessions| async move { s.get::<TestUserSession>().await.map(|_| "unexpected") },
            ),
        );
    assert!(
        get(&router, "/app/set/id1", None)
            .await
            .set_cookie("s")
            .is_some()
    );
    let outside = get(&router, "/outside", None).await;
    assert_eq!(outside.status, 500);
    assert_eq!(outside.body, "Internal Server Error");
    // The error itself says what to do.
    let error = Sessions::from_extensions(&http::Extensions::new()).unwrap_err();
    assert_eq!(error, MissingSessionsLayer);
    assert!(matches!(
        SessionError::from(error),
        SessionError::LayerMissing
    ));
    assert!(
        error.to_string().contains("add the `SessionsLayer`"),
        "{error}"
    );
}

#[tokio::test]
async fn sibling_routes_with_the_same_cookie_name_are_isolated() {
    // Ktor's testRoutesIsolation: same cookie name, different types.
    let a = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let b = SessionsConfig::new()
        .cookie::<OtherSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let other = Router::new()
        .route(
            "/set",
            route(|s: Sessions| async move {
                s.set(OtherSession { n: 7 })?;
                Ok::<_, SessionError>("set")
            }),
        )
        .route(
            "/get",
            route(|s: Sessions| async move {
                let user = s.get::<TestUserSession>().await;
                Ok::<_, SessionError>(format!(
                    "{:?} {}",
                    s.get::<OtherSession>().await?.map(|o| o.n),
                    matches!(user, Err(SessionError::NotRegistered { .. }))
                ))
            }),
        );
    let router = Router::new()
        .nest("/a", user_routes().layer(a))
        .nest("/b", other.layer(b));
    let cookie = get(&router, "/b/set", None).await.cookie_pair("s").unwrap();
    assert_eq!(
        get(&router, "/b/get", Some(&cookie)).await.body,
        "Some(7) true"
    );
    // The same cookie is not a TestUserSession: /a reads it as invalid.
    assert_eq!(get(&router, "/a/get", Some(&cookie)).await.body, "none");
}

#[tokio::test]
async fn nested_layers_stack() {
    let outer = SessionsConfig::new()
        .cookie::<TestUserSession>("user", |c| c.unprotected())
        .build()
        .unwrap();
    let inner = SessionsConfig::new()
        .cookie::<OtherSession>("other", |c| c.unprotected().path("/inner"))
        .build()
        .unwrap();
    let inner_routes = Router::new()
        .route(
            "/both",
            route(|s: Sessions| async move {
                s.set(TestUserSession::new("from-inner"))?;
                s.set(OtherSession { n: 1 })?;
                Ok::<_, SessionError>("both")
            }),
        )
        .layer(inner);
    let router = Router::new()
        .nest("/inner", inner_routes)
        .merge(user_routes())
        .layer(outer);
    let answer = get(&router, "/inner/both", None).await;
    assert_eq!(answer.body, "both");
    assert!(answer.set_cookie("other").unwrap().contains("Path=/inner"));
    let user = answer.cookie_pair("user").unwrap();
    assert_eq!(get(&router, "/get", Some(&user)).await.body, "from-inner");
}

#[tokio::test]
async fn a_status_only_response_still_carries_the_session() {
    // Ktor's "scoped session sends Set-Cookie header without explicit respond" (KTOR-9476).
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("s", |c| c.unprotected())
        .build()
        .unwrap();
    let router = Router::new().nest(
        "/scoped",
        Router::new()
            .route(
                "/status",
                route(|s: Sessions| async move {
                    s.set(TestUserSession::new("x")).unwrap();
                    http::StatusCode::NO_CONTENT
                }),
            )
            .layer(layer),
    );
    let answer = get(&router, "/scoped/status", None).await;
    assert_eq!(answer.status, 204);
    assert!(answer.set_cookie("s").is_some());
}
