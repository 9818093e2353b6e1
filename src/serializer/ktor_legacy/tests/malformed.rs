//! Input from clients: every malformed text is an error, never a panic, and no error message
//! repeats the input. Unsupported Rust shapes are errors on writing.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::super::{MAX_INPUT, MAX_PARAMS, from_str, to_string};
use super::{read, read_err, round_trip};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Session {
    user_id: String,
    count: i32,
    list: Vec<String>,
}

/// Reads a `Session` from `count=%23i1&list=%23cl&userId=` + `user_id`.
fn with_user_id(user_id: &str) -> Result<Session, String> {
    from_str(&format!("count=%23i1&list=%23cl&userId={user_id}")).map_err(|e| e.to_string())
}

#[test]
fn values_must_be_tagged() {
    for bad in [
        "id2",      // no `#`
        "%23",      // a bare `#`
        "%23x1",    // unknown tag
        "%23nnull", // `#n` with a payload
        "%23bo",    // truncated boolean
        "%23botrue",
        "%23c",
        "%23cx",
        "%23ch",  // no character
        "%23op",  // `#op` with nothing inside
        "%23omx", // trailing garbage
        "%23i1",  // a number where a string is expected
        "%23cl",  // a list where a string is expected
        "%23%23", // an object where a string is expected
        "%23n",   // null into a String
        "%23m%23s",
    ] {
        assert!(with_user_id(bad).is_err(), "{bad:?} should be rejected");
    }
    assert_eq!(with_user_id("%23s").unwrap().user_id, "");
}

#[test]
fn escapes_must_be_complete_and_utf8() {
    for bad in [
        "%23s%",         // truncated escape
        "%23s%4",        // truncated escape
        "%23s%G1",       // not hex
        "%23s%FF",       // not UTF-8
        "%23s%C3",       // a cut multibyte character
        "%23s%ED%A0%80", // an encoded surrogate
    ] {
        assert!(with_user_id(bad).is_err(), "{bad:?} should be rejected");
    }
    // The same problems one and two layers down, inside a list and a nested object.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct L {
        list: Vec<String>,
        obj: Option<Box<L>>,
    }
    assert!(read_err::<L>("list=%23cl%23s%252&obj=%23n").contains("escape"));
    assert!(read_err::<L>("list=%23cl%23s%25252&obj=%23n").contains("escape"));
    assert!(read_err::<L>("list=%23cl&obj=%23%23list%3D%2523cl%2523s%252").contains("escape"));
    assert!(read_err::<L>("list=%23cl&obj=%23%23list%3D%2523cl%26obj%3D%2523x").contains("tag"));
}

#[test]
fn structure_must_be_well_formed() {
    // A parameter without `=`, a list item without `#`, a map entry without `=` before a value.
    assert!(read_err::<Session>("userId").contains("no `=`"));
    assert!(read_err::<Session>("count=%23i1&list=%23clx&userId=%23s").contains("`#`"));
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct M {
        m: HashMap<String, String>,
    }
    assert!(read_err::<M>("m=%23m%23sk").contains("map entry"));
    assert!(read_err::<M>("m=%23m%23sk%3Dv").contains("map entry"));
    // Missing fields are errors (unless the field is an `Option` or has a default).
    assert!(read_err::<Session>("userId=%23sx").contains("missing field"));
    // Unknown fields are ignored, unless the type says otherwise.
    assert_eq!(
        read::<Session>("count=%23i1&list=%23cl&userId=%23sx&extra=%23x").count,
        1
    );
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        a: i32,
    }
    assert!(read_err::<Strict>("a=%23i1&b=%23i2").contains("unknown field"));
}

