//! Scalars: numbers at their extremes and across Kotlin's number types, characters.

use serde::{Deserialize, Serialize};

use super::{read, read_err, round_trip, write};

#[test]
fn numbers_keep_their_value_at_the_extremes() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct N {
        a: i8,
        b: u8,
        c: i32,
        d: u32,
        e: i64,
        f: u64,
        g: i128,
        h: u128,
        i: f32,
        j: f64,
        k: f64,
        l: f32,
    }
    let n = N {
        a: i8::MIN,
        b: u8::MAX,
        c: i32::MIN,
        d: u32::MAX,
        e: i64::MIN,
        f: i64::MAX as u64,
        g: i128::MIN,
        h: u128::MAX,
        i: 0.1,
        j: f64::MAX,
        k: -0.0,
        l: f32::INFINITY,
    };
    let text = round_trip(&n);
    assert!(text.contains("&d=%23l4294967295&"), "{text}");
    assert!(text.contains("&j=%23f1.7976931348623157E308&"), "{text}");
    assert!(text.ends_with("&k=%23f-0.0&l=%23fInfinity"), "{text}");
    let back: N = read(&text);
    assert!(back.k.is_sign_negative());

    #[derive(Serialize, Deserialize, Debug)]
    struct Nan {
        x: f64,
    }
    let text = write(&Nan { x: f64::NAN });
    assert_eq!(text, "x=%23fNaN");
    assert!(read::<Nan>(&text).x.is_nan());
}

#[test]
fn numbers_convert_where_sensible() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct Wide {
        a: i64,
        b: f64,
        c: f32,
        d: u8,
    }
    // An `#l` into an i64, an `#i` into a double, an `#f` straight into an f32, a `#bd` without
    // fraction into a u8.
    let w: Wide = read("a=%23l-5&b=%23i5&c=%23f0.1&d=%23bd200");
    assert_eq!(
        w,
        Wide {
            a: -5,
            b: 5.0,
            c: 0.1,
            d: 200
        }
    );
    #[derive(Deserialize, Debug, PartialEq)]
    struct Big {
        s: String,
        f: f64,
        u: u128,
        t: String,
    }
    let b: Big =
        read("s=%23bd1.50&f=%23bd1.5E%2B3&u=%23bi123456789012345678901234567890&t=%23bi-7");
    assert_eq!(
        b,
        Big {
            s: "1.50".into(),
            f: 1500.0,
            u: 123_456_789_012_345_678_901_234_567_890,
            t: "-7".into()
        }
    );
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Small {
        v: i32,
    }
    assert!(read_err::<Small>("v=%23bd1.5").contains("integer"));
    assert!(read_err::<Small>("v=%23l3000000000").contains("invalid value"));
    assert!(read_err::<Small>("v=%23f1.0").contains("expected an integer"));
}

#[test]
fn characters_and_one_character_strings() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct C {
        a: char,
        b: char,
        c: String,
    }
    let c = C {
        a: '&',
        b: '😀',
        c: "x".into(),
    };
    assert_eq!(round_trip(&c), "a=%23ch%26&b=%23ch%F0%9F%98%80&c=%23sx");
    // `#s` of one character reads as a char, and `#ch` as a string.
    assert_eq!(
        read::<C>("a=%23sy&b=%23ch%C3%A9&c=%23chz"),
        C {
            a: 'y',
            b: 'é',
            c: "z".into()
        }
    );
    assert!(read_err::<C>("a=%23syz&b=%23chx&c=%23s").contains("one character"));
}
