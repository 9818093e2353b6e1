//! Splitting a list or map payload into its items, more carefully than Ktor.
//!
//! Ktor writes a list as `"#cl" + items.joinToString("&") { it.encodeURLQueryComponent() }
//! .encodeURLQueryComponent()`, and `encodeURLQueryComponent` leaves `&`, `=` and `#` alone. So
//! after the payload is decoded once, a `&` or `=` inside an item is indistinguishable from a
//! separator, and Ktor's readers split at every `&` (and a map entry at its first `=`).
//!
//! Every item starts with `#` (or `%23`) while a piece cut out of the middle of an item by a
//! stray `&` usually does not, so this splitter glues such a piece back onto the item before it.
//! That reads correctly what Ktor's own readers get wrong: strings holding `&` (`"a&b"`),
//! lists of objects (`##a=%2523i1&b=%2523i2`, whose inner `&` is unescaped), and map values
//! that are lists. Whatever Ktor's writers produce and Ktor's readers read back correctly is
//! split exactly as Ktor splits it. A `&` directly followed by `#` inside an item (`"a&#sb"`)
//! stays ambiguous and is split, as in Ktor.
//!
//! A map's items, found that way, are then grouped into entries: an item that holds `=` followed
//! by the start of a value begins an entry, one that does not (the second item of a list value,
//! `#cl#i1&#i2`) belongs to the entry before. An entry splits at its first `=` followed by the
//! start of a value, so `=` and `&` inside a key (`"a=b"`, `"a&b"`) are read correctly too (Ktor
//! splits at the first `=`). What stays ambiguous: `=#` inside a key, and `&#` followed later by
//! `=#` inside a key or a value.
//!
//! The writer never produces an ambiguous collection: before it writes one, it splits the text
//! it is about to write with these same functions ([`join_list`], [`join_map`]) and
//! refuses the value unless they find exactly the items it joined. Reading stays as above, so
//! that text written by Ktor reads as Ktor reads it.

use std::ops::Range;

use super::error::{Error, Result};
use super::tag::starts_value;

/// The byte ranges of the items of a list payload (decoded once). Empty pieces before the first
/// item are skipped, as Ktor's `filter { it.isNotEmpty() }` does.
pub(super) fn list_items(payload: &str) -> Result<Vec<Range<usize>>> {
    glue(payload)
}

/// The byte ranges of the key and the value of each entry of a map payload (decoded once).
pub(super) fn map_entries(payload: &str) -> Result<Vec<(Range<usize>, Range<usize>)>> {
    let mut entries: Vec<(Range<usize>, usize)> = Vec::new();
    for item in glue(payload)? {
        let text = payload.get(item.clone()).unwrap_or_default();
        match (separator(text), entries.last_mut()) {
            (Some(at), _) => entries.push((item.clone(), item.start + at)),
            (None, Some((last, _))) => last.end = item.end,
            (None, None) => return Err(Error::new("a map entry has no `=` before its value")),
        }
    }
    Ok(entries
        .into_iter()
        .map(|(entry, at)| (entry.start..at, at + 1..entry.end))
        .collect())
}

/// `items` joined with `&`, as the writer joins a list, if [`list_items`] reads that back as
/// exactly these items; `None` if the list would be ambiguous.
pub(super) fn join_list(items: &[String]) -> Option<String> {
    let joined = items.join("&");
    let mut expected = Vec::with_capacity(items.len());
    let mut start = 0;
    for item in items {
        expected.push(start..start + item.len());
        start += item.len() + 1;
    }
    list_items(&joined)
        .is_ok_and(|found| found == expected)
        .then_some(joined)
}

/// `entries` (keys and values as the writer escaped them) joined as `key=value` pairs with
/// `&`, as the writer joins a map, if [`map_entries`] reads that back as exactly these keys and
/// values; `None` if the map would be ambiguous.
pub(super) fn join_map(entries: &[(String, String)]) -> Option<String> {
    let mut joined = String::new();
    let mut expected = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        if !joined.is_empty() {
            joined.push('&');
        }
        let key_start = joined.len();
        joined.push_str(key);
        let key_range = key_start..joined.len();
        joined.push('=');
        let value_start = joined.len();
        joined.push_str(value);
        expected.push((key_range, value_start..joined.len()));
    }
    map_entries(&joined)
        .is_ok_and(|found| found == expected)
        .then_some(joined)
}

/// Splits at `&`, and glues each piece that does not start a value onto the item before it.
fn glue(payload: &str) -> Result<Vec<Range<usize>>> {
    let mut items: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    for piece in payload.split('&') {
        let range = start..start + piece.len();
        start = range.end + 1;
        if starts_value(piece) {
            items.push(range);
        } else if let Some(last) = items.last_mut() {
            last.end = range.end;
        } else if !piece.is_empty() {
            return Err(Error::new("a collection item does not start with `#`"));
        }
    }
    Ok(items)
}

