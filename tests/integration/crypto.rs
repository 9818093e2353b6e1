//! Signed and encrypted sessions through the real stack: tampering, moving values between
//! names, cross-format confusion, expiry under a manual clock, key rotation on a running
//! server, the size guard, Ktor's vectors on the wire, and the two Ktor documentation examples.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use typed_sessions::clock::ManualClock;
use typed_sessions::transform::{
    Encrypt, EncryptAlgorithm, Format, Key, KeyRing, KtorEncrypt, KtorSign, Sign, TransformContext,
    Transformer,
};
use typed_sessions::{SessionError, Sessions, SessionsConfig};

use crate::common::{Answer, cookie_client, get as get_path, serve};

#[path = "../../examples/session_cookie_client.rs"]
mod session_cookie_client;
#[path = "../../examples/session_cookie_server.rs"]
mod session_cookie_server;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct UserSession {
    id: String,
    count: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AdminSession {
    id: String,
    count: u32,
}

fn master() -> Key {
    Key::from_hex("5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7").unwrap()
}

/// `/login` sets `UserSession{id: "123abc", count: 0}`, `/user` shows it or `none`, `/bump`
/// increments it, `/big` tries to set one with an `n`-KiB id (query `?n=`).
fn user_routes() -> Router {
    async fn login(sessions: Sessions) -> Result<&'static str, SessionError> {
        sessions.set(UserSession {
            id: "123abc".into(),
            count: 0,
        })?;
        Ok("ok")
    }
    async fn user(sessions: Sessions) -> Result<String, SessionError> {
        Ok(match sessions.get::<UserSession>().await? {
            Some(s) => format!("{}:{}", s.id, s.count),
            None => "none".into(),
        })
    }
    async fn bump(sessions: Sessions) -> Result<String, SessionError> {
        let Some(s) = sessions.get::<UserSession>().await? else {
            return Ok("none".into());
        };
        sessions.set(UserSession {
            count: s.count + 1,
            ..s
        })?;
        Ok(format!("{}", s.count + 1))
    }
    async fn big(sessions: Sessions) -> String {
        let result = sessions.set(UserSession {
            id: "x".repeat(4000),
            count: 0,
        });
        match result {
            Err(SessionError::TooLarge { size, limit, .. }) => {
                format!("too large: {size} > {limit}")
            }
            Err(other) => format!("other error: {other}"),
            Ok(()) => "set".into(),
        }
    }
    Router::new()
        .route("/login", get(login))
        .route("/user", get(user))
        .route("/bump", get(bump))
        .route("/big", get(big))
}

/// The user routes with `UserSession` in cookie `user_session` protected by `t`.
fn app_with(t: impl Transformer, clock: Option<ManualClock>) -> Router {
    let mut config = SessionsConfig::new();
    if let Some(clock) = clock {
        config = config.clock(clock);
    }
    let layer = config
        .cookie::<UserSession>("user_session", |c| {
            c.max_age(Duration::from_secs(60)).transform(t)
        })
        .build()
        .unwrap();
    user_routes().layer(layer)
}

/// The raw (cookie-decoded) value of a modern token from a `Set-Cookie` answer.
fn token(answer: &Answer, name: &str) -> String {
    let value = answer.cookie_value(name).expect("a Set-Cookie");
    assert!(
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "a modern token needs no cookie escaping: {value}"
    );
    value
}

fn is_removal(answer: &Answer, name: &str) -> bool {
    answer
        .set_cookie(name)
        .is_some_and(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"))
}

#[tokio::test]
async fn encrypted_session_round_trips_and_hides_the_payload() {
    for algorithm in [
        EncryptAlgorithm::XChaCha20Poly1305,
        EncryptAlgorithm::Aes256Gcm,
    ] {
        let app = app_with(Encrypt::with_algorithm(master(), algorithm), None);
        let login = get_path(&app, "/login", None).await;
        let value = token(&login, "user_session");
        assert!(!value.contains("123abc"));
        let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"123abc"));
        let pair = login.cookie_pair("user_session").unwrap();
        assert_eq!(get_path(&app, "/user", Some(&pair)).await.body, "123abc:0");
        let bumped = get_path(&app, "/bump", Some(&pair)).await;
        assert_eq!(bumped.body, "1");
        let pair2 = bumped.cookie_pair("user_session").unwrap();
        assert_ne!(pair, pair2);
        assert_eq!(get_path(&app, "/user", Some(&pair2)).await.body, "123abc:1");
    }
}

