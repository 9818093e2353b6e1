//! `store clear`: ends one session.

use typed_sessions::storage::{SessionId, SessionKey, SessionStorage};

use crate::error::CliError;
use crate::output::Output;

/// The id as the library validates it: a default id, or a custom generator's. `-` reads it
/// from standard input (so it stays out of shell history).
pub fn parse_id(arg: &str) -> Result<SessionId, CliError> {
    let mut input = String::new();
    let text = if arg == "-" {
        use std::io::Read as _;
        std::io::stdin()
            .take(4096)
            .read_to_string(&mut input)
            .map_err(|e| {
                CliError::usage(format!(
                    "cannot read the session id from standard input: {e}"
                ))
            })?;
        input.trim()
    } else {
        arg.trim()
    };
    if let Some(id) = SessionId::parse(text).or_else(|| SessionId::parse_custom(text)) {
        return Ok(id);
    }
    let signed_form = text
        .rsplit_once('/')
        .is_some_and(|(_, mac)| mac.len() >= 16 && mac.bytes().all(|b| b.is_ascii_hexdigit()));
    let protected = signed_form
        || text.contains('%')
        || typed_sessions::transform::Format::detect(text).is_ok();
    let hint = if protected {
        " (this looks like a protected cookie value: `typed-sessions inspect` shows the id inside)"
    } else {
        ""
    };
    Err(CliError::usage(format!(
        "not a valid session id: an id is 64 lowercase hex characters, or 1 to 128 characters from [A-Za-z0-9_-] for a custom generator (got {} characters){hint}",
        text.chars().count()
    )))
}

/// Deletes the session and says whether there was one.
pub async fn run(
    storage: &dyn SessionStorage,
    key: SessionKey<'_>,
    out: &mut Output,
) -> Result<(), CliError> {
    let removed = storage
        .delete(key)
        .await
        .map_err(|e| CliError::storage(&e))?;
    let name = key.namespace().name();
    if removed {
        out.field("removed", "yes");
    } else {
        out.field(
            "removed",
            format_args!(
                "no (no session `{name}` with this id in this storage: already ended, or never stored)"
            ),
        );
    }
    Ok(())
}
