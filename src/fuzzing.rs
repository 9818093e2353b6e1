//! Fuzz target bodies, shared by the cargo-fuzz crate (`fuzz/`) and the corpus replay test that
//! runs on stable Rust in the normal test command. Not part of the public API.
//!
//! Each function takes arbitrary bytes, feeds them to a decoder that reads client input, and
//! checks the decoder's invariants: it never panics, and what it accepts round-trips.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, Request, Response, header::COOKIE};

use crate::serializer::{Json, KtorLegacy, SessionSerializer};
use crate::storage::MemoryStorage;
use crate::transport::CookieEncoding;
use crate::transport::incoming::{Source, collect};
use crate::{SessionId, Sessions, SessionsConfig, SessionsLayer};

/// A session type with the shapes that matter: strings, numbers, nesting, options, maps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FuzzSession {
    /// A string.
    pub name: String,
    /// A number.
    pub count: u64,
    /// A list.
    pub items: Vec<String>,
    /// An option.
    pub note: Option<String>,
    /// A map.
    pub tags: std::collections::BTreeMap<String, i32>,
}

/// The `Cookie` header scan: any bytes, any number of headers, never a panic; every value it
/// returns lies inside one of the headers.
pub fn cookie_header(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for chunk in data.split(|&b| b == b'\n').take(8) {
        if let Ok(value) = HeaderValue::from_bytes(chunk) {
            headers.append(COOKIE, value);
        }
    }
    let sources = [
        Source::Cookie(b"s"[..].into()),
        Source::Cookie(b"user_session"[..].into()),
        Source::Header(http::HeaderName::from_static("x-s")),
    ];
    collect(&headers, &sources, |index, incoming| {
        assert!(index < sources.len());
        if let Some(text) = incoming.text(usize::MAX) {
            let needle = text.as_bytes();
            let inside = headers.get_all(COOKIE).iter().any(|h| {
                needle.is_empty() || h.as_bytes().windows(needle.len()).any(|w| w == needle)
            });
            assert!(inside, "a value that is not in any Cookie header");
            assert!(!text.contains(';'), "a value that spans two cookies");
        }
    });
}

/// Cookie value decoding in every encoding: never a panic; a decoded value re-encodes to
/// something that decodes to the same value.
pub fn cookie_value(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for encoding in [
        CookieEncoding::Uri,
        CookieEncoding::Base64,
        CookieEncoding::DoubleQuotes,
        CookieEncoding::Raw,
    ] {
        if let Some(decoded) = encoding.decode(text)
            && encoding.can_encode(&decoded)
        {
            let again = encoding.encode(&decoded);
            assert_eq!(
                encoding.decode(&again).as_deref(),
                Some(&*decoded),
                "{encoding:?}"
            );
        }
        // Encoding arbitrary text is lossless.
        if encoding.can_encode(text) {
            let encoded = encoding.encode(text);
            assert_eq!(
                encoding.decode(&encoded).as_deref(),
                Some(text),
                "{encoding:?}"
            );
        }
    }
}

/// Session id validation: never a panic; what it accepts is safe for every storage.
pub fn session_id(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for id in [SessionId::parse(text), SessionId::parse_custom(text)]
        .into_iter()
        .flatten()
    {
        let s = id.as_str();
        assert!(!s.is_empty() && s.len() <= 128);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        );
        assert_eq!(
            crate::id::Namespace::new("s").key(&id).storage_key().len(),
            64
        );
    }
}

/// The JSON deserializer: never a panic; what it accepts serializes and reads back equal.
pub fn json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed: Result<FuzzSession, _> = Json.deserialize(text);
    if let Ok(value) = parsed {
        let again = Json.serialize(&value).unwrap_or_default();
        let back: Result<FuzzSession, _> = Json.deserialize(&again);
        assert_eq!(back.ok(), Some(value));
    }
}

/// Ktor's legacy `#`-format reader: never a panic; what it accepts re-encodes into something
/// it reads back, equal unless the value holds one of the sequences Ktor's format cannot
/// escape (`&#` in a list item or a map key, `=#` in a map key).
pub fn ktor_legacy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed: Result<FuzzSession, _> = KtorLegacy.deserialize(text);
    let Ok(value) = parsed else {
        return;
    };
    let Ok(again) = KtorLegacy.serialize(&value) else {
        return;
    };
    let back: Result<FuzzSession, _> = KtorLegacy.deserialize(&again);
    let ambiguous =
        value.items.iter().any(|i| i.contains("&#")) || value.tags.keys().any(|k| k.contains("=#"));
    if !ambiguous {
        assert_eq!(back.ok(), Some(value));
    }
}

