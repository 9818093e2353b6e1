//! `inspect`, on values the library writes: the modern formats, Ktor's, plain; wrong keys,
//! truncated values, a wrong session name, expiry, keys from the environment and a config
//! file. No run prints key material.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use typed_sessions::serializer::ktor_legacy;
use typed_sessions::transform::{
    Encrypt, Key, KeyRing, KtorEncrypt, KtorSign, Sign, SignAlgorithm, TransformContext,
    Transformer,
};
use typed_sessions::{CookieEncoding, SessionId};

use super::{Run, run, run_with};

const NAME: &str = "user_session";
const PAYLOAD: &str = r#"{"id":"123abc","count":7}"#;
/// The keys of Ktor's documentation example `session-cookie-client`.
const KTOR_ENCRYPT_KEY: &str = "00112233445566778899aabbccddeeff";
const KTOR_SIGN_KEY: &str = "6819b57a326945c1968f45236589";

/// A key and its text forms.
struct TestKey {
    key: Key,
    hex: String,
    b64: String,
}

fn new_key() -> TestKey {
    // 32 bytes from the OS CSPRNG.
    let bytes = hex::decode(SessionId::generate().as_str()).unwrap();
    TestKey {
        key: Key::from_bytes(&bytes).unwrap(),
        hex: hex::encode(&bytes),
        b64: base64::engine::general_purpose::STANDARD.encode(&bytes),
    }
}

/// A context for `NAME` that expires `ttl` from now.
fn ctx(now: SystemTime, ttl: Duration) -> TransformContext<'static> {
    TransformContext::new(NAME, now).with_expiry(Some(now + ttl))
}

/// Asserts that nothing the run printed holds a key.
#[track_caller]
fn no_key_material(r: &Run, keys: &[&TestKey]) {
    let all = r.all();
    for key in keys {
        assert!(!all.contains(&key.hex), "a key in hex was printed: {r:#?}");
        assert!(
            !all.contains(&key.b64),
            "a key in base64 was printed: {r:#?}"
        );
    }
    for raw in [KTOR_ENCRYPT_KEY, KTOR_SIGN_KEY] {
        assert!(!all.contains(raw), "a Ktor key was printed: {r:#?}");
    }
}

#[test]
fn an_encrypted_value_verifies_and_shows_its_payload() {
    let k = new_key();
    let now = SystemTime::now();
    let value = Encrypt::new(k.key.clone())
        .write(&ctx(now, Duration::from_secs(3600)), PAYLOAD)
        .unwrap();
    let r = run(&["inspect", "--key", &k.hex, "--name", NAME, &value]).expect(0);
    assert!(r.has_line("format: encrypt/aes256gcm"), "{r:#?}");
    assert!(
        r.has_line(&format!(
            "key id: {} (the current key, --key #1)",
            k.key.id()
        )),
        "{r:#?}"
    );
    assert!(r.has_line("verifies: yes"), "{r:#?}");
    assert!(r.has_line("expired: no"), "{r:#?}");
    let expires = r.field("expires").unwrap();
    // An hour ahead, rounded down to the second, minus the time the run took.
    assert!(expires.contains("(in 59m "), "{expires}");
    assert!(r.has_line("payload: JSON, 25 bytes"), "{r:#?}");
    assert!(
        r.stdout
            .contains("{\n  \"id\": \"123abc\",\n  \"count\": 7\n}"),
        "pretty JSON in the value's own key order: {r:#?}"
    );
    assert!(r.stderr.is_empty(), "{r:#?}");
    no_key_material(&r, &[&k]);
}

#[test]
fn a_signed_value_with_a_ring_from_the_environment_names_the_previous_key() {
    let (new, old) = (new_key(), new_key());
    let now = SystemTime::now();
    let value = Sign::with_algorithm(old.key.clone(), SignAlgorithm::HmacSha512)
        .write(&ctx(now, Duration::from_secs(600)), PAYLOAD)
        .unwrap();
    let ring = format!("{},base64:{}", new.hex, old.b64);
    let r = run_with(
        &["inspect", "--name", NAME, &value],
        &[("TYPED_SESSIONS_KEY", &ring)],
        None,
    )
    .expect(0);
    assert!(r.has_line("format: sign/hmac-sha512"), "{r:#?}");
    assert!(
        r.has_line(&format!(
            "key id: {} (a previous key, --key #2)",
            old.key.id()
        )),
        "{r:#?}"
    );
    assert!(r.has_line("verifies: yes"), "{r:#?}");
    no_key_material(&r, &[&new, &old]);
}

