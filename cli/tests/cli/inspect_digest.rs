//! `inspect` on Ktor 1.x's unkeyed digest (`SessionTransportTransformerDigest`): recognised
//! without a key, verified, and called unkeyed; an altered value, another salt, another hash
//! and a truncated digest are refused with the reason.

use std::time::SystemTime;

use typed_sessions::CookieEncoding;
use typed_sessions::transform::{KtorUnkeyedDigest, TransformContext, Transformer};

use super::run;

/// Ktor 1.0's own value (`SessionTest.testSessionByIdDigest`, SHA-256, its default), as a
/// cookie: `python3 -c 'import hashlib; print(hashlib.sha256(b"ktor"+b"666").hexdigest())'`
const KTOR_1_0_COOKIE: &str =
    "666%2Fc2d4eaad4fe0bc6dbd0584cdf36929d79d52d7a748d1cc02835a71131a0963fb";

#[test]
fn a_ktor_1_x_digest_is_recognised_verified_and_called_unkeyed() {
    let r = run(&["inspect", KTOR_1_0_COOKIE]).expect(0);
    assert!(
        r.has_line("format: ktor-digest (SHA-256; Ktor 1.x SessionTransportTransformerDigest)"),
        "{r:#?}"
    );
    assert!(
        r.field("key id")
            .unwrap()
            .contains("UNKEYED, anyone can compute"),
        "{r:#?}"
    );
    assert!(r.has_line("salt: \"ktor\" (Ktor's default)"), "{r:#?}");
    let verifies = r.field("verifies").unwrap();
    assert!(verifies.starts_with("yes") && verifies.contains("says nothing about who wrote it"));
    assert!(r.has_line("payload: JSON, 3 bytes"), "{r:#?}");
    assert!(r.stderr.is_empty(), "{r:#?}");

    // SHA-384 (Ktor 1.1+'s default) and a JSON payload, on standard input.
    let ctx = TransformContext::new("s", SystemTime::now());
    let value = KtorUnkeyedDigest::new()
        .write(&ctx, r#"{"userId":"id2","cart":[]}"#)
        .unwrap();
    let cookie = CookieEncoding::Uri.encode(&value).into_owned();
    let r = super::run_with(&["inspect", "-"], &[], Some(&cookie)).expect(0);
    assert!(
        r.field("format")
            .unwrap()
            .starts_with("ktor-digest (SHA-384"),
        "{r:#?}"
    );
    assert!(r.stdout.contains("\"userId\": \"id2\""), "{r:#?}");
}

#[test]
fn altered_salted_and_truncated_digests_are_refused_with_the_reason() {
    // Altered: in auto mode it no longer verifies, so it reads as Ktor's keyed format, whose
    // error points at --format ktor-digest.
    let altered = KTOR_1_0_COOKIE.replace("666", "667");
    run(&["inspect", &altered]).expect_error(2, "see --format ktor-digest");
    let r = run(&["inspect", "--format", "ktor-digest", &altered])
        .expect_error(1, "the SHA-256 digest does not match the payload");
    assert!(r.has_line("verifies: no"), "{r:#?}");

    // Another salt: Ktor's value does not verify; a value of that salt does.
    run(&[
        "inspect",
        "--format",
        "ktor-digest",
        "--ktor-digest-salt",
        "pepper",
        KTOR_1_0_COOKIE,
    ])
    .expect_error(1, "another salt (--ktor-digest-salt)");
    let ctx = TransformContext::new("s", SystemTime::now());
    let peppered = KtorUnkeyedDigest::new()
        .with_salt("pepper")
        .write(&ctx, "666")
        .unwrap();
    let r = run(&["inspect", "--ktor-digest-salt", "pepper", &peppered]).expect(0);
    assert!(
        r.has_line("salt: the one given (--ktor-digest-salt)"),
        "{r:#?}"
    );
    assert!(
        !r.all().contains("pepper"),
        "the salt is not printed: {r:#?}"
    );

    // A digest of the wrong length for the hash asked for, and one that is not hex.
    run(&[
        "inspect",
        "--format",
        "ktor-digest",
        "--ktor-algorithm",
        "SHA-384",
        KTOR_1_0_COOKIE,
    ])
    .expect_error(1, "the digest is 64 hex digits, and SHA-384 makes 96");
    let truncated = &KTOR_1_0_COOKIE[..KTOR_1_0_COOKIE.len() - 1];
    run(&["inspect", "--format", "ktor-digest", truncated]).expect_error(
        1,
        "the digest is 63 hex digits, and SHA-384 makes 96: the value is truncated",
    );
    run(&["inspect", "--format", "ktor-digest", "no-slash-here"])
        .expect_error(1, "not in the form payload/hex(digest)");
    run(&[
        "inspect",
        "--format",
        "ktor-digest",
        "--ktor-algorithm",
        "MD5",
        KTOR_1_0_COOKIE,
    ])
    .expect_error(2, "unknown digest algorithm `MD5`");
}