/// The keys and transformers the transformer targets read with (fixed, so seeds stay valid).
struct Transformers {
    sign: crate::transform::Sign,
    encrypt: crate::transform::Encrypt,
    xchacha: crate::transform::Encrypt,
    ktor_sign: crate::transform::KtorSign,
    ktor_encrypt: crate::transform::KtorEncrypt,
    ktor_encrypt_legacy: crate::transform::KtorEncrypt,
}

static TRANSFORMERS: LazyLock<Option<Transformers>> = LazyLock::new(|| {
    use crate::transform::{Encrypt, EncryptAlgorithm, Key, KeyRing, KtorEncrypt, KtorSign, Sign};
    let current =
        Key::from_hex("5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7").ok()?;
    let previous =
        Key::from_hex("7a9c0e5b3d1f8264a0c2e4f6981b3d5f7092b4d6f8a1c3e5072b4d6f8a9c1e3f").ok()?;
    let ring = KeyRing::from_keys(current, [previous]).ok()?;
    Some(Transformers {
        sign: Sign::new(ring.clone()),
        encrypt: Encrypt::new(ring.clone()),
        xchacha: Encrypt::with_algorithm(ring, EncryptAlgorithm::XChaCha20Poly1305),
        ktor_sign: KtorSign::from_hex("6819b57a326945c1968f45236589").ok()?,
        ktor_encrypt: KtorEncrypt::from_hex(
            "00112233445566778899aabbccddeeff",
            "6819b57a326945c1968f45236589",
        )
        .ok()?,
        ktor_encrypt_legacy: KtorEncrypt::from_hex(
            "00112233445566778899aabbccddeeff",
            "02030405060708090a0b0c",
        )
        .ok()?
        .backward_compatible_read(true),
    })
});

/// Reads `data` with `transformer` under two session names and two times: never a panic; an
/// accepted value is written again and reads back the same.
fn transformer_read(data: &[u8], transformer: &dyn crate::transform::Transformer) {
    use crate::transform::TransformContext;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let epoch = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for (name, now) in [
        ("s", epoch),
        ("user_session", epoch + Duration::from_secs(86_400)),
    ] {
        let ctx = TransformContext::new(name, now);
        if let Ok(read) = transformer.read_detail(&ctx, text) {
            let ctx = ctx.with_expiry(read.expires_at);
            if let Ok(written) = transformer.write(&ctx, &read.value) {
                let again = transformer.read(&ctx, &written).ok();
                assert_eq!(again.as_deref(), Some(read.value.as_str()));
            }
        }
    }
}

/// The modern signed format's reader (`Sign`).
pub fn sign(data: &[u8]) {
    if let Some(t) = TRANSFORMERS.as_ref() {
        transformer_read(data, &t.sign);
    }
}

/// The modern encrypted format's reader (`Encrypt`, both AEADs).
pub fn encrypt(data: &[u8]) {
    if let Some(t) = TRANSFORMERS.as_ref() {
        transformer_read(data, &t.encrypt);
        transformer_read(data, &t.xchacha);
    }
}

/// Ktor's `payload/hexmac` reader (`KtorSign`).
pub fn ktor_sign(data: &[u8]) {
    if let Some(t) = TRANSFORMERS.as_ref() {
        transformer_read(data, &t.ktor_sign);
    }
}

/// Ktor's `iv/ciphertext:mac` reader (`KtorEncrypt`), with and without the backward-compatible
/// read of the pre-3.0 form.
pub fn ktor_encrypt(data: &[u8]) {
    if let Some(t) = TRANSFORMERS.as_ref() {
        transformer_read(data, &t.ktor_encrypt);
        transformer_read(data, &t.ktor_encrypt_legacy);
    }
}

struct RequestHarness {
    runtime: tokio::runtime::Runtime,
    layer: SessionsLayer,
}

static HARNESS: LazyLock<Option<RequestHarness>> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let clock = crate::clock::ManualClock::new();
    clock.set(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let layer = SessionsConfig::new()
        .clock(clock)
        .cookie::<FuzzSession>("s", |c| c)
        .cookie_with_storage::<String, _>("user_session", MemoryStorage::new(), |c| c)
        .header::<u64>("x-s", |h| h)
        .build()
        .ok()?;
    Some(RequestHarness { runtime, layer })
});

