//! Property tests over every transformer: any input is refused without a panic, any payload
//! round-trips, and any single-byte change of a protected value is refused.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::*;

fn key() -> Key {
    Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
}

fn transformers() -> Vec<(&'static str, Box<dyn Transformer>)> {
    vec![
        ("sign", Box::new(Sign::new(key()))),
        (
            "sign-512",
            Box::new(Sign::with_algorithm(key(), SignAlgorithm::HmacSha512)),
        ),
        ("encrypt-aes", Box::new(Encrypt::new(key()))),
        (
            "encrypt-xchacha",
            Box::new(Encrypt::with_algorithm(
                key(),
                EncryptAlgorithm::XChaCha20Poly1305,
            )),
        ),
        (
            "ktor-sign",
            Box::new(
                KtorSign::from_hex_allowing_short_key("6819b57a326945c1968f45236589").unwrap(),
            ),
        ),
        (
            "ktor-encrypt",
            Box::new(
                KtorEncrypt::from_hex_allowing_short_sign_key(
                    "00112233445566778899aabbccddeeff",
                    "6819b57a326945c1968f45236589",
                )
                .unwrap()
                .backward_compatible_read(true),
            ),
        ),
        ("ktor-unkeyed-digest", Box::new(KtorUnkeyedDigest::new())),
        (
            "migrate-digest-to-sign",
            Box::new(Migrate::new(KtorUnkeyedDigest::new(), Sign::new(key()))),
        ),
    ]
}

fn ctx() -> TransformContext<'static> {
    let now = SystemTime::now();
    TransformContext::new("s", now).with_expiry(Some(now + Duration::from_secs(60)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_text_is_refused(text in "\\PC{0,200}") {
        for (label, t) in transformers() {
            prop_assert!(t.read(&ctx(), &text).is_err(), "{} accepted {:?}", label, text);
        }
    }

    #[test]
    fn arbitrary_well_formed_looking_values_are_refused(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        iv in "[0-9a-f]{32}",
        ct in "([0-9a-f]{32}){0,4}",
        mac in "[0-9a-f]{64}",
    ) {
        let b64 = URL_SAFE_NO_PAD.encode(&bytes);
        let ktor_encrypt = format!("{iv}/{ct}:{mac}");
        let ktor_sign = format!("{b64}/{mac}");
        for (label, t) in transformers() {
            for value in [&b64, &ktor_encrypt, &ktor_sign] {
                prop_assert!(t.read(&ctx(), value).is_err(), "{} accepted {:?}", label, value);
            }
        }
    }

    #[test]
    fn any_payload_round_trips(payload in "\\PC{0,500}") {
        for (label, t) in transformers() {
            let value = t.write(&ctx(), &payload).unwrap();
            prop_assert_eq!(t.read(&ctx(), &value).map(|r| r.value), Ok(payload.clone()), "{}", label);
        }
    }

    #[test]
    fn any_changed_byte_is_refused(payload in "[ -~]{0,100}", at in any::<usize>(), to in any::<u8>()) {
        for (label, t) in transformers() {
            let value = t.write(&ctx(), &payload).unwrap();
            let mut bytes = value.clone().into_bytes();
            let i = at % bytes.len();
            if bytes[i] == to {
                continue;
            }
            bytes[i] = to;
            let Ok(changed) = String::from_utf8(bytes) else { continue };
            // Ktor's encrypt format does not authenticate its IV (the first 32 characters):
            // that documented weakness is pinned in `ktor::encrypt::tests`, not here.
            if label == "ktor-encrypt" && i < 32 {
                continue;
            }
            prop_assert!(t.read(&ctx(), &changed).is_err(), "{} accepted {:?}", label, changed);
        }
    }
}
