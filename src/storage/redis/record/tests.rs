use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;

fn ms(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn record(data: &[u8]) -> Record {
    Record::new(data, ms(1_700_000_000_001), ms(1_700_000_600_002))
        .with_revision(Revision::from_u64(0x0102_0304_0506_0708))
}

fn full(data: &[u8]) -> Record {
    let mut meta = Metadata::new(ms(1_700_000_000_500), ms(1_700_086_400_000));
    meta.principal = Some("ädä <ada@example.org>".into());
    meta.version = Some(7);
    meta.device = Some("Firefox on Linux".into());
    meta.address = Some("192.0.2.0/24".into());
    record(data).with_meta(meta)
}

fn ns() -> Namespace {
    Namespace::new("user_session")
}

#[test]
fn round_trips_bytes_and_every_field() {
    let binary: Vec<u8> = (0..=255u8).chain([0xff, 0xc3, 0x28]).collect();
    for data in [&b""[..], b"{}", &binary, &vec![b'x'; 70_000]] {
        for r in [record(data), full(data)] {
            let encoded = encode(&r, &ns());
            assert_eq!(encoded.principal.is_some(), r.meta.principal.is_some());
            assert_eq!(decode(encoded.value), Stored::Record(r));
        }
    }
    // Each optional field on its own.
    let mut only_version = record(b"v");
    only_version.meta.version = Some(0);
    let mut only_address = record(b"a");
    only_address.meta.address = Some("".into());
    for r in [only_version, only_address] {
        assert_eq!(decode(encode(&r, &ns()).value), Stored::Record(r));
    }
}

#[test]
fn layout_is_the_documented_one() {
    let r = full(b"{}");
    let Encoded { value, principal } = encode(&r, &ns());
    let principal = principal.unwrap();
    assert_eq!(value[0], 2);
    assert_eq!(&value[1..9], &1_700_000_000_001u64.to_be_bytes());
    assert_eq!(&value[9..17], &1_700_000_600_002u64.to_be_bytes());
    assert_eq!(&value[17..25], &0x0102_0304_0506_0708u64.to_be_bytes());
    assert_eq!(&value[25..33], &1_700_086_400_000u64.to_be_bytes());
    assert_eq!(&value[33..41], &1_700_000_000_500u64.to_be_bytes());
    assert_eq!(value[41], 1 | 2 | 4 | 8);
    assert_eq!(&value[42..106], principal.hex().as_bytes());
    assert_eq!(&value[106..110], &7u32.to_be_bytes());
    let name = "ädä <ada@example.org>".as_bytes();
    assert_eq!(&value[110..114], &(name.len() as u32).to_be_bytes());
    assert_eq!(&value[114..114 + name.len()], name);
    let mut tail = 16u32.to_be_bytes().to_vec();
    tail.extend_from_slice(b"Firefox on Linux");
    tail.extend_from_slice(&12u32.to_be_bytes());
    tail.extend_from_slice(b"192.0.2.0/24{}");
    assert_eq!(&value[114 + name.len()..], tail.as_slice());
    // Without metadata the header is the fixed 42 bytes.
    let plain = encode(&record(b"{}"), &ns()).value;
    assert_eq!((plain.len(), plain[41]), (44, 0));
}

#[test]
fn format_1_values_still_load_with_default_metadata() {
    let mut value = vec![1u8];
    value.extend_from_slice(&1_700_000_000_001u64.to_be_bytes());
    value.extend_from_slice(&1_700_000_600_002u64.to_be_bytes());
    value.extend_from_slice(b"{\"cart\":[1]}\xff");
    let Stored::Record(r) = decode(value.clone()) else {
        panic!("a format 1 value did not load");
    };
    assert_eq!(r.data, b"{\"cart\":[1]}\xff", "bytes, not only UTF-8");
    assert_eq!(
        (r.created_at, r.expires_at),
        (ms(1_700_000_000_001), ms(1_700_000_600_002))
    );
    assert_eq!(r.revision, Revision::from_u64(0));
    assert_eq!(r.meta, Metadata::new(r.created_at, r.expires_at));
    assert!(is_live(&value, 1_700_000_600_001));
    assert!(!is_live(&value, 1_700_000_600_002));
    assert_eq!(decode(value[..16].to_vec()), Stored::Foreign);
}

#[test]
fn foreign_damaged_and_tombstone_values() {
    let good = encode(&full(b"{}"), &ns()).value;
    assert_eq!(decode(Vec::new()), Stored::Foreign);
    assert_eq!(
        decode(b"{\"userId\":\"plain json\"}".to_vec()),
        Stored::Foreign
    );
    let mut other = good.clone();
    other[0] = 3;
    assert_eq!(decode(other), Stored::Foreign);
    // Cut anywhere inside the metadata: damaged, never a panic.
    for cut in 0..good.len() - 2 {
        assert_eq!(
            decode(good[..cut].to_vec()),
            Stored::Foreign,
            "cut at {cut}"
        );
    }
    // A text that is not UTF-8.
    let mut bad_text = good.clone();
    bad_text[114] = 0xff;
    assert_eq!(decode(bad_text), Stored::Foreign);
    // A length far past the end.
    let mut long = good.clone();
    long[110..114].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(decode(long), Stored::Foreign);
    let stone = tombstone(Revision::from_u64(9));
    assert_eq!(decode(stone.to_vec()), Stored::Tombstone);
    assert!(is_tombstone(&stone));
    assert!(!is_live(&stone, 0));
    assert_eq!(expires_at_ms(&stone), None);
    assert_eq!(decode(stone[..8].to_vec()), Stored::Foreign);
}

#[test]
fn overflowing_timestamps_load_without_panic() {
    let mut value = encode(&full(b"{}"), &ns()).value;
    for field in [1, 9, 25, 33] {
        value[field..field + 8].copy_from_slice(&u64::MAX.to_be_bytes());
    }
    let Stored::Record(r) = decode(value.clone()) else {
        panic!("not loaded");
    };
    assert!(r.expires_at > ms(1_700_000_000_000));
    assert!(!r.is_expired(SystemTime::now()));
    assert!(is_live(&value, u64::MAX - 1));
    assert_eq!(pxat(&r), MAX_PXAT);
    assert_eq!(index_score(&r), MAX_PXAT);
}

#[test]
fn liveness_and_scores() {
    let r = full(b"{}");
    let value = encode(&r, &ns()).value;
    assert!(is_live(&value, 1_700_000_600_001));
    assert!(
        !is_live(&value, 1_700_000_600_002),
        "expired at its expires_at"
    );
    assert!(is_live(&value[..42], 0), "the fixed header is enough");
    assert!(!is_live(&value[..41], 0), "a truncated header");
    assert_eq!(index_score(&r), 1_700_086_400_000);
    // A lifetime that ends before the expiry never scores the entry below the record.
    let mut short = r.clone();
    short.meta.lifetime_ends_at = ms(5);
    assert_eq!(index_score(&short), 1_700_000_600_002);
    let mut epoch = r;
    epoch.expires_at = UNIX_EPOCH;
    assert_eq!(pxat(&epoch), 1);
}

proptest! {
    #[test]
    fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(bytes.clone());
        let _ = is_live(&bytes, 0);
        let mut v2 = bytes.clone();
        v2.insert(0, V2);
        let _ = decode(v2);
        let mut v1 = bytes;
        v1.insert(0, V1);
        let _ = decode(v1);
    }

    #[test]
    fn every_record_round_trips(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        times in proptest::array::uniform4(0u64..=MAX_PXAT),
        revision in any::<u64>(),
        version in proptest::option::of(any::<u32>()),
        texts in proptest::array::uniform3(proptest::option::of(".{0,40}")),
    ) {
        let [created, expires, ends, seen] = times;
        let [principal, device, address] = texts;
        let mut meta = Metadata::new(ms(seen), ms(ends));
        meta.version = version;
        meta.principal = principal.map(Into::into);
        meta.device = device.map(Into::into);
        meta.address = address.map(Into::into);
        let r = Record::new(data, ms(created), ms(expires))
            .with_revision(Revision::from_u64(revision))
            .with_meta(meta);
        prop_assert_eq!(decode(encode(&r, &ns()).value), Stored::Record(r));
    }
}

