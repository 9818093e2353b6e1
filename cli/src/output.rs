//! What a command prints on standard output, collected and written once at the end, so that a
//! closed pipe (`| head`) ends the tool quietly instead of panicking.

use std::fmt::Display;
use std::io::Write as _;

/// Lines for standard output.
#[derive(Debug, Default)]
pub struct Output {
    text: String,
}

impl Output {
    /// Adds one line.
    pub fn line(&mut self, line: impl Display) {
        self.text.push_str(&line.to_string());
        self.text.push('\n');
    }

    /// Adds `label: value`.
    pub fn field(&mut self, label: &str, value: impl Display) {
        self.line(format_args!("{label}: {value}"));
    }

    /// Writes everything to standard output; a write error (a closed pipe) is ignored.
    pub fn flush(&mut self) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(self.text.as_bytes());
        let _ = stdout.flush();
        self.text.clear();
    }
}
