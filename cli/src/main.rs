//! `typed-sessions`: the command-line tool of the typed-sessions library.
//!
//! * `keygen`: a new master key for `Sign`/`Encrypt`, with its key id.
//! * `inspect`: what a cookie or header value is, whether it verifies, when it expires, and
//!   what it holds (see [`inspect`] for the `--config` TOML schema).
//! * `store stats | purge-expired | clear`: operations on a session storage given by URL.
//!
//! Every command has `--help`. Errors are one line on standard error, never key material,
//! never a whole session id; the exit status says what happened (see [`error::CliError`]).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod error;
mod inspect;
mod keygen;
mod output;
mod store;
mod time;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;
use crate::output::Output;

const AFTER_HELP: &str = "\
Exit status: 0 success; 1 the value inspected would be refused (it does not verify, names an
unknown key, is malformed or has expired); 2 a usage or configuration error (an invalid key,
session id or option); 3 the storage failed or cannot be reached.

Secrets: keys can come from the environment (TYPED_SESSIONS_KEY, TYPED_SESSIONS_KTOR_SIGN_KEY,
TYPED_SESSIONS_KTOR_ENCRYPT_KEY) or a config file instead of the command line, so they stay out
of shell history. Nothing prints key material (except `keygen`, whose job it is) or a whole
session id.";

/// Command-line tool of typed-sessions: generate keys, inspect session cookies and headers,
/// look after session storages.
#[derive(Debug, Parser)]
#[command(name = "typed-sessions", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a new random master key for the Sign and Encrypt formats, and print its key id.
    #[command(long_about = keygen::LONG_ABOUT)]
    Keygen(keygen::KeygenArgs),
    /// Explain a session cookie or header value: format, key id, verification, expiry, payload.
    #[command(long_about = inspect::LONG_ABOUT)]
    Inspect(inspect::InspectArgs),
    /// Look after a session storage: statistics, purging expired sessions, ending one session.
    #[command(subcommand)]
    Store(store::StoreCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error),
    };
    let mut out = Output::default();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(&args, &mut out),
        Command::Inspect(args) => inspect::run(&args, &mut out),
        Command::Store(command) => store::run(command, &mut out),
    };
    out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Help and version go to standard output with status 0; a usage error is one line (clap's
/// first), with a pointer to `--help`, and status 2.
fn clap_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(CliError::USAGE)
        }
        _ => {
            // clap's first paragraph ("the following required arguments were not provided:
            // <VALUE>" spans two lines), on one line.
            let rendered = error.render().to_string();
            let first: Vec<&str> = rendered
                .lines()
                .skip_while(|line| line.trim().is_empty())
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            let first = first.join(" ");
            let first = first.strip_prefix("error: ").unwrap_or(&first);
            let first = if first.is_empty() {
                "invalid arguments"
            } else {
                first
            };
            let _ = writeln!(
                std::io::stderr(),
                "error: {first} (see `typed-sessions --help`)"
            );
            ExitCode::from(CliError::USAGE)
        }
    }
}
