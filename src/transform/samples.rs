//! The keys printed in this crate's documentation, examples, command-line help and tests.
//!
//! They are public, so a server using one protects nothing; a copied example is the usual way
//! they end up in production. Every key constructor ([`Key`](super::Key), and the Ktor
//! formats' [`KtorSign`](super::KtorSign) and [`KtorEncrypt`](super::KtorEncrypt)) refuses
//! them, except in this crate's own tests and doctests (builds with the `test-support` or
//! `fuzzing` feature), which use them to reproduce fixed vectors.

/// The sample keys, as lowercase hex of their bytes (so a key given as hex or as base64 is
/// recognised alike).
const SAMPLE_KEYS: &[&str] = &[
    // README and the guide: key rotation.
    "7a9c0e5b3d1f8264a0c2e4f6981b3d5f7092b4d6f8a1c3e5072b4d6f8a9c1e3f",
    "1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a0f1e",
    // README and the command-line help: the output of `keygen` (also as base64).
    "90e09ae05275c568092eee5f6a6d19629b3ff2a4cec898c8735454367bb3a33f",
    // Rustdoc of `Key`, `Key::from_hex` and `Key::from_base64`, and the unit tests.
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "ab1d9be55ddc2cd9ce055c532724156d0f26dc3867d42d67429d138910a45b15",
    // Ktor's documentation examples (the AES key and the sign key), quoted in the README, the
    // guide, the Ktor formats' rustdoc and the examples.
    "00112233445566778899aabbccddeeff",
    "6819b57a326945c1968f45236589",
    // Ktor's own tests, quoted in the Ktor guide and reproduced by the tests.
    "003515606058610610561058",
    "02030405060708090a0b0c",
    // The tests' keys.
    "5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
    "ffeeddccbbaa99887766554433221100",
    "000102030405060708090a0b0c0d0e0f1011121314151617",
];

/// Whether `bytes` is one of the sample keys and sample keys are refused here.
pub(crate) fn is_refused_sample(bytes: &[u8]) -> bool {
    refuses_samples() && is_sample(bytes)
}

/// Whether `bytes` is one of the sample keys.
fn is_sample(bytes: &[u8]) -> bool {
    let text = hex::encode(bytes);
    SAMPLE_KEYS.contains(&text.as_str())
}

/// Whether sample keys are refused: everywhere but this crate's tests, doctests and fuzzing.
#[cfg(not(test))]
fn refuses_samples() -> bool {
    !cfg!(any(feature = "test-support", feature = "fuzzing"))
}

/// In unit tests, sample keys are accepted unless a test asks for the production behaviour.
#[cfg(test)]
fn refuses_samples() -> bool {
    tests::REFUSE.with(std::cell::Cell::get)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use super::*;

    thread_local! {
        pub(crate) static REFUSE: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` with sample keys refused, as outside tests.
    pub(crate) fn as_in_production<R>(f: impl FnOnce() -> R) -> R {
        REFUSE.with(|r| r.set(true));
        let result = f();
        REFUSE.with(|r| r.set(false));
        result
    }

    #[test]
    fn the_list_is_well_formed() {
        for key in SAMPLE_KEYS {
            let bytes = hex::decode(key).unwrap();
            assert_eq!(&hex::encode(&bytes), key, "lowercase hex");
            assert!(is_sample(&bytes));
        }
        assert!(!is_sample(&[0x5a; 32]));
        assert!(!is_refused_sample(&hex::decode(SAMPLE_KEYS[0]).unwrap()));
        assert!(as_in_production(|| is_refused_sample(
            &hex::decode(SAMPLE_KEYS[0]).unwrap()
        )));
    }

    /// Hex in the documentation that is not a key: a session id, a MAC, and text that shows
    /// hex must be decoded.
    const NOT_KEYS: &[&str] = &[
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "95a45a79d01af15db1d27acb1ef80a63cd44628c5262103b35ab0c36c7bcec91",
        "000102030405060708090a0b0c0d0e0f",
        // A Ktor 1.x session id (32 hex digits) in the Ktor guide, and the SHA-256 digest of
        // `KtorUnkeyedDigest`'s example (Ktor's own test vector): digests, not keys.
        "0123456789abcdef0123456789abcdef",
        "c2d4eaad4fe0bc6dbd0584cdf36929d79d52d7a748d1cc02835a71131a0963fb",
    ];

    /// Every key literal in the documentation (README, SECURITY, the guide, rustdoc), the
    /// examples and the command-line help is on the list: a new example with a new literal key
    /// fails here until it is added (or, better, replaced by `Key::generate()` or a key read
    /// from the environment).
    #[test]
    fn every_literal_key_of_the_docs_is_listed() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for file in ["README.md", "SECURITY.md"] {
            texts.push((file.to_owned(), read(&root.join(file))));
        }
        for dir in ["docs/guide", "examples", "examples/demo"] {
            for path in files_in(&root.join(dir), false) {
                texts.push((path.display().to_string(), read(&path)));
            }
        }
        // The command-line tool's crate (its README and help texts): in the repository, not in
        // the library's published package.
        let cli = root.join("cli");
        if cli.is_dir() {
            texts.push(("cli/README.md".to_owned(), read(&cli.join("README.md"))));
            for path in files_in(&cli.join("src"), false) {
                texts.push((path.display().to_string(), read(&path)));
            }
        }
        // Rustdoc: the doc comments of the library.
        for path in files_in(&root.join("src"), true) {
            let docs: String = read(&path)
                .lines()
                .filter(|l| l.trim_start().starts_with("///") || l.trim_start().starts_with("//!"))
                .map(|l| format!("{l}\n"))
                .collect();
            texts.push((path.display().to_string(), docs));
        }
        for (file, text) in &texts {
            for literal in hex_runs(text) {
                assert!(
                    NOT_KEYS.contains(&literal) || is_sample(&hex::decode(literal).unwrap()),
                    "{file}: {literal} looks like a key and is not in SAMPLE_KEYS"
                );
            }
        }
    }

    fn read(path: &std::path::Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    /// The files in `dir` (and below it when `deep`).
    fn files_in(dir: &std::path::Path, deep: bool) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                out.push(path);
            } else if deep && path.is_dir() {
                out.extend(files_in(&path, true));
            }
        }
        out
    }

    /// Runs of 22 to 64 hex digits (11 bytes, the shortest key quoted, to 32) of even length,
    /// between non-hex characters, that are not all digits.
    fn hex_runs(text: &str) -> Vec<&str> {
        text.split(|c: char| !c.is_ascii_hexdigit())
            .filter(|run| run.len() >= 22 && run.len() % 2 == 0 && run.len() <= 64)
            .filter(|run| !run.bytes().all(|b| b.is_ascii_digit()))
            .collect()
    }
}