#[tokio::test]
async fn every_byte_flipped_reads_as_absent_and_is_cleared() {
    let apps = [
        ("sign", app_with(Sign::new(master()), None)),
        ("encrypt", app_with(Encrypt::new(master()), None)),
        (
            "encrypt-aes",
            app_with(
                Encrypt::with_algorithm(master(), EncryptAlgorithm::Aes256Gcm),
                None,
            ),
        ),
    ];
    for (label, app) in apps {
        let value = token(&get_path(&app, "/login", None).await, "user_session");
        let bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
        // Header, key id, expiry, nonce, body and tag: every byte, one at a time.
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            let cookie = format!("user_session={}", URL_SAFE_NO_PAD.encode(&tampered));
            let answer = get_path(&app, "/user", Some(&cookie)).await;
            assert_eq!(
                answer.body, "none",
                "{label}: byte {i} flipped was accepted"
            );
            assert!(is_removal(&answer, "user_session"), "{label}: byte {i}");
        }
        assert_eq!(
            get_path(&app, "/user", Some(&format!("user_session={value}")))
                .await
                .body,
            "123abc:0"
        );
    }
}

#[tokio::test]
async fn truncated_extended_and_re_encoded_values_read_as_absent() {
    let app = app_with(Encrypt::new(master()), None);
    let value = token(&get_path(&app, "/login", None).await, "user_session");
    let mut variants = vec![
        value[..value.len() - 1].to_owned(),
        value[..value.len() - 4].to_owned(),
        value[1..].to_owned(),
        format!("{value}A"),
        format!("{value}AAAA"),
        format!("{value}%3D"),    // a padding `=`, cookie-encoded
        format!("{value}%3D%3D"), // two
        String::new(),
    ];
    let standard = value.replace('-', "%2B").replace('_', "%2F");
    if standard != value {
        variants.push(standard);
    }
    for variant in variants {
        let cookie = format!("user_session={variant}");
        let answer = get_path(&app, "/user", Some(&cookie)).await;
        assert_eq!(answer.body, "none", "accepted {variant}");
    }
}

#[tokio::test]
async fn values_cannot_move_between_session_names() {
    let key = master();
    let layer = SessionsConfig::new()
        .cookie::<UserSession>("user_session", |c| c.transform(Encrypt::new(key.clone())))
        .cookie::<AdminSession>("admin_session", |c| c.transform(Encrypt::new(key.clone())))
        .build()
        .unwrap();
    async fn admin(sessions: Sessions) -> Result<String, SessionError> {
        Ok(match sessions.get::<AdminSession>().await? {
            Some(s) => format!("admin {}", s.id),
            None => "none".into(),
        })
    }
    let app = user_routes().route("/admin", get(admin)).layer(layer);
    let value = token(&get_path(&app, "/login", None).await, "user_session");
    // The same JSON shape would deserialize as an AdminSession: only the name binding stops it.
    let moved = format!("admin_session={value}");
    let answer = get_path(&app, "/admin", Some(&moved)).await;
    assert_eq!(answer.body, "none");
    assert!(is_removal(&answer, "admin_session"));
    let unprotected = SessionsConfig::new()
        .cookie::<AdminSession>("admin_session", |c| c.unprotected())
        .build()
        .unwrap();
    let control = Router::new().route("/admin", get(admin)).layer(unprotected);
    let json = "admin_session=%7B%22id%22%3A%22123abc%22%2C%22count%22%3A0%7D";
    assert_eq!(
        get_path(&control, "/admin", Some(json)).await.body,
        "admin 123abc"
    );
}

#[tokio::test]
async fn signed_and_encrypted_values_do_not_cross_with_one_master_key() {
    let signed_app = app_with(Sign::new(master()), None);
    let encrypted_app = app_with(Encrypt::new(master()), None);
    let signed = get_path(&signed_app, "/login", None)
        .await
        .cookie_pair("user_session")
        .unwrap();
    let sealed = get_path(&encrypted_app, "/login", None)
        .await
        .cookie_pair("user_session")
        .unwrap();
    assert_eq!(
        get_path(&signed_app, "/user", Some(&signed)).await.body,
        "123abc:0"
    );
    assert_eq!(
        get_path(&encrypted_app, "/user", Some(&sealed)).await.body,
        "123abc:0"
    );
    assert_eq!(
        get_path(&encrypted_app, "/user", Some(&signed)).await.body,
        "none"
    );
    assert_eq!(
        get_path(&signed_app, "/user", Some(&sealed)).await.body,
        "none"
    );
    // The signed value is readable by the client, the encrypted one is not.
    let readable = URL_SAFE_NO_PAD
        .decode(signed.trim_start_matches("user_session="))
        .unwrap();
    assert!(readable.windows(6).any(|w| w == b"123abc"));
}