/// A whole request through the layer: the first line is the `Cookie` header, the second the
/// `x-s` header, the third selects what the handler does. Never a panic, never a 5xx.
pub fn request(data: &[u8]) {
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let Some(harness) = HARNESS.as_ref() else {
        return;
    };
    let mut lines = data.splitn(3, |&b| b == b'\n');
    let cookie = lines.next().unwrap_or_default();
    let header = lines.next().unwrap_or_default();
    let action = lines.next().and_then(|a| a.first().copied()).unwrap_or(0);
    let mut request = Request::new(());
    if let Ok(value) = HeaderValue::from_bytes(cookie) {
        request.headers_mut().insert(COOKIE, value);
    }
    if let Ok(value) = HeaderValue::from_bytes(header) {
        request.headers_mut().insert("x-s", value);
    }
    let handler = Handler { action };
    let mut service = harness.layer.layer(handler);
    let Ok(response) = harness.runtime.block_on(service.call(request));
    assert!(
        !response.status().is_server_error(),
        "{}",
        response.status()
    );
}

/// The handler behind the layer in [`request`]: reads every session, then changes some.
#[derive(Clone, Copy)]
struct Handler {
    action: u8,
}

impl tower_service::Service<Request<()>> for Handler {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let action = self.action;
        Box::pin(async move {
            let Ok(sessions) = Sessions::from_extensions(request.extensions()) else {
                return Ok(Response::new(String::from("no layer")));
            };
            let value = sessions.get::<FuzzSession>().await;
            let _ = sessions.get::<String>().await;
            let _ = sessions.get::<u64>().await;
            match action % 4 {
                1 => {
                    if let Ok(Some(mut v)) = value {
                        v.count = v.count.wrapping_add(1);
                        let _ = sessions.set(v);
                    }
                }
                2 => {
                    let _ = sessions.clear::<FuzzSession>();
                    let _ = sessions.set(String::from("by id"));
                }
                3 => {
                    let _ = sessions.set(u64::from(action));
                }
                _ => {}
            }
            Ok(Response::new(String::from("ok")))
        })
    }
}

/// The token keys and secret of [`csrf_token`] (fixed, so seeds stay valid).
static CSRF: LazyLock<Option<(crate::csrf::token::TokenKeys, crate::csrf::CsrfSecret)>> =
    LazyLock::new(|| {
        let key = crate::transform::Key::from_hex(
            "5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
        )
        .ok()?;
        let keys = crate::csrf::token::TokenKeys::new(&crate::transform::KeyRing::new(key));
        let secret = crate::csrf::CsrfSecret::from_bytes([7; crate::csrf::SECRET_LEN]);
        Some((keys, secret))
    });

/// The CSRF token reader, on the input as a token and on the `csrf_token` field of the input
/// as a URL-encoded form: never a panic; a token
/// that unmasks is masked again into another string that unmasks the same; verification
/// (with and without a session id) never panics and accepts only the fixed secret's token.
pub fn csrf_token(data: &[u8]) {
    use crate::csrf::token::{mask_bytes, unmasked_bytes};
    let Some((keys, secret)) = CSRF.as_ref() else {
        return;
    };
    let field = crate::csrf::form_field(data, "csrf_token");
    let whole = std::str::from_utf8(data).ok();
    let id = SessionId::parse_custom("fuzz-session");
    for candidate in whole.into_iter().chain(field.as_deref()) {
        if let Some(bytes) = unmasked_bytes(candidate) {
            assert_eq!(candidate.len(), crate::csrf::TOKEN_LEN);
            let again = mask_bytes(bytes);
            assert_ne!(again, candidate, "a fresh pad masks differently");
            assert_eq!(unmasked_bytes(&again), Some(bytes));
        }
        let anonymous = keys.verify(candidate, secret, None);
        let bound = keys.verify(candidate, secret, id.as_ref());
        assert!(
            anonymous.is_err() || bound.is_err(),
            "one token verified for two sessions"
        );
        if anonymous.is_ok() {
            let expected = unmasked_bytes(&keys.issue(secret, None));
            assert_eq!(unmasked_bytes(candidate), expected);
        }
    }
}

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// The names of the targets, for the corpus replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("cookie_header", cookie_header),
    ("cookie_value", cookie_value),
    ("session_id", session_id),
    ("json", json),
    ("ktor_legacy", ktor_legacy),
    ("sign", sign),
    ("encrypt", encrypt),
    ("ktor_sign", ktor_sign),
    ("ktor_encrypt", ktor_encrypt),
    ("request", request),
    ("csrf_token", csrf_token),
];
