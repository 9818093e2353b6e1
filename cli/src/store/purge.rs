//! `store purge-expired`: batches of `delete_expired_batch`, with a progress bar on long runs.

use std::io::IsTerminal as _;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use typed_sessions::storage::SessionStorage;

use super::Kind;
use crate::error::CliError;
use crate::output::Output;

/// Above this many stored sessions a purge shows a progress bar (on a terminal).
const PROGRESS_ABOVE: u64 = 2000;

/// Removes the expired sessions and prints how many.
pub async fn run(
    storage: &dyn SessionStorage,
    kind: Kind,
    batch: u64,
    out: &mut Output,
) -> Result<(), CliError> {
    let now = SystemTime::now();
    let bar = progress_bar(storage, now).await?;
    let mut removed = 0u64;
    let mut from = None;
    loop {
        let step = storage
            .delete_expired_batch(now, from, batch.max(1))
            .await
            .map_err(|e| {
                bar.abandon();
                CliError::storage(&e)
            })?;
        removed = removed.saturating_add(step.removed);
        bar.inc(step.removed);
        match step.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    bar.finish_and_clear();
    out.field("removed", removed);
    if kind == Kind::Redis {
        out.line("note: Redis deletes expired sessions by itself (each key carries its expiry)");
    }
    Ok(())
}

/// A bar over the expired sessions, when standard output is a terminal and the storage holds
/// enough sessions for a purge to take a while; hidden otherwise (and then nothing is counted
/// beforehand).
async fn progress_bar(
    storage: &dyn SessionStorage,
    now: SystemTime,
) -> Result<ProgressBar, CliError> {
    if !std::io::stdout().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let Some(stats) = storage
        .stats(now)
        .await
        .map_err(|e| CliError::storage(&e))?
    else {
        return Ok(ProgressBar::hidden());
    };
    if stats.total() <= PROGRESS_ABOVE {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::with_draw_target(
        Some(stats.expired.saturating_add(stats.unreadable)),
        ProgressDrawTarget::stderr(),
    );
    if let Ok(style) =
        ProgressStyle::with_template("purging {bar:40} {pos}/{len} expired sessions ({eta} left)")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Ok(bar)
}
