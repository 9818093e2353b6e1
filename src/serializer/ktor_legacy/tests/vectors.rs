//! Ktor's own vectors (reference §3.2, §3.3), and texts Ktor's reflection writer produces for
//! the classes of its `AutoSerializerTest` (derived from its code, keys sorted).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{read, round_trip, write};

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Clone, Copy)]
enum Letter {
    A,
    B,
    C,
}

/// `SessionsBackwardCompatibleFormatTest.Primitives`.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Primitives {
    int: i32,
    string: String,
    boolean: bool,
    double: f64,
    float: f32,
    long: i64,
    nullable: Option<String>,
    #[serde(rename = "enum")]
    letter: Letter,
}

fn primitives() -> Primitives {
    Primitives {
        int: 1,
        string: "2".into(),
        boolean: true,
        double: 3.0,
        float: 4.0,
        long: 5,
        nullable: None,
        letter: Letter::A,
    }
}

const PRIMITIVES: &str = "int=%23i1&string=%23s2&boolean=%23bot&double=%23f3.0&float=%23f4.0\
    &long=%23l5&nullable=%23n&enum=%23sA";

#[test]
fn primitives_vector() {
    assert_eq!(write(&primitives()), PRIMITIVES);
    assert_eq!(read::<Primitives>(PRIMITIVES), primitives());
}

#[test]
fn primitives_in_reflection_order() {
    // What `reflectionSessionSerializer` writes for the same class: the keys sorted.
    let sorted = "boolean=%23bot&double=%23f3.0&enum=%23sA&float=%23f4.0&int=%23i1&long=%23l5\
        &nullable=%23n&string=%23s2";
    assert_eq!(read::<Primitives>(sorted), primitives());
}

/// `SessionsBackwardCompatibleFormatTest.WithCollections`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct WithCollections {
    list_s: Vec<String>,
    list_e: Vec<Letter>,
    list_i: Vec<i32>,
    map_s: BTreeMap<String, String>,
    map_i: BTreeMap<String, i32>,
}

#[test]
fn collections_vector() {
    let value = WithCollections {
        list_s: vec!["1".into(), "2".into()],
        list_e: vec![Letter::A, Letter::B],
        list_i: vec![1, 2],
        map_s: BTreeMap::from([("key1".into(), "1".into()), ("key2".into(), "2".into())]),
        map_i: BTreeMap::from([("key1".into(), 1), ("key2".into(), 2)]),
    };
    let text = "listS=%23cl%23s1%26%23s2&listE=%23cl%23sA%26%23sB&listI=%23cl%23i1%26%23i2\
        &mapS=%23m%23skey1%3D%23s1%26%23skey2%3D%23s2&mapI=%23m%23skey1%3D%23i1%26%23skey2%3D%23i2";
    assert_eq!(write(&value), text);
    assert_eq!(read::<WithCollections>(text), value);
}

/// `SessionsBackwardCompatibleFormatTest.WithNestedClass`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct WithNestedClass {
    primitives: Primitives,
}

#[test]
fn nested_class_vector() {
    let value = WithNestedClass {
        primitives: primitives(),
    };
    let text = "primitives=%23%23int%3D%2523i1%26string%3D%2523s2%26boolean%3D%2523bot\
        %26double%3D%2523f3.0%26float%3D%2523f4.0%26long%3D%2523l5%26nullable%3D%2523n%26enum%3D%2523sA";
    assert_eq!(write(&value), text);
    assert_eq!(read::<WithNestedClass>(text), value);
    // The reflection writer sorts the nested keys too.
    let sorted = "primitives=%23%23boolean%3D%2523bot%26double%3D%2523f3.0%26enum%3D%2523sA\
        %26float%3D%2523f4.0%26int%3D%2523i1%26long%3D%2523l5%26nullable%3D%2523n%26string%3D%2523s2";
    assert_eq!(read::<WithNestedClass>(sorted), value);
}

/// `TestUserSession(userId: String, cart: List<String>)`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct TestUserSessionAlphabetical {
    cart: Vec<String>,
    user_id: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct TestUserSession {
    user_id: String,
    cart: Vec<String>,
}

#[test]
fn test_user_session_vector() {
    // The plaintext inside Ktor's encrypted `SessionTestJvm` vector (§3.2, §3.5).
    let alphabetical = TestUserSessionAlphabetical {
        cart: vec![],
        user_id: "id2".into(),
    };
    assert_eq!(round_trip(&alphabetical), "cart=%23cl&userId=%23sid2");
    // Declared in Kotlin's order, the backward-compatible writer keeps that order; either
    // order reads into either struct.
    let declared = TestUserSession {
        user_id: "id2".into(),
        cart: vec![],
    };
    assert_eq!(round_trip(&declared), "userId=%23sid2&cart=%23cl");
    assert_eq!(
        read::<TestUserSession>("cart=%23cl&userId=%23sid2"),
        declared
    );
}

