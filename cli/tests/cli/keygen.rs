//! `keygen`.

use base64::Engine as _;
use typed_sessions::Key;

use super::run;

#[test]
fn prints_a_random_key_in_both_encodings_with_its_key_id() {
    let first = run(&["keygen"]).expect(0);
    let hex = first.field("hex").expect("a hex line");
    let b64 = first.field("base64").expect("a base64 line");
    let bytes = hex::decode(hex).expect("hex");
    assert_eq!(bytes.len(), 32);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        bytes
    );
    let key = Key::from_hex(hex).expect("a valid key");
    assert_eq!(first.field("key id"), Some(key.id().to_string().as_str()));
    assert_eq!(Key::from_base64(b64).unwrap(), key);
    assert_eq!(first.stdout.lines().count(), 3, "{first:#?}");

    let second = run(&["keygen"]).expect(0);
    assert_ne!(second.field("hex"), first.field("hex"));
    assert_ne!(second.field("key id"), first.field("key id"));
}

#[test]
fn takes_longer_keys_and_refuses_short_ones() {
    let long = run(&["keygen", "--bytes", "64"]).expect(0);
    assert_eq!(hex::decode(long.field("hex").unwrap()).unwrap().len(), 64);
    let short = run(&["keygen", "--bytes", "16"]).expect_error(2, "--bytes 16");
    assert!(short.stdout.is_empty());
    run(&["keygen", "--bytes", "lots"]).expect_error(2, "lots");
}
