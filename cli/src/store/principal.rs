//! `store sessions` and `store end`: a user's sessions, through the storage's principal index.

use std::time::SystemTime;

use typed_sessions::storage::{Principals, SessionHandle};

use crate::error::CliError;
use crate::output::Output;
use crate::time::{relative, rfc3339};

/// Lists `principal`'s live sessions, the most recently used first: one block per session
/// (its handle, when it started, was last seen and ends, its device and network).
pub async fn list(
    principals: &Principals,
    principal: &str,
    out: &mut Output,
) -> Result<(), CliError> {
    let now = SystemTime::now();
    let devices = principals
        .sessions(principal, now)
        .await
        .map_err(|e| CliError::storage(&e))?;
    out.field("sessions", devices.len());
    for device in devices {
        out.line("");
        out.field("handle", device.handle);
        out.field(
            "created",
            format_args!(
                "{} ({})",
                rfc3339(device.created_at),
                relative(device.created_at, now)
            ),
        );
        out.field(
            "last seen",
            format_args!(
                "{} ({})",
                rfc3339(device.last_seen),
                relative(device.last_seen, now)
            ),
        );
        out.field(
            "expires",
            format_args!(
                "{} ({})",
                rfc3339(device.expires_at),
                relative(device.expires_at, now)
            ),
        );
        out.field("device", device.description.as_deref().unwrap_or("unknown"));
        if let Some(address) = device.address {
            out.field("network", address);
        }
    }
    Ok(())
}

/// Which of a principal's sessions `store end` ends.
#[derive(Debug)]
pub enum Which {
    /// The one with this handle.
    One(SessionHandle),
    /// All of them.
    All,
}

/// Parses a handle as `store sessions` prints it.
pub fn parse_handle(text: &str) -> Result<SessionHandle, CliError> {
    text.trim().parse().map_err(|_| {
        CliError::usage(
            "not a session handle: a handle is the 43-character value `store sessions` prints",
        )
    })
}

/// Ends the chosen sessions of `principal` and says how many ended.
pub async fn end(
    principals: &Principals,
    principal: &str,
    which: Which,
    out: &mut Output,
) -> Result<(), CliError> {
    let ended = match which {
        Which::One(handle) => u64::from(
            principals
                .end(principal, &handle)
                .await
                .map_err(|e| CliError::storage(&e))?,
        ),
        Which::All => principals
            .end_all(principal, None)
            .await
            .map_err(|e| CliError::storage(&e))?,
    };
    out.field("ended", ended);
    Ok(())
}
