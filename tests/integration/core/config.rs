//! Every configuration mistake is an error from `build()`, with a message that says what to fix.

use typed_sessions::storage::MemoryStorage;
use typed_sessions::{ConfigError, SameSite, SessionsConfig};

use crate::common::TestUserSession;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Other;

fn build_err(config: SessionsConfig) -> ConfigError {
    config
        .build()
        .expect_err("the configuration should be refused")
}

#[test]
fn duplicate_name_is_refused() {
    let err = build_err(
        SessionsConfig::new()
            .cookie::<TestUserSession>("s", |c| c.unprotected())
            .header::<Other>("s", |h| h.unprotected()),
    );
    assert_eq!(err, ConfigError::DuplicateName { name: "s".into() });
}

#[test]
fn duplicate_type_is_refused_and_names_the_first_registration() {
    let err = build_err(
        SessionsConfig::new()
            .cookie::<TestUserSession>("a", |c| c.unprotected())
            .cookie_with_storage::<TestUserSession, _>("b", MemoryStorage::new(), |c| c),
    );
    match &err {
        ConfigError::DuplicateType {
            type_name,
            existing,
        } => {
            assert!(type_name.ends_with("TestUserSession"), "{type_name}");
            assert_eq!(existing, "a");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().contains("already registered (as `a`)"),
        "{err}"
    );
}

#[test]
fn different_names_and_types_are_fine() {
    SessionsConfig::new()
        .cookie::<TestUserSession>("a", |c| c.unprotected())
        .cookie::<Other>("b", |c| c.unprotected())
        .build()
        .unwrap();
}

#[test]
fn invalid_cookie_and_header_names_are_refused() {
    for bad in [
        "", "a b", "a;b", "a=b", "a\"b", "$dollar", "ümlaut", "a\tb", "a,b",
    ] {
        let err =
            build_err(SessionsConfig::new().cookie::<TestUserSession>(bad, |c| c.unprotected()));
        assert!(
            matches!(err, ConfigError::InvalidCookieName { .. }),
            "{bad:?}: {err:?}"
        );
    }
    for bad in [
        "",
        "a b",
        "a:b",
        "x(y)",
        "ü",
        "cookie",
        "Set-Cookie",
        "content-length",
    ] {
        let err =
            build_err(SessionsConfig::new().header::<TestUserSession>(bad, |h| h.unprotected()));
        assert!(
            matches!(err, ConfigError::InvalidHeaderName { .. }),
            "{bad:?}: {err:?}"
        );
    }
}

#[test]
fn attribute_combinations_are_checked() {
    let cases: Vec<(SessionsConfig, &str)> = vec![
        (
            SessionsConfig::new().cookie::<TestUserSession>("s", |c| {
                c.unprotected().secure(false).same_site(SameSite::None)
            }),
            "`SameSite=None` requires `Secure`",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("__Host-s", |c| c.unprotected().domain("example.com")),
            "a `__Host-` cookie must not have a `Domain`",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("__Host-s", |c| c.unprotected().path("/app")),
            "a `__Host-` cookie must have `Path=/`",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("__Host-s", |c| c.unprotected().no_path()),
            "a `__Host-` cookie must have `Path=/`",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("__Host-s", |c| c.unprotected().secure(false)),
            "a `__Host-` cookie must be `Secure`",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("__Secure-s", |c| c.unprotected().ktor_defaults()),
            "a `__Secure-` cookie must be `Secure`",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("s", |c| c.unprotected().path("no-slash")),
            "a cookie path must start with `/`",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("s", |c| c.unprotected().path("/a;Domain=evil")),
            "must not contain `;`",
        ),
        (
            SessionsConfig::new().cookie::<TestUserSession>("s", |c| {
                c.unprotected().attribute("Max-Age", Some("1"))
            }),
            "has its own setting",
        ),
        (
            SessionsConfig::new()
                .cookie::<TestUserSession>("s", |c| c.unprotected().attribute("bad key", None)),
            "must be a token",
        ),
        (
            SessionsConfig::new().cookie_with_storage::<TestUserSession, _>(
                "s",
                MemoryStorage::new(),
                |c| c.renew_after(1.5),
            ),
            "`renew_after` must be between 0.0 and 1.0",
        ),
    ];
    for (config, expected) in cases {
        let err = build_err(config).to_string();
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
        assert!(
            err.starts_with("session `") || err.starts_with('`'),
            "{err}"
        );
    }
}

#[test]
fn a_valid_host_prefixed_cookie_builds() {
    SessionsConfig::new()
        .cookie::<TestUserSession>("__Host-s", |c| c.unprotected().same_site(SameSite::Strict))
        .build()
        .unwrap();
}

#[test]
fn a_by_value_session_without_a_transformer_must_say_so() {
    for config in [
        SessionsConfig::new().cookie::<TestUserSession>("s", |c| c.path("/")),
        SessionsConfig::new().header::<TestUserSession>("x-s", |h| h),
    ] {
        let err = build_err(config);
        assert!(matches!(err, ConfigError::Unprotected { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(".transform(Encrypt::new(key))") && message.contains(".unprotected()"),
            "{message}"
        );
    }
    // Said explicitly, or protected, or by id (the chain then protects only the id): built.
    let key = typed_sessions::Key::generate();
    SessionsConfig::new()
        .cookie::<TestUserSession>("a", |c| c.unprotected())
        .header::<Other>("x-b", |h| {
            h.transform(typed_sessions::Sign::new(key.clone()))
        })
        .cookie_with_storage::<u32, _>("c", MemoryStorage::new(), |c| c)
        .build()
        .unwrap();
    // Both at once is a contradiction.
    let err = build_err(SessionsConfig::new().cookie::<TestUserSession>("s", |c| {
        c.unprotected().transform(typed_sessions::Encrypt::new(key))
    }));
    assert!(err.to_string().contains("contradict"), "{err}");
}

#[test]
fn cookie_prefixes_are_matched_ignoring_case_as_browsers_do() {
    for name in ["__Host-s", "__host-s", "__HOST-s", "__HoSt-s"] {
        let err = build_err(
            SessionsConfig::new().cookie::<TestUserSession>(name, |c| c.unprotected().path("/app")),
        );
        assert!(err.to_string().contains("Path=/"), "{name}: {err}");
        let err = build_err(
            SessionsConfig::new()
                .cookie::<TestUserSession>(name, |c| c.unprotected().domain("example.com")),
        );
        assert!(err.to_string().contains("Domain"), "{name}: {err}");
    }
    for name in ["__Secure-s", "__secure-s", "__SECURE-s"] {
        let err =
            build_err(SessionsConfig::new().cookie::<TestUserSession>(name, |c| {
                c.unprotected().secure(false).same_site(None)
            }));
        assert!(err.to_string().contains("Secure"), "{name}: {err}");
    }
    // Names that only look alike are ordinary cookies.
    SessionsConfig::new()
        .cookie::<TestUserSession>("__Hosts", |c| c.unprotected().path("/app"))
        .build()
        .unwrap();
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Versioned;

impl typed_sessions::serializer::SessionVersion for Versioned {
    const VERSION: u32 = 1;
    type Previous = typed_sessions::serializer::Unversioned;
    fn migrate(previous: typed_sessions::serializer::Unversioned) -> Self {
        match previous {}
    }
}

#[test]
fn a_versioned_by_value_session_needs_a_transformer() {
    let err = build_err(SessionsConfig::new().cookie::<Versioned>("v", |c| c.versioned()));
    assert!(matches!(err, ConfigError::Unprotected { .. }), "{err:?}");
    // Even when asked for explicitly: the version must travel authenticated.
    let err =
        build_err(SessionsConfig::new().cookie::<Versioned>("v", |c| c.versioned().unprotected()));
    assert!(
        matches!(&err, ConfigError::Invalid { reason, .. } if reason.contains("needs a transformer")),
        "{err:?}"
    );
    SessionsConfig::new()
        .cookie::<Versioned>("v", |c| {
            c.versioned()
                .transform(typed_sessions::Encrypt::new(typed_sessions::Key::generate()))
        })
        .build()
        .unwrap();
    // By id, the version is in the record: no transformer needed.
    SessionsConfig::new()
        .cookie_with_storage::<Versioned, _>("v", MemoryStorage::new(), |c| c.versioned())
        .build()
        .unwrap();
}

#[test]
fn principals_need_a_storage_with_a_principal_index() {
    let dir = tempfile::tempdir().unwrap();
    let ktor = typed_sessions::storage::DirectoryStorage::ktor_compatible(dir.path()).unwrap();
    let err = build_err(
        SessionsConfig::new().cookie_with_storage::<TestUserSession, _>("s", ktor, |c| {
            c.principal(|s: &TestUserSession| Some(s.user_id.clone()))
        }),
    );
    assert!(
        matches!(&err, ConfigError::Invalid { reason, .. } if reason.contains("principal index")),
        "{err:?}"
    );
}