#[test]
fn a_value_from_standard_input_and_a_cookie_header_pair() {
    let k = new_key();
    let value = Sign::new(k.key.clone())
        .write(&ctx(SystemTime::now(), Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    let piped = run_with(
        &["inspect", "--key", &k.hex, "--name", NAME, "-"],
        &[],
        Some(&format!("{NAME}={value}\n")),
    )
    .expect(0);
    assert!(piped.has_line("verifies: yes"), "{piped:#?}");
}

#[test]
fn a_wrong_key_is_named_by_id_and_refused() {
    let (right, wrong) = (new_key(), new_key());
    let value = Encrypt::new(right.key.clone())
        .write(&ctx(SystemTime::now(), Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    let r = run(&["inspect", "--key", &wrong.hex, "--name", NAME, &value]).expect_error(
        1,
        &format!(
            "the value was protected with key {}, which is not among the keys given ({})",
            right.key.id(),
            wrong.key.id()
        ),
    );
    assert!(
        r.has_line(&format!("key id: {} (not in the key ring)", right.key.id())),
        "{r:#?}"
    );
    assert!(r.has_line("verifies: no"), "{r:#?}");
    assert!(
        !r.stdout.contains("123abc"),
        "no payload without verification: {r:#?}"
    );
    no_key_material(&r, &[&right, &wrong]);
}

#[test]
fn a_wrong_session_name_does_not_verify() {
    let k = new_key();
    let now = SystemTime::now();
    let signed = Sign::new(k.key.clone())
        .write(&ctx(now, Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    let r = run(&[
        "inspect",
        "--key",
        &k.hex,
        "--name",
        "admin_session",
        &signed,
    ])
    .expect_error(
        1,
        &format!("signature does not verify with key {}", k.key.id()),
    );
    assert!(r.stderr.contains("\"admin_session\""), "{r:#?}");
    assert!(r.has_line("verifies: no"), "{r:#?}");
    let sealed = Encrypt::new(k.key.clone())
        .write(&ctx(now, Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    run(&[
        "inspect",
        "--key",
        &k.hex,
        "--name",
        "admin_session",
        &sealed,
    ])
    .expect_error(1, &format!("decryption fails with key {}", k.key.id()));
}

#[test]
fn truncated_values_are_explained() {
    let k = new_key();
    let value = Encrypt::new(k.key.clone())
        .write(&ctx(SystemTime::now(), Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    // A length of 4n+1 cannot be base64url.
    let cut = (1..4)
        .map(|n| &value[..value.len() - n])
        .find(|v| v.len() % 4 == 1)
        .unwrap();
    let r = run(&["inspect", "--key", &k.hex, "--name", NAME, cut])
        .expect_error(1, "the value is truncated or not base64url");
    assert!(r.has_line("verifies: no") || r.stdout.is_empty(), "{r:#?}");
    // Shorter than a header.
    run(&[
        "inspect",
        "--format",
        "encrypt",
        "--key",
        &k.hex,
        "--name",
        NAME,
        &value[..12],
    ])
    .expect_error(
        1,
        "the value is truncated: 9 bytes, shorter than the 13-byte header",
    );
    // A whole header, but shorter than nonce and tag.
    run(&["inspect", "--key", &k.hex, "--name", NAME, &value[..24]]).expect_error(
        1,
        "the value is truncated: 18 bytes, and encrypt/aes256gcm needs at least 41",
    );
    // Ktor's signed form, its MAC cut short.
    let ktor = KtorSign::from_hex_allowing_short_key(KTOR_SIGN_KEY)
        .unwrap()
        .write(&ctx(SystemTime::now(), Duration::ZERO), PAYLOAD)
        .unwrap();
    let ktor = CookieEncoding::Uri.encode(&ktor).into_owned();
    run(&[
        "inspect",
        "--ktor-sign-key",
        KTOR_SIGN_KEY,
        &ktor[..ktor.len() - 2],
    ])
    .expect_error(1, "the MAC is 62 hex digits, and HmacSHA256 makes 64");
}

#[test]
fn an_expired_value_shows_its_payload_and_is_refused() {
    let k = new_key();
    let then = SystemTime::now() - Duration::from_secs(7200);
    let value = Sign::new(k.key.clone())
        .write(&ctx(then, Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    let r = run(&["inspect", "--key", &k.hex, "--name", NAME, &value])
        .expect_error(1, "the value expired at");
    assert!(r.has_line("verifies: yes"), "{r:#?}");
    assert!(r.has_line("expired: yes"), "{r:#?}");
    assert!(r.field("expires").unwrap().ends_with("ago)"), "{r:#?}");
    assert!(r.stdout.contains("\"123abc\""), "{r:#?}");
}

#[test]
fn a_value_without_expiry_says_so() {
    let k = new_key();
    let value = Sign::new(k.key.clone())
        .write(&TransformContext::new(NAME, SystemTime::now()), "hello")
        .unwrap();
    let r = run(&["inspect", "--key", &k.b64, "--name", NAME, &value]).expect(0);
    assert!(r.field("expires").unwrap().starts_with("never"), "{r:#?}");
    assert!(r.has_line("payload: text, 5 bytes (not JSON)"), "{r:#?}");
    assert!(r.has_line("hello"), "{r:#?}");
}

#[test]
fn missing_keys_names_and_mismatched_formats_are_usage_errors() {
    let k = new_key();
    let value = Encrypt::new(k.key.clone())
        .write(&ctx(SystemTime::now(), Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    let run1 = run(&["inspect", "--name", NAME, &value]).expect_error(2, "no key given");
    assert!(
        run1.has_line(&format!("key id: {} (no key given)", k.key.id())),
        "the key id is readable without a key: {run1:#?}"
    );
    run(&["inspect", "--key", &k.hex, &value]).expect_error(2, "pass --name");
    run(&[
        "inspect", "--format", "sign", "--key", &k.hex, "--name", NAME, &value,
    ])
    .expect_error(2, "not signed: use --format encrypt or auto");
    let short = run(&["inspect", "--key", "00112233", "--name", NAME, &value])
        .expect_error(2, "--key #1: the key is 4 bytes long");
    assert!(!short.stderr.contains("00112233"), "{short:#?}");
}

#[test]
fn a_config_file_gives_the_settings_and_the_command_line_wins() {
    let k = new_key();
    let dir = tempfile::tempdir().unwrap();
    let value = Encrypt::new(KeyRing::new(k.key.clone()))
        .write(&ctx(SystemTime::now(), Duration::from_secs(60)), PAYLOAD)
        .unwrap();
    let config = dir.path().join("session.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"{NAME}\"\nformat = \"encrypt\"\nencoding = \"raw\"\nkeys = [\"{}\"]\n",
            k.hex
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let path = config.to_str().unwrap();
    let ok = run(&["inspect", "--config", path, &value]).expect(0);
    assert!(ok.has_line("verifies: yes"), "{ok:#?}");
    assert!(
        ok.stderr.is_empty(),
        "no permission warning for 0600: {ok:#?}"
    );
    no_key_material(&ok, &[&k]);
    run(&["inspect", "--config", path, "--name", "other", &value])
        .expect_error(1, "another session name than \"other\"");

    // A typo is an error with its line number, and the line (a key) is not quoted.
    std::fs::write(
        &config,
        format!("name = \"{NAME}\"\nkeyz = [\"{}\"]\n", k.hex),
    )
    .unwrap();
    let typo = run(&["inspect", "--config", path, &value]).expect_error(2, "line 2");
    assert!(typo.stderr.contains("keyz"), "{typo:#?}");
    no_key_material(&typo, &[&k]);
    std::fs::write(&config, format!("keys = [\"{}\n", k.hex)).unwrap();
    let broken = run(&["inspect", "--config", path, &value]).expect_error(2, "line 1");
    no_key_material(&broken, &[&k]);
    run(&["inspect", "--config", "/nonexistent/session.toml", &value])
        .expect_error(2, "cannot read the config file");
}

#[test]
fn ktor_signed_values_with_a_legacy_payload() {
    let legacy = ktor_legacy::to_string(&serde_json::json!({"userId": "u1", "count": 3})).unwrap();
    let sign = KtorSign::from_hex_allowing_short_key(KTOR_SIGN_KEY).unwrap();
    let value = sign
        .write(&TransformContext::new(NAME, SystemTime::now()), &legacy)
        .unwrap();
    let cookie = CookieEncoding::Uri.encode(&value).into_owned();
    let r = run(&[
        "inspect",
        "--ktor-sign-key",
        KTOR_SIGN_KEY,
        "--serializer",
        "ktor-legacy",
        &cookie,
    ])
    .expect(0);
    assert!(r.has_line("format: ktor-sign (HmacSHA256)"), "{r:#?}");
    assert!(r.has_line("verifies: yes"), "{r:#?}");
    assert!(
        r.field("payload")
            .unwrap()
            .starts_with("Ktor legacy format"),
        "{r:#?}"
    );
    assert!(r.stdout.contains("\"userId\": \"u1\""), "{r:#?}");
    no_key_material(&r, &[]);

    let wrong = run_with(
        &["inspect", &cookie],
        &[("TYPED_SESSIONS_KTOR_SIGN_KEY", "00ff00ff")],
        None,
    );
    wrong.expect_error(
        1,
        "signature does not verify with the --ktor-sign-key given (HmacSHA256)",
    );
}

#[test]
fn ktor_encrypted_values() {
    let encrypt =
        KtorEncrypt::from_hex_allowing_short_sign_key(KTOR_ENCRYPT_KEY, KTOR_SIGN_KEY).unwrap();
    let value = encrypt
        .write(&TransformContext::new(NAME, SystemTime::now()), PAYLOAD)
        .unwrap();
    let keys = [
        "--ktor-encrypt-key",
        KTOR_ENCRYPT_KEY,
        "--ktor-sign-key",
        KTOR_SIGN_KEY,
    ];
    let ok = run(&[&["inspect"][..], &keys, &[value.as_str()]].concat()).expect(0);
    assert!(
        ok.has_line("format: ktor-encrypt (AES-128-CBC, HmacSHA256)"),
        "{ok:#?}"
    );
    assert!(ok.has_line("verifies: yes"), "{ok:#?}");
    assert!(ok.stdout.contains("\"count\": 7"), "{ok:#?}");
    no_key_material(&ok, &[]);
    // The right sign key with another AES key: the MAC verifies, decryption does not.
    let other_aes = [
        "--ktor-encrypt-key",
        "ffeeddccbbaa99887766554433221100",
        "--ktor-sign-key",
        KTOR_SIGN_KEY,
    ];
    run(&[&["inspect"][..], &other_aes, &[value.as_str()]].concat()).expect_error(
        1,
        "the --ktor-encrypt-key is not the key that encrypted the value",
    );
    run(&["inspect", "--ktor-sign-key", KTOR_SIGN_KEY, &value]).expect_error(2, "needs two keys");
}

#[test]
fn plain_values_and_session_ids() {
    let run1 = run(&["inspect", &CookieEncoding::Uri.encode(PAYLOAD)]).expect(0);
    assert!(
        run1.has_line("format: plain (not signed or encrypted)"),
        "{run1:#?}"
    );
    assert!(run1.stdout.contains("\"id\": \"123abc\""), "{run1:#?}");
    let id = SessionId::generate();
    let run2 = run(&["inspect", "--format", "plain", id.as_str()]).expect(0);
    assert_eq!(
        run2.field("payload").unwrap(),
        "a session id (a by-id session; its data is in the storage), 64 characters; --show-id prints it",
        "{run2:#?}"
    );
    assert!(
        !run2.all().contains(id.as_str()),
        "a whole session id was printed: {run2:#?}"
    );
    run(&["inspect", "%zz"]).expect_error(1, "not URI-encoded");
    let b64 = base64::engine::general_purpose::STANDARD.encode(PAYLOAD);
    let run3 = run(&["inspect", "--encoding", "base64", &b64]).expect(0);
    assert!(run3.stdout.contains("\"count\": 7"), "{run3:#?}");
    run(&["inspect", "--encoding", "base64", "not base64!"]).expect_error(1, "not base64");
}

#[test]
fn a_signed_session_id_is_shown_only_on_request() {
    let k = new_key();
    let id = SessionId::generate();
    let value = Sign::new(k.key.clone())
        .write(
            &TransformContext::new("cart", SystemTime::now()),
            id.as_str(),
        )
        .unwrap();
    let args = ["inspect", "--key", &k.hex, "--name", "cart", &value];
    let hidden = run(&args).expect(0);
    assert!(
        hidden.has_line(
            "payload: a session id (a by-id session; its data is in the storage), 64 characters; --show-id prints it"
        ),
        "{hidden:#?}"
    );
    assert!(!hidden.all().contains(id.as_str()), "{hidden:#?}");
    let shown = run(&[&args[..], &["--show-id"]].concat()).expect(0);
    assert!(shown.has_line(id.as_str()), "{shown:#?}");
}
