//! Settings: where the sessions live (one setting, `SESSION_STORAGE`, opened with
//! [`open_url`]), the key that signs and encrypts the cookies, and the data directory that
//! keeps both across restarts.
//!
//! | variable | default | what |
//! |---|---|---|
//! | `PORT` | `8080` | the port on 127.0.0.1 |
//! | `DEMO_DATA_DIR` | `./demo-data` | the key file, the default storage |
//! | `SESSION_STORAGE` | `$DEMO_DATA_DIR/sessions` | a directory path, or `redis://...`, `postgres://...`, `sqlite://...`, `memory://` |
//! | `DEMO_KEY` | generated once into `$DEMO_DATA_DIR/key` | 32+ bytes, hex or base64 |
//! | `DEMO_SECURE_COOKIES` | `1` | `0` drops the `Secure` flag (for a browser that refuses it on `http://127.0.0.1`) |

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use typed_sessions::storage::{OpenError, SessionStorage, open_url};
use typed_sessions::transform::Key;

/// Everything the demo reads at startup.
pub struct Setup {
    /// The port to listen on (127.0.0.1 only).
    pub port: u16,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The storage every by-id session shares.
    pub storage: Arc<dyn SessionStorage>,
    /// The storage for people: its kind and its URL without credentials.
    pub storage_label: String,
    /// The master key: signs the session ids, encrypts the preferences cookie.
    pub key: Key,
    /// Where the key came from (for the startup lines; never the key itself).
    pub key_source: String,
    /// Whether cookies carry `Secure`.
    pub secure: bool,
}

impl Setup {
    /// Reads the environment, creates the data directory, opens the storage and the key.
    /// Every failure is a message fit to print: it never contains a password or the key.
    pub async fn from_env() -> Result<Setup, String> {
        let port = match std::env::var("PORT") {
            Ok(port) => port
                .trim()
                .parse()
                .map_err(|_| format!("PORT must be a port number, not `{port}`"))?,
            Err(_) => 8080,
        };
        let data_dir = std::env::var_os("DEMO_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("demo-data"));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&data_dir)
            .map_err(|e| {
                format!(
                    "cannot create the data directory {}: {e}",
                    data_dir.display()
                )
            })?;

        let url = match std::env::var("SESSION_STORAGE") {
            Ok(url) if !url.trim().is_empty() => url,
            _ => data_dir.join("sessions").display().to_string(),
        };
        let storage_label = describe_storage(&url);
        // `OpenError` never repeats the URL, which may hold a password; the label has none.
        let storage = open_url(&url).await.map_err(|e| {
            let hint = match &e {
                OpenError::FeatureDisabled { feature, .. } => {
                    format!("; run `cargo run --example demo --features {feature}`")
                }
                _ => String::new(),
            };
            format!("{e} (SESSION_STORAGE is {storage_label}){hint}")
        })?;

        let (key, key_source) = match std::env::var("DEMO_KEY") {
            Ok(text) => (
                Key::from_hex(&text)
                    .or_else(|_| Key::from_base64(&text))
                    .map_err(|e| format!("DEMO_KEY is not a usable key: {e}"))?,
                "DEMO_KEY".to_owned(),
            ),
            Err(_) => {
                let file = data_dir.join("key");
                (load_or_create_key(&file)?, file.display().to_string())
            }
        };
        let secure = !matches!(
            std::env::var("DEMO_SECURE_COOKIES")
                .as_deref()
                .map(str::trim),
            Ok("0" | "false" | "no" | "off")
        );
        Ok(Setup {
            port,
            data_dir,
            storage,
            storage_label,
            key,
            key_source,
            secure,
        })
    }
}

/// The key kept in `file` (hex), or a new random one written there once, readable by the
/// owner only (0600), so cookies stay valid across restarts.
fn load_or_create_key(file: &Path) -> Result<Key, String> {
    let unusable = |e: &dyn std::fmt::Display| format!("the key file {} {e}", file.display());
    if !file.exists() {
        create_key_file(file).map_err(|e| unusable(&format_args!("cannot be created: {e}")))?;
    }
    let meta = std::fs::metadata(file).map_err(|e| unusable(&e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(unusable(
            &"is readable by other users: `chmod 600` it, or delete it to start over",
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| unusable(&e))?;
    Key::from_hex(&text).map_err(|e| unusable(&format_args!("does not hold a key: {e}")))
}

/// Writes 32 random bytes, hex-encoded, to `file` (mode 0600), all or nothing: into a
/// temporary file first, then linked to its name, which fails if another process was first.
fn create_key_file(file: &Path) -> std::io::Result<()> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    let temporary = file.with_extension(format!("new-{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    f.write_all(hex::encode(bytes).as_bytes())?;
    f.sync_all()?;
    let linked = std::fs::hard_link(&temporary, file);
    std::fs::remove_file(&temporary)?;
    match linked {
        Ok(()) => println!("Generated a new key in {} (mode 0600)", file.display()),
        // Another demo process sharing the directory was first: its key is used.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The storage's kind and its URL with the user name, password and query left out, e.g.
/// `redis (redis://***@cache:6379/0)` or `directory (demo-data/sessions)`.
pub fn describe_storage(url: &str) -> String {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        if let Some(rest) = url.strip_prefix("sqlite:") {
            return format!("sqlite (sqlite:{})", strip_query(rest));
        }
        return format!("directory ({})", strip_query(url));
    };
    let kind = match scheme.to_ascii_lowercase().as_str() {
        "dir" | "file" => "directory",
        "memory" => "memory (lost at every restart)",
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" | "redis+unix" => "redis",
        "postgres" | "postgresql" => "postgres",
        "sqlite" => "sqlite",
        _ => "unknown",
    };
    let rest = strip_query(rest);
    // The authority ends at the first `/`; user information in it ends at its last `@`.
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_owned(),
    };
    format!("{kind} ({scheme}://{authority}{path})")
}

/// `text` without its query string (which may carry a password), marked as left out.
fn strip_query(text: &str) -> String {
    match text.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => text.to_owned(),
    }
}
