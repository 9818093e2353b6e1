//! The session configuration `inspect` works with: command line and environment first, then
//! the `--config` TOML file, then the defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::InspectArgs;
use crate::error::CliError;

/// The format a value is read in (`--format`, `format = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormatName {
    /// Recognise the format from the value itself.
    #[default]
    Auto,
    /// typed-sessions' `Sign` (HMAC-SHA-256, -384 or -512).
    Sign,
    /// typed-sessions' `Encrypt` (AES-256-GCM or XChaCha20-Poly1305).
    Encrypt,
    /// Ktor's `SessionTransportTransformerMessageAuthentication`.
    KtorSign,
    /// Ktor's `SessionTransportTransformerEncrypt`.
    KtorEncrypt,
    /// Ktor 1.x's `SessionTransportTransformerDigest` (unkeyed: verified without a key, it
    /// proves nothing about who wrote the value).
    KtorDigest,
    /// No transformer: the value is the payload.
    Plain,
}

/// How the cookie value is encoded (`--encoding`, `encoding = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncodingName {
    /// Ktor's URI encoding (`%XX`, `+` for a space): the default for cookies.
    #[default]
    Uri,
    /// Standard base64 with padding.
    Base64,
    /// As is: header values, and cookies with `CookieEncoding::Raw`.
    Raw,
}

/// How the payload is shown (`--serializer`, `serializer = "..."`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SerializerName {
    /// JSON, pretty-printed (other text is shown as is).
    #[default]
    Json,
    /// Ktor's legacy `#`-format, decoded and shown as JSON.
    KtorLegacy,
}

/// The `--config` file. Every field is optional; the command line and the environment win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    format: Option<FormatName>,
    encoding: Option<EncodingName>,
    serializer: Option<SerializerName>,
    keys: Option<Vec<String>>,
    ktor_sign_key: Option<String>,
    ktor_encrypt_key: Option<String>,
    ktor_algorithm: Option<String>,
    ktor_backward_compatible: Option<bool>,
    ktor_digest_salt: Option<String>,
}

/// Everything `inspect` needs besides the value.
#[derive(Debug, Default)]
pub struct Settings {
    pub name: Option<String>,
    pub format: FormatName,
    pub encoding: EncodingName,
    pub serializer: SerializerName,
    /// Master keys as given (hex or base64), current first.
    pub keys: Vec<Zeroizing<String>>,
    pub ktor_sign_key: Option<Zeroizing<String>>,
    pub ktor_encrypt_key: Option<Zeroizing<String>>,
    pub ktor_algorithm: Option<String>,
    pub ktor_backward_compatible: bool,
    /// The salt of Ktor 1.x's digest (`None`: Ktor's default, `"ktor"`).
    pub ktor_digest_salt: Option<String>,
    /// Print a session id payload whole (command line only).
    pub show_id: bool,
}

impl Settings {
    /// The command line (and environment) over the config file over the defaults.
    pub fn resolve(args: &InspectArgs) -> Result<Settings, CliError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => File::default(),
        };
        let keys: Vec<Zeroizing<String>> = if args.keys.is_empty() {
            file.keys.unwrap_or_default()
        } else {
            args.keys.clone()
        }
        .into_iter()
        .map(|k| Zeroizing::new(k.trim().to_owned()))
        .filter(|k| !k.is_empty())
        .collect();
        Ok(Settings {
            name: args.name.clone().or(file.name),
            format: args.format.or(file.format).unwrap_or_default(),
            encoding: args.encoding.or(file.encoding).unwrap_or_default(),
            serializer: args.serializer.or(file.serializer).unwrap_or_default(),
            keys,
            ktor_sign_key: args
                .ktor_sign_key
                .clone()
                .or(file.ktor_sign_key)
                .map(Zeroizing::new),
            ktor_encrypt_key: args
                .ktor_encrypt_key
                .clone()
                .or(file.ktor_encrypt_key)
                .map(Zeroizing::new),
            ktor_algorithm: args.ktor_algorithm.clone().or(file.ktor_algorithm),
            ktor_backward_compatible: args.ktor_backward_compatible
                || file.ktor_backward_compatible.unwrap_or(false),
            ktor_digest_salt: args.ktor_digest_salt.clone().or(file.ktor_digest_salt),
            show_id: args.show_id,
        })
    }
}

/// Reads and parses the config file. Errors name the line and never quote it (it may hold a
/// key).
fn read_file(path: &PathBuf) -> Result<File, CliError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read the config file {shown}: {e}")))?;
    let file: File = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|span| {
            text.get(..span.start)
                .map_or(0, |t| t.matches('\n').count())
                + 1
        });
        let at = line.map_or(String::new(), |l| format!(", line {l}"));
        let message = e.message().trim().replace('\n', " ");
        CliError::usage(format!("config file {shown}{at}: {message}"))
    })?;
    let holds_keys = file.keys.as_ref().is_some_and(|k| !k.is_empty())
        || file.ktor_sign_key.is_some()
        || file.ktor_encrypt_key.is_some();
    if holds_keys {
        warn_if_readable_by_others(path);
    }
    Ok(file)
}

/// A warning on standard error when a file holding keys can be read by other users.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = std::fs::metadata(path)
        && metadata.permissions().mode() & 0o077 != 0
    {
        let _ = writeln!(
            std::io::stderr(),
            "warning: {} holds keys and can be read by other users; make it 0600",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