/// The offset of the first `=` in a map entry that is followed by the start of a value.
fn separator(entry: &str) -> Option<usize> {
    entry
        .match_indices('=')
        .map(|(at, _)| at)
        .find(|&at| entry.get(at + 1..).is_some_and(starts_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(payload: &str) -> Vec<&str> {
        list_items(payload)
            .unwrap()
            .into_iter()
            .map(|r| &payload[r])
            .collect()
    }

    fn entries(payload: &str) -> Vec<(&str, &str)> {
        map_entries(payload)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (&payload[k], &payload[v]))
            .collect()
    }

    #[test]
    fn lists_split_like_ktor_when_ktor_can() {
        assert_eq!(items("#sa&#sb&#sc"), ["#sa", "#sb", "#sc"]);
        assert_eq!(items("#i1&%23i2"), ["#i1", "%23i2"]);
        assert_eq!(items(""), Vec::<&str>::new());
        assert_eq!(items("&&#s"), ["#s"]);
        assert_eq!(items("#s&#s"), ["#s", "#s"]);
    }

    #[test]
    fn lists_glue_what_ktor_cuts() {
        // The strings "a&b" and "c&", then "d".
        assert_eq!(items("#sa&b&#sc&&#sd"), ["#sa&b", "#sc&", "#sd"]);
        // Two nested objects, whose fields are joined by unescaped `&`.
        assert_eq!(
            items("##a=%2523i1&b=%2523i2&##a=%2523i3"),
            ["##a=%2523i1&b=%2523i2", "##a=%2523i3"]
        );
        // Ambiguous: "a&#sb" is read as two items, like Ktor does.
        assert_eq!(items("#sa&#sb"), ["#sa", "#sb"]);
    }

    #[test]
    fn list_garbage_is_an_error() {
        assert!(list_items("x").is_err());
        assert!(list_items("&x&#s").is_err());
    }

    #[test]
    fn maps_split_at_the_first_equals_before_a_value() {
        assert_eq!(
            entries("#skey1=#s1&#skey2=#s2"),
            [("#skey1", "#s1"), ("#skey2", "#s2")]
        );
        // `=` in a key and in a value, `&` in a value.
        assert_eq!(
            entries("#sa=b=#sc=d&#se=#sf&g"),
            [("#sa=b", "#sc=d"), ("#se", "#sf&g")]
        );
        // A list value (`#cl#i1&#i2`): `#i2` has no `=`, so it belongs to the entry before.
        assert_eq!(
            entries("#sk=#cl#i1&#i2&#sj=#cl#i3"),
            [("#sk", "#cl#i1&#i2"), ("#sj", "#cl#i3")]
        );
        assert_eq!(entries("%23sk=%23i1"), [("%23sk", "%23i1")]);
        assert_eq!(entries(""), Vec::<(&str, &str)>::new());
    }

    #[test]
    fn map_keys_may_hold_ampersands() {
        assert_eq!(
            entries("#sx=#s1&#sa&b=#s2&#s&=#s&"),
            [("#sx", "#s1"), ("#sa&b", "#s2"), ("#s&", "#s&")]
        );
        // Ambiguous: a value holding `&#` and then `=#` is read as two entries.
        assert_eq!(entries("#sk=#sv&#sa=#sb"), [("#sk", "#sv"), ("#sa", "#sb")]);
    }

    #[test]
    fn joining_refuses_what_would_split_differently() {
        let owned = |items: &[&str]| items.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(
            join_list(&owned(&["#sa&b", "#sc"])).as_deref(),
            Some("#sa&b&#sc")
        );
        assert_eq!(join_list(&owned(&[])).as_deref(), Some(""));
        assert_eq!(join_list(&owned(&["#sa&#sb"])), None);
        assert_eq!(join_list(&owned(&["#cl#i1&#i2", "#cl"])), None);
        let pairs = |entries: &[(&str, &str)]| {
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            join_map(&pairs(&[("#sa=b", "#sc&d"), ("#se", "#i1")])).as_deref(),
            Some("#sa=b=#sc&d&#se=#i1")
        );
        assert_eq!(join_map(&pairs(&[("#sk=#sx", "#sv")])), None);
        assert_eq!(join_map(&pairs(&[("#sk", "#sv&#sa=#sb")])), None);
        assert_eq!(join_map(&pairs(&[("#sa&#sb", "#sv")])), None);
    }

    #[test]
    fn map_garbage_is_an_error() {
        assert!(map_entries("#sk").is_err(), "no `=`");
        assert!(map_entries("#sk=v").is_err(), "value without `#`");
        assert!(map_entries("k=#sv").is_err(), "key without `#`");
    }
}
