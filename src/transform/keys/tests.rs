//! Keys: encodings, refusals, ids, derivation, rings.

use super::*;

const HEX32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[test]
fn accepts_32_bytes_in_every_encoding() {
    let from_hex = Key::from_hex(HEX32).unwrap();
    let bytes = hex::decode(HEX32).unwrap();
    let std_b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let url_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    assert_eq!(Key::from_base64(&std_b64).unwrap(), from_hex);
    assert_eq!(Key::from_base64(&url_b64).unwrap(), from_hex);
    assert_eq!(Key::from_bytes(&bytes).unwrap(), from_hex);
    assert_eq!(
        Key::from_hex(&format!("  {}\n", HEX32.to_uppercase())).unwrap(),
        from_hex
    );
}

#[test]
fn refuses_short_trivial_and_garbage_keys() {
    assert_eq!(
        Key::from_bytes(&[7; 31][..]).unwrap_err(),
        KeyError::TooShort { len: 31, min: 32 }
    );
    assert_eq!(
        Key::from_bytes(&[]).unwrap_err(),
        KeyError::TooShort { len: 0, min: 32 }
    );
    assert_eq!(Key::from_bytes(&[0; 32]).unwrap_err(), KeyError::Trivial);
    assert_eq!(Key::from_bytes(&[0xab; 64]).unwrap_err(), KeyError::Trivial);
    assert!(matches!(
        Key::from_bytes(&vec![1; MAX_KEY_LEN + 1]).unwrap_err(),
        KeyError::TooLong { .. }
    ));
    assert_eq!(Key::from_hex("xyz").unwrap_err(), KeyError::InvalidHex);
    assert_eq!(Key::from_hex("abc").unwrap_err(), KeyError::InvalidHex);
    assert_eq!(
        Key::from_base64("@@@").unwrap_err(),
        KeyError::InvalidBase64
    );
    // The Ktor documentation's sample keys are too short for the modern formats.
    assert!(matches!(
        Key::from_hex("6819b57a326945c1968f45236589"),
        Err(KeyError::TooShort { len: 14, .. })
    ));
    // 31 zero bytes then one non-zero: not trivial, accepted at 32.
    let mut almost = [0u8; 32];
    almost[31] = 1;
    assert!(Key::from_bytes(&almost).is_ok());
}

#[test]
fn refuses_passphrases_and_encoded_text_as_bytes() {
    assert_eq!(
        Key::from_bytes(b"a passphrase of 32 characters!!!").unwrap_err(),
        KeyError::Printable
    );
    assert_eq!(
        Key::from_bytes(HEX32.as_bytes()).unwrap_err(),
        KeyError::Printable,
        "hex text passed as bytes"
    );
    assert_eq!(
        Key::from_bytes(b"with a newline, as read from a file\n").unwrap_err(),
        KeyError::Printable
    );
    // One byte outside printable ASCII is enough to be taken for random bytes.
    let mut almost = *b"a passphrase of 32 characters!!!";
    almost[5] = 0x80;
    assert!(Key::from_bytes(&almost).is_ok());
    // Decoded hex or base64 is checked the same way.
    assert_eq!(
        Key::from_hex(&hex::encode(b"a passphrase of 32 characters!!!")).unwrap_err(),
        KeyError::Printable
    );
}

#[test]
fn refuses_the_sample_keys_outside_tests() {
    use crate::transform::samples::tests::as_in_production;
    let b64 = "kOCa4FJ1xWgJLu5fam0ZYps/8qTOyJjIc1RUNnuzoz8=";
    let readme = "7a9c0e5b3d1f8264a0c2e4f6981b3d5f7092b4d6f8a1c3e5072b4d6f8a9c1e3f";
    as_in_production(|| {
        assert_eq!(Key::from_hex(HEX32).unwrap_err(), KeyError::SampleKey);
        assert_eq!(Key::from_hex(readme).unwrap_err(), KeyError::SampleKey);
        assert_eq!(Key::from_base64(b64).unwrap_err(), KeyError::SampleKey);
        let mut other = [0x5a_u8; 32];
        other[0] = 1;
        assert!(Key::from_bytes(&other).is_ok());
    });
    // The unit tests themselves use them.
    assert!(Key::from_hex(HEX32).is_ok());
    let message = KeyError::SampleKey.to_string();
    assert!(message.contains("Key::generate()"), "{message}");
}

#[test]
fn debug_never_shows_key_bytes() {
    let key = Key::from_hex(HEX32).unwrap();
    let debug = format!("{key:?} {:?}", KeyRing::new(key.clone()));
    assert!(!debug.contains("0001020304"), "{debug}");
    assert!(!debug.contains("[0, 1, 2"), "{debug}");
    assert!(debug.contains(&key.id().to_string()), "{debug}");
}

#[test]
fn key_id_is_a_stable_hkdf_fingerprint() {
    let key = Key::from_hex(HEX32).unwrap();
    let mut expected = [0u8; 4];
    Hkdf::<Sha256>::new(None, &hex::decode(HEX32).unwrap())
        .expand(b"typed-sessions/v1/key-id", &mut expected)
        .unwrap();
    assert_eq!(key.id().as_bytes(), &expected);
    assert_eq!(key.id().to_string(), hex::encode(expected));
    assert_ne!(Key::generate().id(), key.id());
}

#[test]
fn derived_keys_differ_by_purpose() {
    let key = Key::from_hex(HEX32).unwrap();
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    key.derive(b"typed-sessions/v1/sign/hmac-sha256", &mut a);
    key.derive(b"typed-sessions/v1/encrypt/xchacha20poly1305", &mut b);
    assert_ne!(a, b);
    assert_ne!(&a[..], &hex::decode(HEX32).unwrap()[..]);
}

#[test]
fn generated_keys_are_random_and_valid() {
    let a = Key::generate();
    let b = Key::generate();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert_ne!(a.id(), b.id());
}

#[test]
fn ring_refuses_duplicates_and_finds_by_id() {
    let (a, b, c) = (Key::generate(), Key::generate(), Key::generate());
    let ring = KeyRing::from_keys(a.clone(), [b.clone(), c.clone()]).unwrap();
    assert_eq!(ring.current(), &a);
    assert_eq!(ring.previous(), &[b.clone(), c.clone()]);
    assert_eq!(ring.get(c.id()), Some(&c));
    assert_eq!(ring.get(Key::generate().id()), None);
    assert_eq!(ring.keys().count(), 3);
    assert_eq!(
        KeyRing::from_keys(a.clone(), [b.clone(), a.clone()]).unwrap_err(),
        KeyError::DuplicateKeyId { id: a.id() }
    );
    assert_eq!(
        KeyRing::new(a.clone())
            .with_previous(a.clone())
            .unwrap_err(),
        KeyError::DuplicateKeyId { id: a.id() }
    );
    let single: KeyRing = a.clone().into();
    assert_eq!(single.current(), &a);
    assert!(single.previous().is_empty());
}
