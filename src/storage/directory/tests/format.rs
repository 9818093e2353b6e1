//! The file format: exact round trips, files of the first format, and refusal of every
//! damaged or ill-formed file without a panic.

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::record;
use crate::storage::directory::DirectoryStorage;
use crate::storage::directory::format::{
    MAX_DATA, MAX_FILE, MAX_META, check, decode, encode, fits,
};
use crate::storage::{Metadata, Record, Revision, SessionId, SessionStorage, Updated, test_key};

const MAGIC_V1: &str = "typed-sessions/1";
const MAGIC_V2: &str = "typed-sessions/2";

fn sample() -> Record {
    let now = SystemTime::now();
    let mut meta = Metadata::new(
        now + Duration::from_nanos(7),
        now + Duration::from_secs(86_400),
    );
    meta.principal = Some("ädä lovelace\n<ada@example.org>".into());
    meta.version = Some(u32::MAX);
    meta.device = Some("".into());
    let data: Vec<u8> = (0..=255u8).chain(*b"\n-\n").collect();
    Record::new(data, now, now + Duration::from_nanos(3_600_000_000_123)).with_meta(meta)
}

/// The bytes of a record in the first format, as the previous release wrote them.
fn v1(data: &[u8], created: i128, expires: i128) -> Vec<u8> {
    let line = format!("{MAGIC_V1} {created} {expires} {}", data.len());
    let check = hex::encode(check(line.as_bytes(), data));
    let mut bytes = format!("{line} {check}\n").into_bytes();
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn round_trips_exactly() {
    let record = sample();
    let stored = decode(encode(&record, "user_session")).unwrap();
    assert_eq!(stored.record, record);
    assert_eq!(stored.namespace.as_deref(), Some("user_session"));
    let before_epoch = Record::new("", UNIX_EPOCH - Duration::from_nanos(5), UNIX_EPOCH);
    let stored = decode(encode(&before_epoch, "")).unwrap();
    assert_eq!(stored.record, before_epoch);
    assert_eq!(stored.namespace.as_deref(), Some(""));
}

#[test]
fn the_extremes_of_the_clock_round_trip() {
    let latest = UNIX_EPOCH + Duration::new(i64::MAX as u64, 999_999_999);
    let earliest = UNIX_EPOCH - Duration::new(i64::MAX as u64, 999_999_999);
    let mut meta = Metadata::new(latest, earliest);
    meta.principal = Some("ada".into());
    let record = Record::new("{}", earliest, latest).with_meta(meta);
    assert_eq!(decode(encode(&record, "s")).map(|s| s.record), Some(record));
}

#[test]
fn files_of_the_first_format_still_load_with_default_metadata() {
    let bytes = v1(
        b"{\"a\":1}",
        1_000_000_000_000_000_000,
        2_000_000_000_000_000_005,
    );
    let stored = decode(bytes.clone()).unwrap();
    let created = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let expires = UNIX_EPOCH + Duration::new(2_000_000_000, 5);
    assert_eq!(stored.namespace, None);
    assert_eq!(stored.record.data, b"{\"a\":1}");
    assert_eq!(
        (stored.record.created_at, stored.record.expires_at),
        (created, expires)
    );
    assert_eq!(stored.record.meta, Metadata::new(created, expires));
    // The revision is stable (the check), so a conditional update can compare it.
    assert_eq!(
        decode(bytes).unwrap().record.revision,
        stored.record.revision
    );
    let other = decode(v1(
        b"{\"a\":2}",
        1_000_000_000_000_000_000,
        2_000_000_000_000_000_005,
    ));
    assert_ne!(other.unwrap().record.revision, stored.record.revision);
}

#[test]
fn every_truncation_and_every_flipped_byte_is_refused() {
    for bytes in [encode(&sample(), "s"), v1(b"{}", 1, 2)] {
        for len in 0..bytes.len() {
            assert_eq!(decode(bytes[..len].to_vec()), None, "truncated to {len}");
        }
        for at in 0..bytes.len() {
            for bit in [0x01, 0x80] {
                let mut flipped = bytes.clone();
                flipped[at] ^= bit;
                assert_eq!(decode(flipped), None, "byte {at} flipped ({bit:#x})");
            }
        }
        let mut extended = bytes.clone();
        extended.push(b' ');
        assert_eq!(decode(extended), None);
    }
}

/// A header line with a valid check over `line` and `body`.
fn checked(line: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{line} {}\n", hex::encode(check(line.as_bytes(), body))).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn well_checked_garbage_is_refused_without_panicking() {
    let huge = "9".repeat(39);
    let max = i128::MAX.to_string();
    let min = i128::MIN.to_string();
    let cases: Vec<(String, Vec<u8>)> = vec![
        // Times beyond what a SystemTime holds, or beyond an i128.
        (format!("{MAGIC_V1} {max} 2 0"), vec![]),
        (format!("{MAGIC_V1} {min} 2 0"), vec![]),
        (format!("{MAGIC_V1} 1{huge} 2 0"), vec![]),
        (
            format!(
                "{MAGIC_V1} {} 0 0",
                i128::from(u64::MAX) * 1_000_000_000 + 999_999_999
            ),
            vec![],
        ),
        (
            format!("{MAGIC_V2} 1 {max} 0000000000000000 1 1 - 0 - - - 0"),
            vec![],
        ),
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 {min} 1 - 0 - - - 0"),
            vec![],
        ),
        // Lengths that overflow, disagree with the body, or are missing.
        (
            format!(
                "{MAGIC_V2} 1 2 0000000000000000 1 1 - {} 1 - - 0",
                usize::MAX
            ),
            b"ab".to_vec(),
        ),
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 1 1 - 1 1 - - 1"),
            b"ab".to_vec(),
        ),
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 1 1 - 1 1 - -"),
            b"ab".to_vec(),
        ),
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 1 1 - 1 1 - - 0 0"),
            b"ab".to_vec(),
        ),
        (format!("{MAGIC_V1} 1 2 1 9"), b"a".to_vec()),
        // A namespace that is not optional, strings that are not UTF-8, bad fields.
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 1 1 - - - - - 0"),
            vec![],
        ),
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 1 1 - 1 1 - - 0"),
            vec![b'a', 0xff],
        ),
        (
            format!("{MAGIC_V2} 1 2 000000000000000G 1 1 - 0 - - - 0"),
            vec![],
        ),
        (
            format!("{MAGIC_V2} 1 2 +000000000000000 1 1 - 0 - - - 0"),
            vec![],
        ),
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 1 1 x 0 - - - 0"),
            vec![],
        ),
        (
            format!("{MAGIC_V2} 1 2 0000000000000000 1 1 4294967296 0 - - - 0"),
            vec![],
        ),
        ("typed-sessions/3 1 2 0".to_owned(), vec![]),
    ];
    for (line, body) in cases {
        assert_eq!(decode(checked(&line, &body)), None, "{line:?}");
    }
    // The same shapes parse when they are right.
    let fine = checked(
        &format!("{MAGIC_V2} 1 2 00000000000000ff 1 1 7 1 1 - - 0"),
        b"ab",
    );
    let stored = decode(fine).unwrap();
    assert_eq!(stored.record.meta.principal.as_deref(), Some("b"));
    assert_eq!(stored.record.meta.version, Some(7));
    assert_eq!(stored.record.revision, Revision::from_u64(255));
}

