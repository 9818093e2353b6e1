//! A round-trip sanity check over hand-picked awkward strings, in every position a string can
//! take, and the exact behaviour for the few that Ktor's format makes ambiguous.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{read, round_trip, write_err};

/// Strings that stress every escaping layer: separators of each layer (`&`, `=`, `#`), escape
/// characters (`%`, `+`), whitespace, text that looks like an escape or a tag, non-ASCII.
const TRICKY: &[&str] = &[
    "",
    " ",
    "  leading",
    "trailing  ",
    "a b",
    "tab\there",
    "new\nline\r\n",
    "%",
    "%%",
    "100%",
    "%41",
    "%23",
    "%2523",
    "%zz",
    "+",
    "a+b",
    "++ +",
    "&",
    "&&",
    "a&b",
    "a&",
    "&b",
    "=",
    "==",
    "a=b",
    "a=",
    "=b",
    "#",
    "##",
    "#s",
    "#i1",
    "a#b",
    "#cl#sa",
    "a=b&c",
    "?q=1&r=2#frag",
    "/path;p,q:r@s!$'()*[]~._-",
    "quote\"back\\slash",
    "é",
    "日本語",
    "😀 emoji",
    "\u{a0}nbsp\u{2028}",
    "\u{0}\u{1f}\u{7f}",
];

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Inner {
    s: String,
}

/// One string everywhere a string can go.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Everywhere {
    top: String,
    maybe: Option<String>,
    list: Vec<String>,
    keys: BTreeMap<String, i32>,
    values: BTreeMap<i32, String>,
    nested: Inner,
    nested_list: Vec<Inner>,
    map_of_lists: BTreeMap<String, Vec<String>>,
}

fn everywhere(s: &str) -> Everywhere {
    Everywhere {
        top: s.into(),
        maybe: Some(s.into()),
        list: vec![s.into(), "x".into(), s.into()],
        keys: BTreeMap::from([(s.into(), 1), (format!("{s}2"), 2)]),
        values: BTreeMap::from([(1, s.into()), (2, "y".into())]),
        nested: Inner { s: s.into() },
        nested_list: vec![Inner { s: s.into() }, Inner { s: s.into() }],
        map_of_lists: BTreeMap::from([(s.into(), vec![s.into(), s.into()])]),
    }
}

/// What the format cannot tell apart, in a collection: `&#` splits a list item, and in a map
/// `=` followed by `#` ends a key.
fn ambiguous_in_collections(s: &str) -> bool {
    s.contains("&#") || s.contains("=#")
}

#[test]
fn tricky_strings_round_trip_everywhere() {
    for s in TRICKY {
        assert!(!ambiguous_in_collections(s), "{s:?}");
        round_trip(&everywhere(s));
    }
}

#[test]
fn ambiguous_strings_round_trip_outside_collections() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Plain {
        top: String,
        nested: Inner,
    }
    for s in ["a&#sb", "x=#i1", "&#", "=#"] {
        assert!(ambiguous_in_collections(s));
        round_trip(&Plain {
            top: s.into(),
            nested: Inner { s: s.into() },
        });
    }
}

#[test]
fn ambiguous_collections_are_not_written_and_ktors_text_reads_as_ktor_splits_it() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct L {
        list: Vec<String>,
    }
    // `["a&#sb"]` would be `#cl#sa&#sb`, which reads as two items (the injected `"b"` would
    // then be signed or encrypted with the rest): it is refused at write.
    let e = write_err(&L {
        list: vec!["a&#sb".into()],
    });
    assert!(e.contains("cannot delimit"), "{e}");
    assert!(!e.contains("sb"), "the message quotes the value: {e}");
    // Ktor's text for it still reads as Ktor splits it.
    assert_eq!(
        read::<L>("list=%23cl%23sa%26%23sb"),
        L {
            list: vec!["a".into(), "b".into()]
        }
    );

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct M {
        map: BTreeMap<String, String>,
    }
    // A key holding `=#` would be cut at that `=`, the rest moving into the value: refused.
    let e = write_err(&M {
        map: BTreeMap::from([("k=#sx".into(), "v".into())]),
    });
    assert!(e.contains("cannot delimit"), "{e}");
    assert_eq!(
        read::<M>("map=%23m%23sk%3D%23sx%3D%23sv").map,
        BTreeMap::from([("k".into(), "x=#sv".into())])
    );
    // A value holding `&#` and then `=#` would read as an extra entry: refused.
    let e = write_err(&M {
        map: BTreeMap::from([("k".into(), "v&#sa=#sb".into())]),
    });
    assert!(e.contains("cannot delimit"), "{e}");
    // A key holding `&#`: refused as well.
    assert!(
        write_err(&M {
            map: BTreeMap::from([("a&#sb".into(), "v".into())]),
        })
        .contains("cannot delimit")
    );
    // A value holding `&#` and `=` reads back (its piece has no `=#`), so it is written.
    let value = M {
        map: BTreeMap::from([("k".into(), "a&#b=c".into())]),
    };
    round_trip(&value);
}

#[test]
fn map_keys_with_ampersands_or_differing_case_read_back() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct M {
        map: BTreeMap<String, i32>,
    }
    // Ktor's readers split `#sa&b=#i1` into `#sa` and `b=#i1` and fail.
    let value = M {
        map: BTreeMap::from([("a&b".into(), 1), ("0".into(), 0)]),
    };
    assert_eq!(
        round_trip(&value),
        "map=%23m%23s0%3D%23i0%26%23sa%26b%3D%23i1"
    );
    // Ktor's kotlinx reader would merge these (case-insensitive `Parameters`).
    round_trip(&M {
        map: BTreeMap::from([("A".into(), 1), ("a".into(), 2)]),
    });
}