/// `AutoSerializerTest.TestSession`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct TestSession {
    test: i32,
    list: Vec<String>,
}

#[test]
fn auto_serializer_simple_vector() {
    // `"test=#i1&list=#cl" + "#sa&#sb&#sc".encodeURLParameter()`: `#` left unescaped.
    let value: TestSession = read("test=#i1&list=#cl%23sa%26%23sb%26%23sc");
    assert_eq!(
        value,
        TestSession {
            test: 1,
            list: vec!["a".into(), "b".into(), "c".into()]
        }
    );
    // The rewritten form is the escaped one, in declaration order.
    assert_eq!(
        round_trip(&value),
        "test=%23i1&list=%23cl%23sa%26%23sb%26%23sc"
    );
}

/// `AutoSerializerTest.PrimitiveSession`, declared alphabetically.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct PrimitiveSession {
    b1: bool,
    b2: bool,
    ch: char,
    d: f64,
    f: f32,
    i: i32,
    l: i64,
    s: String,
}

#[test]
fn reflection_writer_bytes_for_alphabetical_declarations() {
    let value = PrimitiveSession {
        b1: true,
        b2: false,
        ch: 'a',
        d: 1.0,
        f: 1.0,
        i: 1,
        l: 2,
        s: "sss".into(),
    };
    let text = "b1=%23bot&b2=%23bof&ch=%23cha&d=%23f1.0&f=%23f1.0&i=%23i1&l=%23l2&s=%23ssss";
    assert_eq!(round_trip(&value), text);
}

/// `AutoSerializerTest.AdditionalTypesSession`: `Optional`, `BigDecimal`, `BigInteger`, `UUID`.
#[derive(Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct AdditionalTypes {
    bd: String,
    bi: u64,
    option_with_content: Option<String>,
    optional_empty: Option<String>,
    uuid: String,
}

#[test]
fn reflection_only_tags() {
    let text = "bd=%23bd0&bi=%23bi10&optionWithContent=%23op%23sa&optionalEmpty=%23om\
        &uuid=%23s123e4567-e89b-12d3-a456-426614174000";
    let value: AdditionalTypes = read(text);
    assert_eq!(
        value,
        AdditionalTypes {
            bd: "0".into(),
            bi: 10,
            option_with_content: Some("a".into()),
            optional_empty: None,
            uuid: "123e4567-e89b-12d3-a456-426614174000".into(),
        }
    );
}

/// `AutoSerializerTest.EnumCollectionSession`, with a `Set` (`#cs`) and an enum-keyed map.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct EnumCollections {
    ll: Vec<Letter>,
    mm: HashMap<Letter, Letter>,
    ss: BTreeSet<Letter>,
}

#[test]
fn reflection_sets_and_enum_maps() {
    let text = "ll=%23cl%23sB&mm=%23m%23sA%3D%23sB&ss=%23cs%23sA";
    let value: EnumCollections = read(text);
    assert_eq!(
        value,
        EnumCollections {
            ll: vec![Letter::B],
            mm: HashMap::from([(Letter::A, Letter::B)]),
            ss: BTreeSet::from([Letter::A]),
        }
    );
    // Written back, a set is a `#cl`, as the backward-compatible writer does.
    assert_eq!(
        write(&value),
        "ll=%23cl%23sB&mm=%23m%23sA%3D%23sB&ss=%23cl%23sA"
    );
}

/// `AutoSerializerTest.CompoundSession` and `SessionWithSealedMember`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Part {
    i: i32,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Compound {
    part: Part,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Ss {
    e: i32,
}

#[derive(Deserialize, Debug, PartialEq)]
struct WithSealedMember {
    member: Ss,
}

#[test]
fn reflection_nested_and_sealed_objects() {
    let compound = Compound {
        part: Part { i: 779 },
    };
    assert_eq!(round_trip(&compound), "part=%23%23i%3D%2523i779");
    // A sealed subclass carries a `$type` parameter; reading it as the subclass ignores it.
    let sealed: WithSealedMember = read("member=%23%23e%3D%2523i834%26%2524type%3DSS");
    assert_eq!(
        sealed,
        WithSealedMember {
            member: Ss { e: 834 }
        }
    );
    assert_eq!(
        read::<TestSessionTop>("e=%23i834&%24type=SS"),
        TestSessionTop { e: 834 }
    );
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct TestSessionTop {
    e: i32,
}