#[test]
fn garbage_is_refused_without_panicking() {
    for garbage in [
        &b""[..],
        b"\n",
        b"typed-sessions/1\n",
        b"typed-sessions/2\n",
        b"typed-sessions/1 1 2 0 0000000000000000\n",
        b"typed-sessions/2 1 2 0 0000000000000000\n",
        b"typed-sessions/1 99999999999999999999999999999999999999999 2 0 x\n",
        &[0xff; 600],
        b"{\"userID\":\"123\"}",
    ] {
        assert_eq!(decode(garbage.to_vec()), None, "{garbage:?}");
    }
}

#[test]
fn limits_cover_the_data_and_the_metadata() {
    let now = SystemTime::now();
    let record = Record::new(vec![0u8; MAX_DATA], now, now);
    assert!(fits(&record, "s"));
    assert!(!fits(&Record::new(vec![0u8; MAX_DATA + 1], now, now), "s"));
    assert!(!fits(
        &record.clone().with_principal("p".repeat(MAX_META)),
        "s"
    ));
    assert!(encode(&record.with_principal("p".repeat(MAX_META - 1)), "s").len() <= MAX_FILE);
}

#[tokio::test]
async fn files_of_the_first_format_load_update_and_update_conditionally() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DirectoryStorage::builder(dir.path())
        .durable(false)
        .open()
        .unwrap();
    let id = SessionId::generate();
    let path = storage.path_of(test_key(&id)).unwrap();
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Exactly what the previous release wrote for `{"a":1}`, created at 1e9 s, expiring at 4e9 s.
    let data = br#"{"a":1}"#;
    let line = format!(
        "typed-sessions/1 1000000000000000000 4000000000000000000 {}",
        data.len()
    );
    let sum = check(line.as_bytes(), data);
    let mut bytes = format!("{line} {}\n", hex::encode(sum)).into_bytes();
    bytes.extend_from_slice(data);
    fs::write(&path, bytes).unwrap();
    let now = SystemTime::now();
    let loaded = storage.load(test_key(&id), now).await.unwrap().unwrap();
    assert_eq!(loaded.data, data);
    assert_eq!(loaded.meta.principal, None);
    let again = storage.load(test_key(&id), now).await.unwrap().unwrap();
    assert_eq!(again.revision, loaded.revision, "a stable revision");
    let stale = Revision::from_u64(loaded.revision.as_u64() ^ 1);
    let next = record("{\"a\":2}", now);
    let conflict = storage
        .update_if(test_key(&id), &next, stale, now)
        .await
        .unwrap();
    assert_eq!(conflict, Updated::Conflict);
    let written = storage
        .update_if(test_key(&id), &next, loaded.revision, now)
        .await
        .unwrap();
    assert_eq!(written, Updated::Written);
    assert!(fs::read(&path).unwrap().starts_with(b"typed-sessions/2 "));
    assert_eq!(storage.load(test_key(&id), now).await.unwrap(), Some(next));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A time anywhere a `SystemTime` can be on this system, the epoch's neighbourhood included.
    fn time() -> impl Strategy<Value = SystemTime> {
        prop_oneof![
            (-1_000i64..1_000).prop_map(|n| if n < 0 {
                UNIX_EPOCH - Duration::from_nanos(n.unsigned_abs())
            } else {
                UNIX_EPOCH + Duration::from_nanos(n as u64)
            }),
            (0u64..i64::MAX as u64, 0u32..1_000_000_000)
                .prop_map(|(s, n)| UNIX_EPOCH + Duration::new(s, n)),
            (1u64..i64::MAX as u64).prop_map(|s| UNIX_EPOCH - Duration::from_secs(s)),
        ]
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("(\\PC|[\\n\\r -])*")
    }

    fn record() -> impl Strategy<Value = Record> {
        (
            proptest::collection::vec(any::<u8>(), 0..300),
            (time(), time(), time(), time()),
            any::<u64>(),
            proptest::option::of(any::<u32>()),
            (text(), text(), text()),
        )
            .prop_map(|(data, (c, e, l, end), rev, version, (p, d, a))| {
                let mut meta = Metadata::new(l, end);
                (meta.principal, meta.device, meta.address, meta.version) = (
                    p.map(Into::into),
                    d.map(Into::into),
                    a.map(Into::into),
                    version,
                );
                Record::new(data, c, e)
                    .with_revision(Revision::from_u64(rev))
                    .with_meta(meta)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn any_record_round_trips(record in record(), namespace in "\\PC{0,40}") {
            let stored = decode(encode(&record, &namespace));
            prop_assert_eq!(stored.as_ref().map(|s| &s.record), Some(&record));
            prop_assert_eq!(stored.and_then(|s| s.namespace), Some(namespace));
        }

        #[test]
        fn any_bytes_decode_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..600),
            header in "typed-sessions/[12]( -?[0-9]{0,42}| -| [0-9a-f]{16}){0,13}",
        ) {
            let _ = decode(bytes.clone());
            let mut with_header = header.into_bytes();
            with_header.push(b'\n');
            with_header.extend_from_slice(&bytes);
            let _ = decode(with_header);
        }
    }
}
