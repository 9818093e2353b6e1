//! Every command's `--help`.

use super::run;

#[test]
fn every_command_has_help_that_states_its_purpose() {
    let cases: [(&[&str], &[&str]); 7] = [
        (&["--help"], &["keygen", "inspect", "store", "Exit status"]),
        (
            &["keygen", "--help"],
            &["random master key", "key id", "--bytes"],
        ),
        (
            &["inspect", "--help"],
            &[
                "Explain a session cookie or header value",
                "--config",
                "ktor_sign_key",
                "TYPED_SESSIONS_KEY",
                "ktor-digest",
                "--ktor-digest-salt",
                "SessionTransportTransformerDigest",
            ],
        ),
        (&["store", "--help"], &["stats", "purge-expired", "clear"]),
        (
            &["store", "stats", "--help"],
            &["Count the sessions", "redis+cluster://"],
        ),
        (
            &["store", "purge-expired", "--help"],
            &["Delete the sessions that have expired", "progress bar"],
        ),
        (
            &["store", "clear", "--help"],
            &["End one session", "--session"],
        ),
    ];
    for (args, needles) in cases {
        let run = run(args).expect(0);
        for needle in needles {
            assert!(
                run.stdout.contains(needle),
                "{args:?} --help lacks {needle:?}:\n{}",
                run.stdout
            );
        }
        assert!(run.stderr.is_empty(), "{run:#?}");
    }
}

#[test]
fn usage_errors_are_one_line_with_status_2() {
    run(&["inspect"]).expect_error(2, "VALUE");
    run(&["frobnicate"]).expect_error(2, "frobnicate");
    run(&["inspect", "--format", "rot13", "x"]).expect_error(2, "rot13");
    run(&["store", "stats"]).expect_error(2, "STORAGE");
}
