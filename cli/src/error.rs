//! The tool's one error type: a one-line message and the exit status it maps to.

use std::fmt;

/// Why a command failed. The message is one line, holds no key material and no whole session
/// id; [`exit_code`](Self::exit_code) is the process's exit status.
#[derive(Debug)]
pub enum CliError {
    /// The value inspected would be refused (status 1).
    Refused(String),
    /// A usage or configuration error: bad option, key, config file, session id (status 2).
    Usage(String),
    /// The storage failed or cannot be reached (status 3).
    Storage(String),
}

impl CliError {
    /// The exit status of a usage error (also clap's).
    pub const USAGE: u8 = 2;

    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(_) => 1,
            CliError::Usage(_) => Self::USAGE,
            CliError::Storage(_) => 3,
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    /// A refused value.
    pub fn refused(message: impl Into<String>) -> CliError {
        CliError::Refused(message.into())
    }

    /// A storage failure, with the chain of causes on the same line.
    pub fn storage(error: &(dyn std::error::Error + 'static)) -> CliError {
        CliError::Storage(one_line(error))
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (CliError::Refused(message) | CliError::Usage(message) | CliError::Storage(message)) =
            self;
        f.write_str(message)
    }
}

/// An error and its sources, joined with `: ` on one line (each source only if it adds text).
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace(['\n', '\r'], " ")
}