/// The index reference a read remembers is the one a fresh hash gives, and it is used only for
/// the very principal and namespace it was read with.
#[test]
fn a_record_read_back_writes_the_same_reference_without_hashing_and_never_a_stale_one() {
    let written = encode(&full(b"{}"), &ns());
    let Stored::Record(read) = decode_in(written.value.clone(), &ns(), &RecentPrincipals::new())
    else {
        panic!("a record");
    };
    let principal = read.meta.principal.as_ref().unwrap();
    assert!(
        read.meta.index_ref.get(ns().tag(), principal).is_some(),
        "the read remembers the reference"
    );
    assert_eq!(encode(&read, &ns()).value, written.value);

    // Another principal, or the same name in another allocation: hashed afresh.
    let mut bob = read.clone();
    bob.meta.principal = Some("bob".into());
    let fresh = encode(&record(b"{}").with_meta(bob.meta.clone()), &ns());
    assert_eq!(
        encode(&bob, &ns()).principal_ref(),
        fresh.principal_ref(),
        "a changed principal never keeps the old reference"
    );
    assert_ne!(encode(&bob, &ns()).principal_ref(), written.principal_ref());
    let mut same_name = read.clone();
    same_name.meta.principal = Some(Arc::from(&**principal));
    assert!(
        same_name
            .meta
            .index_ref
            .get(ns().tag(), same_name.meta.principal.as_ref().unwrap())
            .is_none()
    );
    assert_eq!(encode(&same_name, &ns()).value, written.value);

    // Another namespace: its own reference.
    let other = Namespace::new("admin_session");
    assert_eq!(
        encode(&read, &other).principal_ref(),
        encode(&full(b"{}"), &other).principal_ref()
    );
    assert_ne!(
        encode(&read, &other).principal_ref(),
        written.principal_ref()
    );

    // A damaged reference in the header is not remembered.
    let mut damaged = written.value.clone();
    damaged[42] = b'G';
    let Stored::Record(read) = decode_in(damaged, &ns(), &RecentPrincipals::new()) else {
        panic!("a record");
    };
    assert_eq!(
        encode(&read, &ns()).principal_ref(),
        written.principal_ref()
    );
}
