//! What each failure a handler can meet is, as a value it can match on: refused values at
//! `set`, an id that is not one of the session's, the extractor outside any layer.

use axum::Router;
use axum::routing::get as route;
use typed_sessions::serializer::{SerializerError, SessionSerializer};
use typed_sessions::transform::{
    Rejection, TransformContext, TransformError, Transformer, Unwrapped,
};
use typed_sessions::{CookieEncoding, MissingSessionsLayer, Sessions, SessionsConfig};

use crate::common::{ProbeStorage, TestUserSession, get};

/// Refuses to protect anything.
struct Broken;
impl Transformer for Broken {
    fn write(&self, _: &TransformContext<'_>, _: &str) -> Result<String, TransformError> {
        Err(TransformError::Failed(
            "the hardware security module is away".into(),
        ))
    }
    fn read(&self, _: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
        Ok(Unwrapped::new(value.to_owned()))
    }
}

/// Refuses to serialize anything.
struct Unwritable;
impl SessionSerializer<TestUserSession> for Unwritable {
    fn serialize(&self, _: &TestUserSession) -> Result<String, SerializerError> {
        Err(SerializerError::new("not today"))
    }
    fn deserialize(&self, _: &str) -> Result<TestUserSession, SerializerError> {
        Err(SerializerError::new("not today"))
    }
}

/// `/set` answers with the `Debug` of what `set` returned.
fn set_route(config: SessionsConfig) -> Router {
    Router::new()
        .route(
            "/set",
            route(|s: Sessions| async move { format!("{:?}", s.set(TestUserSession::new("u1"))) }),
        )
        .layer(config.build().unwrap())
}

#[tokio::test]
async fn a_value_the_chain_cannot_protect_is_a_transform_error_with_its_source() {
    let app =
        set_route(SessionsConfig::new().cookie::<TestUserSession>("s", |c| c.transform(Broken)));
    let answer = get(&app, "/set", None).await;
    assert!(
        answer
            .body
            .starts_with(r#"Err(Transform { name: "s", source: Failed("the hardware"#),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_value_the_serializer_refuses_is_a_serialize_error_with_its_source() {
    let app = set_route(
        SessionsConfig::new()
            .cookie::<TestUserSession>("s", |c| c.unprotected().serializer(Unwritable)),
    );
    let answer = get(&app, "/set", None).await;
    assert_eq!(
        answer.body,
        r#"Err(Serialize { name: "s", source: SerializerError("not today") })"#
    );
}

#[tokio::test]
async fn a_value_the_cookie_encoding_cannot_carry_is_unencodable() {
    // JSON holds `"`, which a raw cookie value cannot.
    let app = set_route(
        SessionsConfig::new()
            .cookie::<TestUserSession>("s", |c| c.unprotected().encoding(CookieEncoding::Raw)),
    );
    let answer = get(&app, "/set", None).await;
    assert_eq!(answer.body, r#"Err(Unencodable { name: "s" })"#);
    // A header cannot carry a line break.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Note(String);
    struct Text;
    impl SessionSerializer<Note> for Text {
        fn serialize(&self, note: &Note) -> Result<String, SerializerError> {
            Ok(note.0.clone())
        }
        fn deserialize(&self, text: &str) -> Result<Note, SerializerError> {
            Ok(Note(text.to_owned()))
        }
    }
    let app = Router::new()
        .route(
            "/set/{text}",
            route(
                |s: Sessions, axum::extract::Path(text): axum::extract::Path<String>| async move {
                    format!("{:?}", s.set(Note(text)))
                },
            ),
        )
        .layer(
            SessionsConfig::new()
                .header::<Note>("x-note", |h| h.unprotected().serializer(Text))
                .build()
                .unwrap(),
        );
    assert_eq!(get(&app, "/set/a%20b", None).await.body, "Ok(())");
    assert_eq!(
        get(&app, "/set/a%0Ab", None).await.body,
        r#"Err(Unencodable { name: "x-note" })"#
    );
}

#[tokio::test]
async fn an_id_that_is_not_the_sessions_is_invalid_id() {
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("s", ProbeStorage::default(), |c| c)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/clear",
            route(|s: Sessions| async move {
                format!("{:?}", s.clear_by_id::<TestUserSession>("../etc").await)
            }),
        )
        .layer(layer);
    assert_eq!(
        get(&app, "/clear", None).await.body,
        r#"Err(InvalidId { name: "s" })"#
    );
}

#[tokio::test]
async fn the_extractor_outside_any_layer_is_rejected_with_its_own_type() {
    async fn handler(sessions: Result<Sessions, MissingSessionsLayer>) -> String {
        format!("{:?}", sessions.map(|_| ()))
    }
    let app = Router::new().route("/", route(handler));
    assert_eq!(get(&app, "/", None).await.body, "Err(MissingSessionsLayer)");
    // Unhandled, the rejection is a 500 with a generic body, never cached.
    let app = Router::new().route("/", route(|_: Sessions| async { "unreachable" }));
    let answer = get(&app, "/", None).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.body, "Internal Server Error");
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}
