//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) through the same target
//! bodies the fuzzer runs, so CI checks them on stable Rust on every run.

use std::path::Path;

#[test]
fn every_corpus_file_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for (target, run) in typed_sessions::fuzzing::TARGETS {
        let dir = root.join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut files = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(
                outcome.is_ok(),
                "fuzz target {target} fails on {}",
                path.display()
            );
            files += 1;
        }
        assert!(files > 0, "the corpus of {target} is empty");
        replayed += files;
    }
    eprintln!("replayed {replayed} corpus files");
}