#[test]
fn numbers_must_parse_and_fit() {
    for bad in [
        "%23i",
        "%23i+",
        "%23i1.5",
        "%23i0x10",
        "%23i%201",
        "%23i2147483648",
        "%23l99999999999999999999999999999999999999999",
        "%23f1.0",
        "%23bd1e3",
    ] {
        let e = read_err::<Session>(&format!("userId=%23s&list=%23cl&count={bad}"));
        assert!(!e.is_empty(), "{bad:?}");
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct F {
        f: f64,
    }
    for bad in ["%23f", "%23fabc", "%23f1.0.0", "%23s1.0", "%23bot"] {
        read_err::<F>(&format!("f={bad}"));
    }
}

#[test]
fn errors_never_repeat_the_input() {
    let secret = "s3cr3t-t0ken";
    let errors = [
        read_err::<Session>(&format!("userId=%23s&list=%23cl&count=%23s{secret}")),
        read_err::<Session>(&format!(
            "userId=%23s{secret}&list=%23cl&count=%23i{secret}"
        )),
        read_err::<Session>(&format!("userId={secret}")),
        read_err::<Session>(&format!("userId=%23s&list=%23cl{secret}&count=%23i1")),
        read_err::<Session>(&format!("userId=%23s&list=%23cl&count=%23i1&{secret}")),
        read_err::<Session>(&format!("userId=%23q{secret}")),
        read_err::<Letter>(&format!("v=%23s{secret}")),
        read_err::<Strict>(&format!("{secret}=%23i1")),
    ];
    for e in errors {
        assert!(!e.contains(secret), "{e}");
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Letter {
        v: Kind,
    }
    #[derive(Deserialize, Debug)]
    enum Kind {
        A,
    }
    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        a: Option<i32>,
    }
}

#[test]
fn input_size_parameters_and_depth_are_bounded() {
    // 64 KiB of text is read; one byte more is not.
    let prefix = "count=%23i1&list=%23cl&userId=%23s";
    let fits = format!("{prefix}{}", "x".repeat(MAX_INPUT - prefix.len()));
    assert_eq!(
        read::<Session>(&fits).user_id.len(),
        MAX_INPUT - prefix.len()
    );
    assert!(read_err::<Session>(&format!("{fits}x")).contains("too long"));

    // 1000 parameters are read; 1001 are not (Ktor would silently drop the last).
    let params: Vec<String> = (0..MAX_PARAMS).map(|i| format!("p{i}=%23i{i}")).collect();
    let map: HashMap<String, i32> = read(&params.join("&"));
    assert_eq!(map.len(), MAX_PARAMS);
    assert!(
        read_err::<HashMap<String, i32>>(&format!("{}&x=%23i1", params.join("&")))
            .contains("more than 1000")
    );

    // A long chain of `#op` or of one-item lists stops at depth 32, without exhausting the stack.
    let chain = format!("v={}%23i1", "%23op".repeat(10_000));
    assert!(read_err::<BTreeMap<String, serde_json::Value>>(&chain).contains("deeper than 32"));
    let chain = format!("v={}", "%23cl".repeat(10_000));
    assert!(read_err::<BTreeMap<String, serde_json::Value>>(&chain).contains("deeper than 32"));
    // Nested objects, each escaped once more.
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Node {
        next: Option<Box<Node>>,
    }
    let mut text = "next=%23n".to_owned();
    for _ in 0..40 {
        text = format!(
            "next={}",
            super::super::url::encode_url_parameter(&format!("##{text}"))
        );
    }
    assert!(read_err::<Node>(&text).contains("deeper than 32"));
}

#[test]
fn unsupported_shapes_are_errors_when_writing() {
    #[derive(Serialize)]
    enum Data {
        Newtype(i32),
        Tuple(i32, i32),
        Struct { a: i32 },
    }
    #[derive(Serialize)]
    struct S<T> {
        v: T,
    }
    for v in [Data::Newtype(1), Data::Tuple(1, 2), Data::Struct { a: 1 }] {
        let e = to_string(&S { v }).unwrap_err().to_string();
        assert!(e.contains("enum variant with data"), "{e}");
    }
    struct Bytes;
    impl Serialize for Bytes {
        fn serialize<Z: serde::Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
            s.serialize_bytes(b"ab")
        }
    }
    assert!(
        to_string(&S { v: Bytes })
            .unwrap_err()
            .to_string()
            .contains("byte array")
    );
    assert!(
        to_string(&S { v: u64::MAX })
            .unwrap_err()
            .to_string()
            .contains("Kotlin Long")
    );
    // The session itself must be a struct or a map with string keys.
    for e in [
        to_string(&1).unwrap_err(),
        to_string("text").unwrap_err(),
        to_string(&vec![1]).unwrap_err(),
        to_string(&Some(S { v: 1 })).unwrap_err(),
        to_string(&Data::Struct { a: 1 }).unwrap_err(),
        to_string(&BTreeMap::from([(1, 2)])).unwrap_err(),
    ] {
        assert!(e.to_string().contains("struct or a map"), "{e}");
    }
    // Output that could not be read back is refused.
    let long = S {
        v: "x".repeat(MAX_INPUT),
    };
    assert!(
        to_string(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than")
    );
}

#[test]
fn reading_a_session_as_something_else_is_an_error() {
    read_err::<i32>("a=%23i1");
    read_err::<Vec<i32>>("a=%23i1");
    read_err::<String>("a=%23i1");
    read_err::<()>("a=%23i1");
    assert_eq!(read::<()>(""), ());
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum E {
        A,
    }
    read_err::<E>("a=%23i1");
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum Shape {
        Circle(f64),
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct S {
        s: Shape,
    }
    assert!(read_err::<S>("s=%23sCircle").contains("variants with data"));
    assert!(read_err::<S>("s=%23%23r%3D%2523f1.0%26%2524type%3DCircle").contains("enum"));
}

#[test]
fn nesting_is_bounded_on_both_sides() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Tree(Vec<Tree>);
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct S {
        t: Tree,
    }
    fn tree(levels: usize) -> Tree {
        (1..levels).fold(Tree(vec![]), |t, _| Tree(vec![t]))
    }
    // A top-level field is at depth 1, so 31 nested lists put the innermost items at depth 32.
    round_trip(&S { t: tree(31) });
    let e = to_string(&S { t: tree(32) }).unwrap_err();
    assert!(e.to_string().contains("deeper than 32"), "{e}");
    // The same text by hand, one level deeper than the writer allows, is refused on reading.
    let deep = format!("t={}", "%23cl".repeat(32));
    assert!(read_err::<S>(&deep).contains("deeper than 32"));
    assert!(read::<S>(&format!("t={}", "%23cl".repeat(31))) == S { t: tree(31) });
}
