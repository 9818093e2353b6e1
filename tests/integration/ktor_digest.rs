//! Ktor 1.x's unkeyed `SessionTransportTransformerDigest` through the real stack: Ktor 1.x's own
//! test value on the wire, a forgery that reads (what "unkeyed" means), the seed's example of a
//! digest-protected header session over loopback HTTP, and the move to `Sign` with `Migrate`
//! (by value and by id), after which digest values are refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use sha2::Digest as _;
use typed_sessions::storage::MemoryStorage;
use typed_sessions::transform::{
    Key, KtorUnkeyedDigest, Migrate, Sign, TransformContext, Transformer,
};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{Answer, TestUserSession, get as get_path, serve};

/// Ktor's `SessionTest` routes: `/1` sets `TestUserSession("id2", [])`, `/2` answers
/// `ok, <userId or null>`.
fn routes() -> Router {
    async fn one(sessions: Sessions) -> Result<&'static str, SessionError> {
        sessions.set(TestUserSession::new("id2"))?;
        Ok("ok")
    }
    async fn two(sessions: Sessions) -> Result<String, SessionError> {
        let s = sessions.get::<TestUserSession>().await?;
        Ok(format!("ok, {}", s.map_or("null".into(), |s| s.user_id)))
    }
    Router::new().route("/1", get(one)).route("/2", get(two))
}

fn flip_last_hex_digit(value: &str) -> String {
    let mut s = value.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == '0' { '1' } else { '0' });
    s
}

