//! Showing what a value protects: JSON pretty-printed in its own key order, Ktor's legacy
//! format decoded, a by-id session's id hidden unless asked for, anything else as text.

use serde::de::IgnoredAny;
use typed_sessions::SessionId;
use typed_sessions::serializer::ktor_legacy;

use super::settings::SerializerName;
use crate::output::Output;

/// Adds the `payload:` line and the payload itself. A payload that is a session id (a by-id
/// session's cookie) is not shown, unless `show_id`.
pub fn show(payload: &str, serializer: SerializerName, show_id: bool, out: &mut Output) {
    let len = payload.len();
    if let Some(id) = SessionId::parse(payload) {
        out.field(
            "payload",
            format_args!(
                "a session id (a by-id session; its data is in the storage), {} characters{}",
                id.as_str().len(),
                if show_id { "" } else { "; --show-id prints it" }
            ),
        );
        if show_id {
            out.line(id.as_str());
        }
        return;
    }
    match serializer {
        SerializerName::Json => {
            if serde_json::from_str::<IgnoredAny>(payload).is_ok() {
                out.field("payload", format_args!("JSON, {len} bytes"));
                out.line(pretty_json(payload));
            } else {
                out.field("payload", format_args!("text, {len} bytes (not JSON)"));
                out.line(printable(payload));
            }
        }
        SerializerName::KtorLegacy => match ktor_legacy::from_str::<serde_json::Value>(payload) {
            Ok(value) => {
                out.field(
                    "payload",
                    format_args!("Ktor legacy format, {len} bytes, decoded as JSON"),
                );
                out.line(serde_json::to_string_pretty(&value).unwrap_or_default());
            }
            Err(error) => {
                out.field(
                    "payload",
                    format_args!("text, {len} bytes (not Ktor's legacy format: {error})"),
                );
                out.line(printable(payload));
            }
        },
    }
}

/// Re-indents valid JSON text by two spaces, keeping its key order and number spellings.
fn pretty_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // An empty object or array stays on one line.
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|&n| n == '}' || n == ']') {
                    continue;
                }
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                if !out.ends_with(['{', '[']) {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text with control characters escaped, so a payload cannot drive the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_reindented_in_its_own_order() {
        assert_eq!(
            pretty_json(r#"{"z":1,"a":[1, 2.50,{}],"s":"x,{}:\"y\\","e":[]}"#),
            "{\n  \"z\": 1,\n  \"a\": [\n    1,\n    2.50,\n    {}\n  ],\n  \"s\": \"x,{}:\\\"y\\\\\",\n  \"e\": []\n}"
        );
        assert_eq!(pretty_json("42"), "42");
        assert_eq!(pretty_json("{ }"), "{}");
    }

    #[test]
    fn payloads() {
        let mut out = Output::default();
        show(r#"{"id":"123abc"}"#, SerializerName::Json, false, &mut out);
        show("plain\u{1b}[31m", SerializerName::Json, false, &mut out);
        show(
            "userId=%23sid2&count=%23i3",
            SerializerName::KtorLegacy,
            false,
            &mut out,
        );
        let id = SessionId::generate();
        show(id.as_str(), SerializerName::Json, false, &mut out);
        let text = format!("{out:?}");
        assert!(text.contains("JSON, 15 bytes"), "{text}");
        assert!(text.contains("\\\\u{1b}"), "{text}");
        assert!(text.contains("Ktor legacy format"), "{text}");
        assert!(text.contains("a session id"), "{text}");
        assert!(text.contains("--show-id prints it"), "{text}");
        assert!(!text.contains(id.as_str()), "{text}");
    }
}
