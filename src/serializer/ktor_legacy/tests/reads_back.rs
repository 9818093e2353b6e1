//! The writer's promise, as a property: every value it accepts reads back equal. Values are
//! built from the separators of every escaping layer (`&`, `=`, `#`, `%`, `+`), tags (`#s`,
//! `#cl`) and nesting (collections of collections, objects in collections), so many of them are
//! ambiguous and must be refused rather than written.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::super::{from_str, to_string};

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
enum Kind {
    Plain,
    Fancy,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Inner {
    name: String,
    values: Vec<String>,
    tag: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Session {
    text: String,
    ch: char,
    number: i64,
    small: u8,
    ratio: f64,
    single: f32,
    flag: bool,
    kind: Kind,
    maybe: Option<String>,
    nested_option: Option<Option<i32>>,
    list: Vec<String>,
    chars: Vec<char>,
    grid: Vec<Vec<String>>,
    map: BTreeMap<String, String>,
    map_of_lists: BTreeMap<String, Vec<String>>,
    list_of_maps: Vec<BTreeMap<String, i32>>,
    inner: Inner,
    inners: Vec<Inner>,
    keyed: BTreeMap<String, Inner>,
    kinds: BTreeMap<char, Kind>,
}

/// Text made of the format's separators, escapes and tags, and a little plain text.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            8 => prop_oneof![
                Just("&"),
                Just("="),
                Just("#"),
                Just("%"),
                Just("+"),
                Just(" "),
                Just("a"),
                Just("s"),
                Just("#s"),
                Just("%23"),
                Just("%26"),
                Just("é"),
            ],
            1 => prop_oneof![Just("&#s"), Just("=#s"), Just("&#cl"), Just("=#i1")],
        ],
        0..max,
    )
    .prop_map(|pieces| pieces.concat())
}

fn one_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just('&'),
        Just('='),
        Just('#'),
        Just('%'),
        Just('+'),
        Just(' '),
        Just('é'),
        any::<char>(),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Plain), Just(Kind::Fancy)]
}

fn inner() -> impl Strategy<Value = Inner> {
    (
        text(4),
        prop::collection::vec(text(3), 0..3),
        prop::option::of(text(3)),
    )
        .prop_map(|(name, values, tag)| Inner { name, values, tag })
}

fn float<T: Copy + std::fmt::Debug>(
    any: impl Strategy<Value = T>,
    is_nan: fn(T) -> bool,
) -> impl Strategy<Value = T> {
    any.prop_filter("NaN is not equal to itself", move |f| !is_nan(*f))
}

fn session() -> impl Strategy<Value = Session> {
    let scalars = (
        text(6),
        one_char(),
        any::<i64>(),
        any::<u8>(),
        float(any::<f64>(), f64::is_nan),
        float(any::<f32>(), f32::is_nan),
        any::<bool>(),
        kind(),
        prop::option::of(text(4)),
        prop::option::of(prop::option::of(any::<i32>())),
    );
    let collections = (
        prop::collection::vec(text(4), 0..4),
        prop::collection::vec(one_char(), 0..4),
        prop::collection::vec(prop::collection::vec(text(3), 0..3), 0..2),
        prop::collection::btree_map(text(3), text(3), 0..3),
        prop::collection::btree_map(text(3), prop::collection::vec(text(3), 0..3), 0..3),
        prop::collection::vec(
            prop::collection::btree_map(text(3), any::<i32>(), 0..3),
            0..2,
        ),
        inner(),
        prop::collection::vec(inner(), 0..3),
        prop::collection::btree_map(text(3), inner(), 0..3),
        prop::collection::btree_map(one_char(), kind(), 0..3),
    );
    (scalars, collections).prop_map(
        |(
            (text, ch, number, small, ratio, single, flag, kind, maybe, nested_option),
            (list, chars, grid, map, map_of_lists, list_of_maps, inner, inners, keyed, kinds),
        )| Session {
            text,
            ch,
            number,
            small,
            ratio,
            single,
            flag,
            kind,
            maybe,
            nested_option,
            list,
            chars,
            grid,
            map,
            map_of_lists,
            list_of_maps,
            inner,
            inners,
            keyed,
            kinds,
        },
    )
}

/// Text without the characters that can make a collection ambiguous.
fn unambiguous_text() -> impl Strategy<Value = String> {
    "[a-z %+é/?;:,.~-]{0,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_value_the_writer_accepts_reads_back_equal(value in session()) {
        if let Ok(text) = to_string(&value) {
            let back: Session = from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{text:?} does not read: {e}")))?;
            prop_assert_eq!(back, value, "through {:?}", text);
        }
    }

    #[test]
    fn every_session_map_the_writer_accepts_reads_back_equal(
        value in prop::collection::btree_map(text(4), text(4), 0..4),
    ) {
        if let Ok(text) = to_string(&value) {
            let back: BTreeMap<String, String> = from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{text:?} does not read: {e}")))?;
            prop_assert_eq!(back, value, "through {:?}", text);
        }
    }

    /// The check refuses only what is ambiguous: without `&`, `=` and `#` in collections, and
    /// without collections of collections or `Some(None)`, everything is written.
    #[test]
    fn unambiguous_values_are_written(
        list in prop::collection::vec(unambiguous_text(), 0..4),
        map in prop::collection::btree_map(unambiguous_text(), unambiguous_text(), 0..4),
        text in text(6),
        maybe in prop::option::of(any::<i32>()),
    ) {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct Plain {
            list: Vec<String>,
            map: BTreeMap<String, String>,
            text: String,
            maybe: Option<Option<i32>>,
        }
        let value = Plain { list, map, text, maybe: Some(maybe).filter(|m| m.is_some()) };
        let written = to_string(&value);
        prop_assert!(written.is_ok(), "{:?}: {:?}", value, written);
        let back: Plain = from_str(&written.unwrap_or_default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, value);
    }
}
/// The property above is only as strong as its values: check that the generator gives the
/// writer plenty of both kinds (on a fixed seed, so this cannot flake).
#[test]
fn the_values_are_both_written_and_refused() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let (mut written, mut refused) = (0, 0);
    for _ in 0..1000 {
        let value = session().new_tree(&mut runner).unwrap().current();
        match to_string(&value) {
            Ok(text) => {
                written += 1;
                assert_eq!(from_str::<Session>(&text).unwrap(), value, "{text:?}");
            }
            Err(_) => refused += 1,
        }
    }
    assert!(
        written >= 100 && refused >= 100,
        "{written} written, {refused} refused"
    );
}