fn is_removal(answer: &Answer, name: &str) -> bool {
    answer
        .set_cookie(name)
        .is_some_and(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
}

fn key() -> Key {
    Key::from_hex("5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7").unwrap()
}

/// A by-id session with Ktor's cookie settings, ids counted up from 666 (Ktor's
/// `identity { (id++).toString() }`), on `storage`, protected by `t`.
fn by_id_app(storage: Arc<MemoryStorage>, t: impl Transformer) -> Router {
    let next = Arc::new(AtomicU32::new(666));
    let layer = SessionsConfig::new()
        .cookie_with_storage::<TestUserSession, _>("S", storage, move |c| {
            c.ktor_defaults()
                .identity(move |_| next.fetch_add(1, Ordering::SeqCst).to_string())
                .transform(t)
        })
        .build()
        .unwrap();
    routes().layer(layer)
}

/// Ktor's `SessionTest.testSessionByIdDigest` (tag 1.0.0, where SHA-256 was the default), on the
/// wire: the id `666` under SHA-256 is exactly the cookie Ktor's test asserts, it reads back,
/// and a flipped digit, a truncated or uppercased digest or a huge value reads as no session.
#[tokio::test]
async fn ktor_1_x_by_id_value_on_the_wire() {
    // Ktor's expected value, recomputed with
    // python3 -c 'import hashlib; print(hashlib.sha256(b"ktor"+b"666").hexdigest())'
    let ktor = "666%2Fc2d4eaad4fe0bc6dbd0584cdf36929d79d52d7a748d1cc02835a71131a0963fb";
    let sha256 = KtorUnkeyedDigest::new().with_algorithm("SHA-256").unwrap();
    let app = by_id_app(Arc::new(MemoryStorage::new()), sha256);
    let set = get_path(&app, "/1", None).await;
    assert_eq!(set.cookie_value("S").as_deref(), Some(ktor));
    let cookie = format!("S={ktor}");
    assert_eq!(get_path(&app, "/2", Some(&cookie)).await.body, "ok, id2");
    assert_eq!(get_path(&app, "/2", None).await.body, "ok, null");
    let broken = format!("S={}", flip_last_hex_digit(ktor));
    let answer = get_path(&app, "/2", Some(&broken)).await;
    assert_eq!(answer.body, "ok, null");
    assert!(is_removal(&answer, "S"), "{answer:?}");
    for bad in [
        "S=666".to_owned(),
        "S=666%2F".to_owned(),
        format!("S={}", ktor.to_uppercase()),
        format!("S={}", &ktor[..ktor.len() - 1]),
        format!("S={}x", &ktor[..ktor.len() - 1]),
        format!("S={}", "%2F".repeat(3000)),
    ] {
        let answer = get_path(&app, "/2", Some(&bad)).await;
        assert_eq!(answer.body, "ok, null", "accepted {bad}");
        assert!(answer.status.is_success(), "{bad}: {answer:?}");
    }
}

/// Ktor's `testSessionByValueDigest` with the default (SHA-384): the value round-trips. And
/// what the name says: a client that rewrites the value and recomputes the digest is believed.
#[tokio::test]
async fn by_value_round_trips_and_a_client_can_forge_it() {
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("S", |c| {
            c.ktor_defaults().transform(KtorUnkeyedDigest::new())
        })
        .build()
        .unwrap();
    let app = routes().layer(layer);
    let set = get_path(&app, "/1", None).await;
    let json = r#"{"userId":"id2","cart":[]}"#;
    // python3 -c 'import hashlib; print(hashlib.sha384(b"ktor"+b"{\"userId\":\"id2\",\"cart\":[]}").hexdigest())'
    let digest = "e7f508439a1cfca3a9580553849a8ccc552df7b00941cbf43b6f95137fc7f0b34ec1d1478979de6b9c6dd01257862345";
    let ctx = TransformContext::new("S", std::time::SystemTime::now());
    assert_eq!(
        KtorUnkeyedDigest::new().write(&ctx, json).unwrap(),
        format!("{json}/{digest}")
    );
    let pair = set.cookie_pair("S").unwrap();
    assert!(pair.ends_with(&format!("%2F{digest}")), "{pair}");
    assert_eq!(get_path(&app, "/2", Some(&pair)).await.body, "ok, id2");
    let flipped = flip_last_hex_digit(&pair);
    assert_eq!(get_path(&app, "/2", Some(&flipped)).await.body, "ok, null");

    // The forgery: any payload, its SHA-384 under the public salt.
    let forged = r#"{"userId":"admin","cart":[]}"#;
    let forged_digest = hex::encode(sha2::Sha384::digest(format!("ktor{forged}")));
    let cookie = format!("S={}", urlencode(&format!("{forged}/{forged_digest}")));
    assert_eq!(get_path(&app, "/2", Some(&cookie)).await.body, "ok, admin");
}

/// The seed document's example: a plain cookie session and a header session on a storage
/// whose id travels with `SessionTransportTransformerDigest()`, over loopback HTTP (Ktor's
/// `testMultipleSessions`).
#[tokio::test]
async fn the_seed_example_header_session_over_http() {
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Session1 {
        visits: u32,
    }
    async fn one(sessions: Sessions) -> Result<&'static str, SessionError> {
        sessions.set(TestUserSession::new("id2"))?;
        sessions.set(Session1 { visits: 1 })?;
        Ok("ok")
    }
    async fn two(sessions: Sessions) -> Result<String, SessionError> {
        let user = sessions.get::<TestUserSession>().await?;
        let empty = sessions.get::<Session1>().await?;
        Ok(format!(
            "ok, {}, {}",
            user.map_or("null".into(), |u| u.user_id),
            empty.is_some()
        ))
    }
    let layer = SessionsConfig::new()
        .cookie::<Session1>("Session1", |c| c.ktor_defaults().unprotected())
        .header_with_storage::<TestUserSession, _>("Session2", MemoryStorage::new(), |h| {
            h.transform(KtorUnkeyedDigest::new()) // "sign the ID that travels to client"
        })
        .build()
        .unwrap();
    let app = Router::new()
        .route("/1", get(one))
        .route("/2", get(two))
        .layer(layer);
    let addr = serve(app).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");

    let first = client.get(url("/1")).send().await.unwrap();
    let header = first.headers()["session2"].to_str().unwrap().to_owned();
    let (id, digest) = header.rsplit_once('/').unwrap();
    assert_eq!(id.len(), 64, "{header}");
    // python's hashlib computes the same digest of the id: it is no secret.
    let expected = hex::encode(sha2::Sha384::digest(format!("ktor{id}")));
    assert_eq!(digest, expected);
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = cookie.split(';').next().unwrap().to_owned();

    let ask = |session2: Option<String>, cookie: Option<&str>| {
        let mut request = client.get(url("/2"));
        if let Some(value) = session2 {
            request = request.header("session2", value);
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(
        ask(Some(header.clone()), Some(&cookie)).await,
        "ok, id2, true"
    );
    assert_eq!(ask(None, Some(&cookie)).await, "ok, null, true");
    assert_eq!(ask(None, None).await, "ok, null, false");
    assert_eq!(
        ask(Some(flip_last_hex_digit(&header)), None).await,
        "ok, null, false"
    );
}

/// `Migrate::new(KtorUnkeyedDigest, Sign)` on a by-value session: a Ktor 1.x value reads, and
/// the response re-sends it signed (with the session's ttl); the signed value then reads without
/// being re-sent. Once `Sign` stands alone, digest values (genuine or forged) are refused.
#[tokio::test]
async fn migrating_by_value_sessions_to_sign() {
    let migrating = SessionsConfig::new()
        .cookie::<TestUserSession>("S", |c| {
            c.ktor_defaults()
                .max_age(Duration::from_secs(600))
                .transform(Migrate::new(KtorUnkeyedDigest::new(), Sign::new(key())))
        })
        .build()
        .unwrap();
    let app = routes().layer(migrating);
    let ctx = TransformContext::new("S", std::time::SystemTime::now());
    let from_ktor = KtorUnkeyedDigest::new()
        .write(&ctx, r#"{"userId":"id2","cart":[]}"#)
        .unwrap();
    let from_ktor = format!("S={}", urlencode(&from_ktor));

    let answer = get_path(&app, "/2", Some(&from_ktor)).await;
    assert_eq!(answer.body, "ok, id2");
    let resent = answer
        .cookie_value("S")
        .expect("the value is re-sent signed");
    let opened = Sign::new(key()).open(&ctx, &resent).unwrap();
    assert_eq!(opened.payload, r#"{"userId":"id2","cart":[]}"#);
    let expires = opened.expires_at.expect("the session's ttl");
    let left = expires
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        left > Duration::from_secs(590) && left <= Duration::from_secs(600),
        "{left:?}"
    );

    let signed = format!("S={resent}");
    let again = get_path(&app, "/2", Some(&signed)).await;
    assert_eq!(again.body, "ok, id2");
    assert!(
        again.set_cookie("S").is_none(),
        "a current value is not re-sent"
    );
    // New sessions are written signed.
    let new = get_path(&app, "/1", None).await.cookie_value("S").unwrap();
    assert!(Sign::new(key()).read(&ctx, &new).is_ok(), "{new}");

    // The migration is over: Sign alone.
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("S", |c| {
            c.ktor_defaults()
                .max_age(Duration::from_secs(600))
                .transform(Sign::new(key()))
        })
        .build()
        .unwrap();
    let app = routes().layer(layer);
    assert_eq!(get_path(&app, "/2", Some(&signed)).await.body, "ok, id2");
    let refused = get_path(&app, "/2", Some(&from_ktor)).await;
    assert_eq!(refused.body, "ok, null");
    assert!(is_removal(&refused, "S"), "{refused:?}");
}

/// The same move for a by-id session: the record stays where it is, only the cookie that
/// carries its id changes from `666/<digest>` to a signed id.
#[tokio::test]
async fn migrating_by_id_sessions_to_sign() {
    let storage = Arc::new(MemoryStorage::new());
    let ktor_1 = by_id_app(storage.clone(), KtorUnkeyedDigest::new());
    let from_ktor = get_path(&ktor_1, "/1", None)
        .await
        .cookie_pair("S")
        .unwrap();
    assert!(from_ktor.starts_with("S=666%2F"), "{from_ktor}");

    let migrating = by_id_app(
        storage.clone(),
        Migrate::new(KtorUnkeyedDigest::new(), Sign::new(key())),
    );
    let answer = get_path(&migrating, "/2", Some(&from_ktor)).await;
    assert_eq!(answer.body, "ok, id2");
    let resent = answer.cookie_value("S").expect("the id is re-sent signed");
    let ctx = TransformContext::new("S", std::time::SystemTime::now());
    assert_eq!(
        Sign::new(key())
            .read(&ctx, &resent)
            .map(|r| r.value)
            .as_deref(),
        Ok("666")
    );
    let signed = format!("S={resent}");
    let again = get_path(&migrating, "/2", Some(&signed)).await;
    assert_eq!(again.body, "ok, id2");
    assert!(again.set_cookie("S").is_none());

    let signed_only = by_id_app(storage, Sign::new(key()));
    assert_eq!(
        get_path(&signed_only, "/2", Some(&signed)).await.body,
        "ok, id2"
    );
    assert_eq!(
        get_path(&signed_only, "/2", Some(&from_ktor)).await.body,
        "ok, null"
    );
}

/// Ktor's URI cookie encoding of a digest value (JSON payloads have characters to escape).
fn urlencode(value: &str) -> String {
    typed_sessions::CookieEncoding::Uri
        .encode(value)
        .into_owned()
}
