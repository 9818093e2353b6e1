//! The transformers' readers, with fixed keys.

use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use crate::transform::{
    Encrypt, EncryptAlgorithm, Key, KeyRing, KtorEncrypt, KtorSign, KtorUnkeyedDigest, Migrate,
    Sign, TransformContext, Transformer,
};

/// The keys and transformers the transformer targets read with (fixed, so seeds stay valid).
struct Transformers {
    sign: Sign,
    encrypt: Encrypt,
    xchacha: Encrypt,
    ktor_sign: KtorSign,
    ktor_encrypt: KtorEncrypt,
    ktor_encrypt_legacy: KtorEncrypt,
    ktor_digest: KtorUnkeyedDigest,
    ktor_digest_sha256: KtorUnkeyedDigest,
    digest_to_sign: Migrate<KtorUnkeyedDigest, Sign>,
}

static TRANSFORMERS: LazyLock<Option<Transformers>> = LazyLock::new(|| {
    let current =
        Key::from_hex("5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7").ok()?;
    let previous =
        Key::from_hex("7a9c0e5b3d1f8264a0c2e4f6981b3d5f7092b4d6f8a1c3e5072b4d6f8a9c1e3f").ok()?;
    let ring = KeyRing::from_keys(current, [previous]).ok()?;
    Some(Transformers {
        ktor_digest: KtorUnkeyedDigest::new(),
        ktor_digest_sha256: KtorUnkeyedDigest::new().with_algorithm("SHA-256").ok()?,
        digest_to_sign: Migrate::new(KtorUnkeyedDigest::new(), Sign::new(ring.clone())),
        sign: Sign::new(ring.clone()),
        encrypt: Encrypt::new(ring.clone()),
        xchacha: Encrypt::with_algorithm(ring, EncryptAlgorithm::XChaCha20Poly1305),
        ktor_sign: KtorSign::from_hex_allowing_short_key("6819b57a326945c1968f45236589").ok()?,
        ktor_encrypt: KtorEncrypt::from_hex_allowing_short_sign_key(
            "00112233445566778899aabbccddeeff",
            "6819b57a326945c1968f45236589",
        )
        .ok()?,
        ktor_encrypt_legacy: KtorEncrypt::from_hex_allowing_short_sign_key(
            "00112233445566778899aabbccddeeff",
            "02030405060708090a0b0c",
        )
        .ok()?
        .backward_compatible_read(true),
    })
});

/// Reads `data` with `transformer` under two session names and two times: never a panic; an
/// accepted value is written again and reads back the same.
fn transformer_read(data: &[u8], transformer: &dyn Transformer) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let epoch = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for (name, now) in [
        ("s", epoch),
        ("user_session", epoch + Duration::from_secs(86_400)),
    ] {
        let ctx = TransformContext::new(name, now);
        if let Ok(read) = transformer.read(&ctx, text) {
            let ctx = ctx.with_expiry(read.expires_at);
            if let Ok(written) = transformer.write(&ctx, &read.value) {
                let again = transformer.read(&ctx, &written).ok().map(|a| a.value);
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

/// Ktor 1.x's unkeyed `payload/hex(digest)` reader (`KtorUnkeyedDigest`, SHA-384 and SHA-256)
/// and the migration from it to `Sign`: never a panic; the format is canonical (an accepted
/// value is its payload, everything before the last `/`, and is written back byte for byte);
/// the migration reads an accepted SHA-384 value as stale, and what it writes as current.
pub fn ktor_digest(data: &[u8]) {
    let Some(t) = TRANSFORMERS.as_ref() else {
        return;
    };
    transformer_read(data, &t.ktor_digest);
    transformer_read(data, &t.ktor_digest_sha256);
    transformer_read(data, &t.digest_to_sign);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = TransformContext::new("s", UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    for digest in [&t.ktor_digest, &t.ktor_digest_sha256] {
        if let Ok(payload) = digest.read(&ctx, text).map(|r| r.value) {
            let before_last_slash = text.rsplit_once('/').map(|(payload, _)| payload);
            assert_eq!(before_last_slash, Some(payload.as_str()));
            assert_eq!(digest.write(&ctx, &payload).ok().as_deref(), Some(text));
        }
    }
    if let Ok(payload) = t.ktor_digest.read(&ctx, text).map(|r| r.value) {
        let migrated = t.digest_to_sign.read(&ctx, text).ok();
        assert!(migrated.as_ref().is_some_and(|m| m.stale_key));
        assert_eq!(migrated.map(|m| m.value), Some(payload.clone()));
        if let Ok(signed) = t.digest_to_sign.write(&ctx, &payload) {
            let again = t.digest_to_sign.read(&ctx, &signed).ok();
            assert!(again.is_some_and(|a| !a.stale_key && a.value == payload));
        }
    }
}