#[tokio::test]
async fn a_replayed_value_dies_at_its_ttl() {
    for use_sign in [false, true] {
        let clock = ManualClock::new();
        let app = if use_sign {
            app_with(Sign::new(master()), Some(clock.clone()))
        } else {
            app_with(Encrypt::new(master()), Some(clock.clone()))
        };
        let login = get_path(&app, "/login", None).await;
        assert!(
            login
                .set_cookie("user_session")
                .unwrap()
                .contains("Max-Age=60")
        );
        let pair = login.cookie_pair("user_session").unwrap();
        clock.advance(Duration::from_secs(58));
        assert_eq!(get_path(&app, "/user", Some(&pair)).await.body, "123abc:0");
        // The client ignores Max-Age and replays the cookie after 61 s: the server refuses it.
        clock.advance(Duration::from_secs(3));
        let late = get_path(&app, "/user", Some(&pair)).await;
        assert_eq!(late.body, "none", "sign = {use_sign}");
        assert!(is_removal(&late, "user_session"));
        // A value re-issued at 58 s would still live; the first one never comes back.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(get_path(&app, "/user", Some(&pair)).await.body, "none");
    }
}

#[tokio::test]
async fn a_session_set_again_gets_a_new_lifetime() {
    let clock = ManualClock::new();
    let app = app_with(Encrypt::new(master()), Some(clock.clone()));
    let first = get_path(&app, "/login", None)
        .await
        .cookie_pair("user_session")
        .unwrap();
    clock.advance(Duration::from_secs(50));
    let renewed = get_path(&app, "/bump", Some(&first)).await;
    let second = renewed.cookie_pair("user_session").unwrap();
    clock.advance(Duration::from_secs(50)); // 100 s after the first write, 50 after the second
    assert_eq!(get_path(&app, "/user", Some(&first)).await.body, "none");
    assert_eq!(
        get_path(&app, "/user", Some(&second)).await.body,
        "123abc:1"
    );
}

/// A router whose sessions configuration can be replaced while the server runs (what a
/// configuration reload does), so one client with one cookie jar lives through the rotation.
fn reloadable(initial: Router) -> (Router, Arc<RwLock<Router>>) {
    let current = Arc::new(RwLock::new(initial));
    let handle = Arc::clone(&current);
    let router = Router::new().fallback_service(tower::service_fn(move |request: Request| {
        let router = current.read().unwrap().clone();
        router.oneshot(request)
    }));
    (router, handle)
}

