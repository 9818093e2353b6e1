//! `store stats`.

use std::time::SystemTime;

use typed_sessions::storage::SessionStorage;

use super::Kind;
use crate::error::CliError;
use crate::output::Output;
use crate::time;

/// Prints the counts and the size.
pub async fn run(
    storage: &dyn SessionStorage,
    kind: Kind,
    out: &mut Output,
) -> Result<(), CliError> {
    let stats = storage
        .stats(SystemTime::now())
        .await
        .map_err(|e| CliError::storage(&e))?
        .ok_or_else(|| {
            CliError::usage(format!(
                "this {} storage cannot count its sessions",
                kind.name()
            ))
        })?;
    out.field("live", stats.live);
    out.field("expired", stats.expired);
    out.field("unreadable", stats.unreadable);
    match stats.bytes {
        Some(bytes) => out.field(
            "size",
            format_args!(
                "{bytes} bytes ({}; {})",
                time::bytes(bytes),
                stats.bytes_measure
            ),
        ),
        None => out.field("size", "unknown"),
    }
    Ok(())
}
