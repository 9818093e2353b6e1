//! Protect-then-check cost of every transformer, next to the `cookie` crate's signed and
//! private jars, for 64 B, 512 B and 2 KiB payloads.
//!
//! One iteration = write (sign or encrypt) one value, then read (verify or decrypt) it back,
//! which is what one request that sets a by-value session and the next one that reads it pay.
//!
//! ```text
//! cargo bench -p typed-sessions-bench --bench crypto -- --measurement-time 2
//! ```

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use cookie::{Cookie, CookieJar};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use typed_sessions::transform::{
    Encrypt, EncryptAlgorithm, Key, KtorEncrypt, KtorSign, Sign, TransformContext, Transformer,
};

const SIZES: [usize; 3] = [64, 512, 2048];
const MASTER: &str = "9f2c4e8a1b7d3f6052e4a9c8b1d07f3e6a5c2b9d8e1f4a7c3b6d9e2f5a8c1b4d";

/// A JSON-looking ASCII payload of exactly `len` bytes.
fn payload(len: usize) -> String {
    let mut s = String::from("{\"d\":\"");
    while s.len() < len - 2 {
        s.push(char::from(b'a' + (s.len() % 26) as u8));
    }
    s.push_str("\"}");
    s
}

fn round_trip<T: Transformer>(t: &T, ctx: &TransformContext<'_>, value: &str) -> String {
    let protected = t.write(ctx, value).expect("write");
    t.read(ctx, &protected).expect("read").value
}

fn crypto(c: &mut Criterion) {
    let key = Key::from_hex(MASTER).expect("key");
    let now = SystemTime::now();
    let ctx = TransformContext::new("user_session", now)
        .with_expiry(Some(now + Duration::from_secs(600)));

    let sign = Sign::new(key.clone());
    let xchacha = Encrypt::with_algorithm(key.clone(), EncryptAlgorithm::XChaCha20Poly1305);
    let aes_gcm = Encrypt::with_algorithm(key.clone(), EncryptAlgorithm::Aes256Gcm);
    // A 32-byte HMAC key costs what Ktor's 14-byte sample key does (both fit one block).
    let ktor_sign = KtorSign::from_hex(MASTER).expect("ktor sign");
    let ktor_encrypt = KtorEncrypt::from_hex(
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        MASTER,
    )
    .expect("ktor encrypt");
    let cookie_key = cookie::Key::derive_from(&hex_bytes(MASTER));

    for size in SIZES {
        let value = payload(size);
        assert_eq!(value.len(), size);
        let mut group = c.benchmark_group(format!("crypto/{size}B"));
        group.throughput(Throughput::Bytes(size as u64));

        group.bench_function(BenchmarkId::new("sign", "hmac-sha256"), |b| {
            b.iter(|| round_trip(&sign, &ctx, black_box(&value)))
        });
        group.bench_function(BenchmarkId::new("encrypt", "xchacha20poly1305"), |b| {
            b.iter(|| round_trip(&xchacha, &ctx, black_box(&value)))
        });
        group.bench_function(BenchmarkId::new("encrypt", "aes256gcm"), |b| {
            b.iter(|| round_trip(&aes_gcm, &ctx, black_box(&value)))
        });
        group.bench_function(BenchmarkId::new("ktor-sign", "HmacSHA256"), |b| {
            b.iter(|| round_trip(&ktor_sign, &ctx, black_box(&value)))
        });
        group.bench_function(
            BenchmarkId::new("ktor-encrypt", "aes256cbc-HmacSHA256"),
            |b| b.iter(|| round_trip(&ktor_encrypt, &ctx, black_box(&value))),
        );
        group.bench_function(BenchmarkId::new("cookie-signed-jar", "hmac-sha256"), |b| {
            b.iter(|| {
                let mut jar = CookieJar::new();
                jar.signed_mut(&cookie_key)
                    .add(Cookie::new("user_session", black_box(&value).clone()));
                let sent = jar.get("user_session").expect("added").clone();
                jar.signed(&cookie_key).verify(sent).expect("verifies")
            })
        });
        group.bench_function(BenchmarkId::new("cookie-private-jar", "aes256gcm"), |b| {
            b.iter(|| {
                let mut jar = CookieJar::new();
                jar.private_mut(&cookie_key)
                    .add(Cookie::new("user_session", black_box(&value).clone()));
                let sent = jar.get("user_session").expect("added").clone();
                jar.private(&cookie_key).decrypt(sent).expect("decrypts")
            })
        });
        group.finish();
    }
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Where the time goes: the bare AEADs on 64 bytes (one direction, no allocation), and one
/// `getrandom` call for a nonce.
fn primitives(c: &mut Criterion) {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    let mut group = c.benchmark_group("crypto/primitives");
    let xchacha = chacha20poly1305::XChaCha20Poly1305::new(&[7u8; 32].into());
    let aes_gcm = aes_gcm::Aes256Gcm::new(&[7u8; 32].into());
    let mut buf = [0u8; 64];
    group.bench_function("xchacha20poly1305-seal-64B", |b| {
        b.iter(|| {
            xchacha
                .encrypt_inout_detached(&[1u8; 24].into(), b"", (&mut buf[..]).into())
                .expect("seal")
        })
    });
    group.bench_function("aes256gcm-seal-64B", |b| {
        b.iter(|| {
            aes_gcm
                .encrypt_inout_detached(&[1u8; 12].into(), b"", (&mut buf[..]).into())
                .expect("seal")
        })
    });
    group.bench_function("getrandom-24B", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 24];
            getrandom::fill(&mut nonce).expect("getrandom");
            nonce
        })
    });
    group.finish();
}

criterion_group!(benches, crypto, primitives);
criterion_main!(benches);
