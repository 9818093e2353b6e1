//! How parameter names are matched to struct fields: by name, in any order, ignoring case as
//! Ktor's `Parameters` do, first value wins.

use serde::{Deserialize, Serialize};

use super::{read, round_trip, write};

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct TestUserSession {
    user_id: String,
    cart: Vec<String>,
}

fn id2() -> TestUserSession {
    TestUserSession {
        user_id: "id2".into(),
        cart: vec![],
    }
}

#[test]
fn names_match_ignoring_case() {
    assert_eq!(read::<TestUserSession>("USERID=%23sid2&Cart=%23cl"), id2());
    assert_eq!(read::<TestUserSession>("cArT=%23cl&userid=%23sid2"), id2());
}

#[test]
fn the_first_of_equal_names_wins() {
    // Ktor's `parameters[name]` is the first value; later ones, in any case, are ignored.
    assert_eq!(
        read::<TestUserSession>("userId=%23sid2&cart=%23cl&USERID=%23sother&userId=%23n"),
        id2()
    );
    // Even when a later duplicate would not parse.
    assert_eq!(
        read::<TestUserSession>("userId=%23sid2&cart=%23cl&cart=garbage"),
        id2()
    );
}

#[test]
fn fields_that_differ_only_by_case_stay_apart() {
    // Ktor would merge these into one name; an exact match wins here, so they round-trip.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Cased {
        a: i32,
        #[serde(rename = "A")]
        upper: i32,
    }
    let value = Cased { a: 1, upper: 2 };
    assert_eq!(round_trip(&value), "a=%23i1&A=%23i2");
    assert_eq!(read::<Cased>("A=%23i2&a=%23i1"), value);
}

#[test]
fn whitespace_around_raw_names_and_values_is_ignored() {
    assert_eq!(
        read::<TestUserSession>(" userId = %23sid2 &\tcart=%23cl\n"),
        id2()
    );
    // Encoded whitespace is kept.
    assert_eq!(
        read::<TestUserSession>("userId=%23s+id2%20&cart=%23cl").user_id,
        " id2 "
    );
    assert_eq!(write(&id2()), "userId=%23sid2&cart=%23cl");
}
