//! Property tests (issue 8): serializers and encodings round-trip arbitrary values; a value the
//! client sends back unchanged always reads as what was set.

use std::collections::BTreeMap;

use proptest::prelude::*;
use typed_sessions::CookieEncoding;
use typed_sessions::serializer::{Json, KtorLegacy, SessionSerializer};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Session {
    name: String,
    count: u64,
    ratio: i32,
    items: Vec<String>,
    note: Option<String>,
    tags: BTreeMap<String, i64>,
}

fn session() -> impl Strategy<Value = Session> {
    (
        any::<String>(),
        any::<u64>(),
        any::<i32>(),
        prop::collection::vec(any::<String>(), 0..4),
        any::<Option<String>>(),
        prop::collection::btree_map(any::<String>(), any::<i64>(), 0..4),
    )
        .prop_map(|(name, count, ratio, items, note, tags)| Session {
            name,
            count,
            ratio,
            items,
            note,
            tags,
        })
}

/// Strings with the characters that break naive cookie and form encoders.
fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('&'),
            Just('='),
            Just(';'),
            Just('/'),
            Just(','),
            Just('"'),
            Just('\r'),
            Just('\n'),
            Just('%'),
            Just('#'),
            Just('+'),
            Just(' '),
            Just('\0'),
            Just('é'),
            Just('😀'),
            any::<char>(),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// `KtorLegacy` writes `value` if `writable` (and it then reads back equal), and refuses it
/// otherwise.
fn written_exactly_when(value: &Session, writable: bool) -> Result<(), TestCaseError> {
    match KtorLegacy.serialize(value) {
        Ok(text) => {
            prop_assert!(writable, "wrote {:?}", text);
            let back: Session = KtorLegacy.deserialize(&text).unwrap();
            prop_assert_eq!(&back, value);
        }
        Err(e) => prop_assert!(!writable, "refused {:?}: {}", value, e),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_round_trips(value in session()) {
        let text = Json.serialize(&value).unwrap();
        let back: Session = Json.deserialize(&text).unwrap();
        prop_assert_eq!(back, value);
    }

    #[test]
    fn ktor_legacy_round_trips_or_refuses(value in session()) {
        // Ktor's format cannot delimit `&#` inside a list item or a map key, nor `=#` inside a
        // map key, and a Kotlin Long cannot hold a u64 above i64::MAX (all documented in
        // `KtorLegacy`): the writer refuses exactly those, and whatever it writes reads back.
        let cannot_be_written = i64::try_from(value.count).is_err()
            || value.items.iter().any(|i| i.contains("&#"))
            || value.tags.keys().any(|k| k.contains("=#") || k.contains("&#"));
        written_exactly_when(&value, !cannot_be_written)?;
    }

    #[test]
    fn ktor_legacy_refuses_what_it_cannot_delimit(value in session(), hostile in hostile_text()) {
        // The same with the separators made likely: an item or key with `&#` (or a key with
        // `=#`) is refused, everything else round-trips.
        let value = Session {
            count: value.count.min(i64::MAX as u64),
            items: vec![hostile.clone(), value.name.clone()],
            tags: BTreeMap::from([(hostile.clone(), 1)]),
            ..value
        };
        let cannot_be_written = hostile.contains("&#") || hostile.contains("=#")
            || value.name.contains("&#");
        written_exactly_when(&value, !cannot_be_written)?;
    }

    #[test]
    fn uri_and_base64_cookie_encodings_are_lossless(text in any::<String>(), hostile in hostile_text()) {
        for value in [&text, &hostile] {
            for encoding in [CookieEncoding::Uri, CookieEncoding::Base64] {
                let encoded = encoding.encode(value);
                // Cookie-safe: no separators, no whitespace, nothing outside visible ASCII.
                prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'"'));
                let decoded = encoding.decode(&encoded).map(|d| d.into_owned());
                prop_assert_eq!(decoded.as_deref(), Some(value.as_str()));
            }
        }
    }

    #[test]
    fn quoted_and_raw_encodings_either_refuse_or_round_trip(text in hostile_text()) {
        for encoding in [CookieEncoding::DoubleQuotes, CookieEncoding::Raw] {
            if encoding.can_encode(&text) {
                let encoded = encoding.encode(&text);
                prop_assert!(!encoded.contains(';'));
                let decoded = encoding.decode(&encoded).map(|d| d.into_owned());
                prop_assert_eq!(decoded.as_deref(), Some(text.as_str()));
            }
        }
    }
}

/// Through the real layer: whatever a handler sets comes back equal on the next request.
mod through_the_layer {
    use super::*;
    use typed_sessions::storage::MemoryStorage;
    use typed_sessions::{SessionError, Sessions, SessionsConfig};

    fn router(by_id: bool) -> axum::Router {
        let config = SessionsConfig::new();
        let config = if by_id {
            config.cookie_with_storage::<Session, _>("s", MemoryStorage::new(), |c| c)
        } else {
            config.cookie::<Session>("s", |c| c.unprotected().max_age(None))
        };
        axum::Router::new()
            .route(
                "/set",
                axum::routing::post(|s: Sessions, body: String| async move {
                    let value: Session = serde_json::from_str(&body).unwrap();
                    match s.set(value) {
                        Ok(()) => Ok::<_, SessionError>("set".to_owned()),
                        Err(SessionError::TooLarge { .. }) => Ok("too large".to_owned()),
                        Err(e) => Err(e),
                    }
                }),
            )
            .route(
                "/get",
                axum::routing::get(|s: Sessions| async move {
                    Ok::<_, SessionError>(
                        serde_json::to_string(&s.get::<Session>().await?).unwrap(),
                    )
                }),
            )
            .layer(config.build().unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn set_then_get_returns_the_same_value(value in session(), by_id in any::<bool>()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let router = router(by_id);
                let request = http::Request::post("/set")
                    .body(axum::body::Body::from(serde_json::to_string(&value).unwrap()))
                    .unwrap();
                let set = crate::common::send(&router, request).await;
                if set.body == "too large" {
                    prop_assert!(!by_id, "an id always fits");
                    prop_assert!(set.set_cookies().is_empty());
                    return Ok(());
                }
                prop_assert_eq!(set.status.as_u16(), 200);
                let cookie = set.cookie_pair("s").unwrap();
                let got = crate::common::get(&router, "/get", Some(&cookie)).await;
                let back: Option<Session> = serde_json::from_str(&got.body).unwrap();
                prop_assert_eq!(back, Some(value));
                Ok(())
            })?;
        }
    }
}