fn set_cookie_token(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn key_rotation_on_a_running_server() {
    let old = master();
    let new = Key::generate();
    let with_ring = |ring: KeyRing| app_with(Encrypt::new(ring), None);
    let (router, config) = reloadable(with_ring(KeyRing::new(old.clone())));
    let addr = serve(router).await;
    let url = |path: &str| format!("http://{addr}{path}");

    // Before: the old key writes. Alice logs in; Bob logs in too (he will not come back
    // until the old key is gone).
    let alice = cookie_client();
    let bob = cookie_client();
    let login = alice.get(url("/login")).send().await.unwrap();
    let alice_old = set_cookie_token(&login, "user_session").unwrap();
    assert_eq!(Format::detect(&alice_old).unwrap().1, old.id());
    bob.get(url("/login")).send().await.unwrap();

    // Rotate to [new, old]: old sessions still read; every value written from now on uses
    // the new key (V-8: never the previous key).
    *config.write().unwrap() = with_ring(KeyRing::from_keys(new.clone(), [old.clone()]).unwrap());
    let read = alice.get(url("/user")).send().await.unwrap();
    let reissued = set_cookie_token(&read, "user_session")
        .expect("a value under a previous key is re-sent under the current one when read");
    assert_eq!(read.text().await.unwrap(), "123abc:0");
    assert_eq!(Format::detect(&reissued).unwrap().1, new.id());
    // Re-sending keeps the value's expiry: reading does not extend a session.
    let ring = Encrypt::new(KeyRing::from_keys(new.clone(), [old.clone()]).unwrap());
    let ctx = TransformContext::new("user_session", std::time::SystemTime::now());
    let before = ring.open(&ctx, &alice_old).unwrap();
    let after = ring.open(&ctx, &reissued).unwrap();
    assert_eq!(after.expires_at, before.expires_at);
    assert_eq!(after.payload, before.payload);
    // Under the current key, a read rewrites nothing.
    let again = alice.get(url("/user")).send().await.unwrap();
    assert!(set_cookie_token(&again, "user_session").is_none());
    let bumped = alice.get(url("/bump")).send().await.unwrap();
    let alice_new = set_cookie_token(&bumped, "user_session").unwrap();
    assert_eq!(Format::detect(&alice_new).unwrap().1, new.id());
    assert_eq!(bumped.text().await.unwrap(), "1");
    let carol = cookie_client();
    let carol_login = carol.get(url("/login")).send().await.unwrap();
    let carol_token = set_cookie_token(&carol_login, "user_session").unwrap();
    assert_eq!(Format::detect(&carol_token).unwrap().1, new.id());

    // Drop the old key: sessions written with it are gone, the new ones live on.
    *config.write().unwrap() = with_ring(KeyRing::new(new.clone()));
    let alice_after = alice.get(url("/user")).send().await.unwrap();
    assert_eq!(alice_after.text().await.unwrap(), "123abc:1");
    let carol_after = carol.get(url("/user")).send().await.unwrap();
    assert_eq!(carol_after.text().await.unwrap(), "123abc:0");
    let bob_after = bob.get(url("/user")).send().await.unwrap();
    let removal = set_cookie_token(&bob_after, "user_session");
    assert_eq!(bob_after.text().await.unwrap(), "none");
    assert_eq!(removal.as_deref(), Some(""), "the dead cookie is cleared");
    // And Alice's pre-rotation cookie, replayed by hand, is refused too.
    let replay = reqwest::Client::new()
        .get(url("/user"))
        .header("cookie", format!("user_session={alice_old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.text().await.unwrap(), "none");
}

/// A by-id session whose id is signed: after a rotation, reading it re-sends the same id
/// signed with the current key, so it survives when the previous key is dropped.
#[tokio::test]
async fn a_signed_id_is_re_signed_under_the_current_key() {
    let storage = typed_sessions::storage::MemoryStorage::new();
    let storage: std::sync::Arc<dyn typed_sessions::storage::SessionStorage> =
        std::sync::Arc::new(storage);
    let (old, new) = (master(), Key::generate());
    let app = |ring: KeyRing| {
        let layer = SessionsConfig::new()
            .cookie_with_storage::<UserSession, _>("user_session", storage.clone(), |c| {
                c.transform(Sign::new(ring))
            })
            .build()
            .unwrap();
        user_routes().layer(layer)
    };
    let login = get_path(&app(KeyRing::new(old.clone())), "/login", None).await;
    let old_cookie = login.cookie_pair("user_session").unwrap();
    let rotated = app(KeyRing::from_keys(new.clone(), [old.clone()]).unwrap());
    let read = get_path(&rotated, "/user", Some(&old_cookie)).await;
    assert_eq!(read.body, "123abc:0");
    let new_token = token(&read, "user_session");
    assert_eq!(Format::detect(&new_token).unwrap().1, new.id());
    let only_new = app(KeyRing::new(new.clone()));
    assert_eq!(
        get_path(
            &only_new,
            "/user",
            Some(&format!("user_session={new_token}"))
        )
        .await
        .body,
        "123abc:0"
    );
    assert_eq!(
        get_path(&only_new, "/user", Some(&old_cookie)).await.body,
        "none"
    );
}

#[tokio::test]
async fn a_too_large_encrypted_value_fails_at_set_and_sends_no_cookie() {
    let app = app_with(Encrypt::new(master()), None);
    let answer = get_path(&app, "/big", None).await;
    assert!(
        answer.body.starts_with("too large: "),
        "expected SessionError::TooLarge, got {}",
        answer.body
    );
    assert!(answer.body.ends_with("> 4096"), "{}", answer.body);
    assert!(
        answer.set_cookie("user_session").is_none(),
        "{:?}",
        answer.set_cookies()
    );
    // An existing session is left alone by the failed `set`.
    let pair = get_path(&app, "/login", None)
        .await
        .cookie_pair("user_session")
        .unwrap();
    let again = get_path(&app, "/big", Some(&pair)).await;
    assert!(again.body.starts_with("too large"));
    assert!(again.set_cookie("user_session").is_none());
    assert_eq!(get_path(&app, "/user", Some(&pair)).await.body, "123abc:0");
}

// ---- Ktor's vectors on the wire (ktor-sessions.md §3.4, §3.5, §5.3) ----

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TestUserSession {
    #[serde(rename = "userId")]
    user_id: String,
    cart: Vec<String>,
}

/// Ktor's `SessionTestJvm` routes: `/1` sets `TestUserSession("id 2", [])`, `/2` answers
/// `ok:<userId or null>`.
fn ktor_app(t: impl Transformer) -> Router {
    async fn one(sessions: Sessions) -> Result<&'static str, SessionError> {
        sessions.set(TestUserSession {
            user_id: "id 2".into(),
            cart: vec![],
        })?;
        Ok("ok")
    }
    async fn two(sessions: Sessions) -> Result<String, SessionError> {
        let s = sessions.get::<TestUserSession>().await?;
        Ok(format!("ok:{}", s.map_or("null".into(), |s| s.user_id)))
    }
    let layer = SessionsConfig::new()
        .cookie::<TestUserSession>("S", |c| c.ktor_defaults().transform(t))
        .build()
        .unwrap();
    Router::new()
        .route("/1", get(one))
        .route("/2", get(two))
        .layer(layer)
}

fn flip_last_hex_digit(value: &str) -> String {
    let mut s = value.to_owned();
    let last = s.pop().unwrap();
    s.push(if last == '0' { '1' } else { '0' });
    s
}

#[tokio::test]
async fn ktor_sign_writes_and_reads_ktors_cookie() {
    let app = ktor_app(KtorSign::from_hex_allowing_short_key("003515606058610610561058").unwrap());
    let expected = "%7B%22userId%22%3A%22id+2%22%2C%22cart%22%3A%5B%5D%7D%2F0adc94dc04d0122b8139e88250ab61bcc01980ed3898eb4e557e2a749e17ab16";
    let set = get_path(&app, "/1", None).await;
    assert_eq!(set.cookie_value("S").as_deref(), Some(expected));
    assert!(
        set.set_cookie("S")
            .unwrap()
            .ends_with("$x-enc=URI_ENCODING")
    );
    // commonSignedChecks: the encoded value; no cookie; last hex digit flipped; last char x.
    let ok = format!("S={expected}");
    assert_eq!(get_path(&app, "/2", Some(&ok)).await.body, "ok:id 2");
    assert_eq!(get_path(&app, "/2", None).await.body, "ok:null");
    let flipped = format!("S={}", flip_last_hex_digit(expected));
    assert_eq!(get_path(&app, "/2", Some(&flipped)).await.body, "ok:null");
    let x = format!("S={}x", &expected[..expected.len() - 1]);
    assert_eq!(get_path(&app, "/2", Some(&x)).await.body, "ok:null");
    let upper = format!("S={}", expected.replace("0adc94dc", "0ADC94DC"));
    assert_eq!(get_path(&app, "/2", Some(&upper)).await.body, "ok:null");
}

#[tokio::test]
async fn ktor_encrypt_reads_ktors_cookie_and_refuses_the_rejection_list() {
    let t = KtorEncrypt::from_hex_allowing_short_sign_key(
        "00112233445566778899aabbccddeeff",
        "02030405060708090a0b0c",
    )
    .unwrap();
    let app = ktor_app(t);
    // Ktor's cookie for TestUserSession("id2", []) with the IV forced, as sent on the wire.
    let wire = "00112233445566778899aabbccddeeff%2F9b8cf9900ff0f63849cb7a2ad71ed8a1ac9f0e2735492d2a5129cf278d70ab27%3A40af9f393a00034b53d2267251047259005bdf5ff104eede599149e80e6fee13";
    assert_eq!(
        get_path(&app, "/2", Some(&format!("S={wire}"))).await.body,
        "ok:id2"
    );
    for bad in [
        "INVALID".to_owned(),
        "abc%2Fabc%3Aabc".to_owned(),
        flip_last_hex_digit(wire),
        format!("{}x", &wire[..wire.len() - 1]),
    ] {
        let answer = get_path(&app, "/2", Some(&format!("S={bad}"))).await;
        assert_eq!(answer.body, "ok:null", "accepted {bad}");
    }
    // Our own writes round-trip, with a random IV each time.
    let first = get_path(&app, "/1", None).await;
    let second = get_path(&app, "/1", None).await;
    let (a, b) = (
        first.cookie_value("S").unwrap(),
        second.cookie_value("S").unwrap(),
    );
    assert_ne!(a[..32], b[..32]);
    assert_eq!(&a[32..35], "%2F");
    assert_eq!(
        get_path(&app, "/2", Some(&format!("S={a}"))).await.body,
        "ok:id 2"
    );
}

// ---- The Ktor documentation examples, over real HTTP ----

#[tokio::test]
async fn example_session_cookie_client() {
    // Ktor's documentation example's keys, so the cookie is the one Ktor's example writes.
    let addr = serve(session_cookie_client::app(ktor_example_encrypt())).await;
    let client = cookie_client();
    let url = |path: &str| format!("http://{addr}{path}");
    let login = client.get(url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 302);
    assert_eq!(login.headers()["location"], "/user");
    let set_cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("user_session="), "{set_cookie}");
    assert!(set_cookie.contains("Max-Age=10; Expires="), "{set_cookie}");
    assert!(
        set_cookie.contains("; Path=/; HttpOnly; $x-enc=URI_ENCODING"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    // Ktor's encrypted format: hex(iv)/hex(ct):hex(mac), URI-encoded.
    let value = set_cookie["user_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    let decoded = value.replace("%2F", "/").replace("%3A", ":");
    let t = ktor_example_encrypt();
    let ctx = typed_sessions::transform::TransformContext::new(
        "user_session",
        std::time::SystemTime::now(),
    );
    assert_eq!(
        t.read(&ctx, &decoded).unwrap().value,
        r#"{"id":"123abc","count":0}"#
    );

    for n in 0..4 {
        let user = client.get(url("/user")).send().await.unwrap();
        assert_eq!(
            user.text().await.unwrap(),
            format!("Session ID is 123abc. Reload count is {n}.")
        );
    }
    let logout = client.get(url("/logout")).send().await.unwrap();
    assert_eq!(logout.status(), 302);
    assert_eq!(logout.headers()["location"], "/user");
    let user = client.get(url("/user")).send().await.unwrap();
    assert_eq!(
        user.text().await.unwrap(),
        "Session doesn't exist or is expired."
    );
}

/// The sign key of Ktor's documentation examples (14 bytes, public: tests only).
pub fn ktor_example_sign() -> KtorSign {
    KtorSign::from_hex_allowing_short_key("6819b57a326945c1968f45236589").unwrap()
}

/// The keys of Ktor's documentation example `session-cookie-client` (public: tests only).
fn ktor_example_encrypt() -> KtorEncrypt {
    KtorEncrypt::from_hex_allowing_short_sign_key(
        "00112233445566778899aabbccddeeff",
        "6819b57a326945c1968f45236589",
    )
    .unwrap()
}

#[tokio::test]
async fn example_session_cookie_server() {
    let addr = serve(session_cookie_server::app(ktor_example_sign())).await;
    let client = cookie_client();
    let url = |path: &str| format!("http://{addr}{path}");
    assert_eq!(
        client
            .get(url("/cart"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Your basket is empty."
    );
    let login = client.get(url("/login")).send().await.unwrap();
    assert_eq!(login.status(), 302);
    assert_eq!(login.headers()["location"], "/cart");
    // A 64-hex session id signed the Ktor way: `<id>/<hmac>`, the `/` encoded.
    let cookie = set_cookie_token(&login, "cart_session").unwrap();
    let (id, mac) = cookie.split_once("%2F").unwrap();
    assert_eq!(id.len(), 64);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let ctx = typed_sessions::transform::TransformContext::new(
        "cart_session",
        std::time::SystemTime::now(),
    );
    assert_eq!(
        ktor_example_sign().write(&ctx, id).unwrap(),
        format!("{id}/{mac}")
    );

    let cart = client.get(url("/cart")).send().await.unwrap();
    assert_eq!(cart.text().await.unwrap(), "Product IDs: [1, 3, 7]");
    let logout = client.get(url("/logout")).send().await.unwrap();
    assert_eq!(logout.status(), 302);
    assert_eq!(logout.headers()["location"], "/cart");
    assert_eq!(
        client
            .get(url("/cart"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Your basket is empty."
    );
    // The old signed id, replayed after logout, finds nothing: the record is gone.
    let replay = reqwest::Client::new()
        .get(url("/cart"))
        .header("cookie", format!("cart_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.text().await.unwrap(), "Your basket is empty.");
}
