//! [`Migrate`]: moving a session from one format to another without logging anyone out.

use super::{Rejection, TransformContext, TransformError, Transformer, Unwrapped};

/// Moves a session from the format of `from` to the format of `to` while it stays in use: new
/// values are written by `to`; incoming values are read by `to` and, when `to` refuses them, by
/// `from`. A value only `from` accepts counts as written under an old key, so the sessions layer
/// re-sends it in `to`'s format the first time a handler reads it, exactly as it does for a
/// value under a previous key of a [`KeyRing`](super::KeyRing). Users move over as they come
/// back; nobody is logged out.
///
/// **While it is in place the session is only as strong as `from`**: whatever `from` accepts
/// is accepted. Keep the window short: deploy `Migrate::new(from, to)`, wait until every value
/// `from` wrote has expired or been re-sent (the cookie's max age, or the by-id session's
/// lifetime), then deploy `to` alone. Values in `to`'s format are never read by `from`, so
/// a value is never moved back.
///
/// A value re-sent from a format without an expiry (Ktor's) gets the expiry a value written
/// now would carry, so a by-value session with a [`ttl`](crate::SessionBuilder::ttl) accepts it
/// afterwards; a value that carried an expiry keeps it.
///
/// When both refuse a value, the rejection reported is `to`'s, unless `to` found it
/// [`Malformed`](Rejection::Malformed) (not its format at all): then it is `from`'s.
///
/// Moving Ktor 1.x sessions (an unkeyed digest) to [`Sign`](super::Sign):
///
/// ```
/// use typed_sessions::transform::{
///     Key, KtorUnkeyedDigest, Migrate, Sign, TransformContext, Transformer,
/// };
///
/// let key = Key::from_hex("5f1e9a3c7b2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7")?;
/// let migrate = Migrate::new(KtorUnkeyedDigest::new(), Sign::new(key.clone()));
/// let ctx = TransformContext::new("SESSION_LOGIN", std::time::SystemTime::now());
///
/// // A value a Ktor 1.x service wrote (SHA-384, salt "ktor") is still read, and marked for
/// // re-sending in the new format.
/// let from_ktor = KtorUnkeyedDigest::new().write(&ctx, "666")?;
/// let read = migrate.read(&ctx, &from_ktor).unwrap();
/// assert_eq!(read.value, "666");
/// assert!(read.stale_key);
///
/// // What it writes is a signed value, which reads as current.
/// let signed = migrate.write(&ctx, "666")?;
/// assert_eq!(Sign::new(key).read(&ctx, &signed).unwrap().value, "666");
/// assert!(!migrate.read(&ctx, &signed).unwrap().stale_key);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Migrate<F, T> {
    from: F,
    to: T,
}

impl<F: Transformer, T: Transformer> Migrate<F, T> {
    /// Reads `to` and `from`, writes `to`.
    pub fn new(from: F, to: T) -> Migrate<F, T> {
        Migrate { from, to }
    }
}

impl<F: Transformer, T: Transformer> Transformer for Migrate<F, T> {
    /// `to`'s value.
    fn write(&self, ctx: &TransformContext<'_>, value: &str) -> Result<String, TransformError> {
        self.to.write(ctx, value)
    }

    /// `to`'s reading if it accepts the value; else `from`'s, marked stale.
    fn read(&self, ctx: &TransformContext<'_>, value: &str) -> Result<Unwrapped, Rejection> {
        let current = match self.to.read(ctx, value) {
            Ok(read) => return Ok(read),
            Err(rejection) => rejection,
        };
        match self.from.read(ctx, value) {
            Ok(old) => Ok(Unwrapped {
                value: old.value,
                stale_key: true,
                expires_at: old.expires_at.or(ctx.expires_at),
            }),
            Err(old) if current == Rejection::Malformed => Err(old),
            Err(_) => Err(current),
        }
    }

    fn describe(&self) -> String {
        format!(
            "Migrate({} -> {})",
            self.from.describe(),
            self.to.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::transform::{Encrypt, Key, KtorSign, KtorUnkeyedDigest, Sign};

    fn key() -> Key {
        Key::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
    }

    fn digest_to_sign() -> Migrate<KtorUnkeyedDigest, Sign> {
        Migrate::new(KtorUnkeyedDigest::new(), Sign::new(key()))
    }

    /// A whole second (the modern formats carry expiries in seconds).
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn old_values_read_as_stale_and_new_ones_as_current() {
        let now = now();
        let ttl = now + Duration::from_secs(60);
        let ctx = TransformContext::new("s", now).with_expiry(Some(ttl));
        let t = digest_to_sign();
        let old = KtorUnkeyedDigest::new().write(&ctx, "payload").unwrap();
        let read = t.read(&ctx, &old).unwrap();
        assert_eq!(read.value, "payload");
        assert!(read.stale_key);
        assert_eq!(
            read.expires_at,
            Some(ttl),
            "the expiry a value written now gets"
        );
        assert_eq!(
            t.read(&ctx, &old).map(|r| r.value).as_deref(),
            Ok("payload")
        );

        let new = t.write(&ctx, "payload").unwrap();
        assert_eq!(
            Sign::new(key())
                .read(&ctx, &new)
                .map(|r| r.value)
                .as_deref(),
            Ok("payload")
        );
        let read = t.read(&ctx, &new).unwrap();
        assert!(!read.stale_key);
        assert_eq!(read.expires_at, Some(ttl));
        // The digest never reads the new format.
        assert!(KtorUnkeyedDigest::new().read(&ctx, &new).is_err());
    }

    #[test]
    fn an_old_value_with_an_expiry_keeps_it() {
        let now = now();
        let old_expiry = now + Duration::from_secs(5);
        let t = Migrate::new(Sign::new(key()), Encrypt::new(key()));
        let ctx = TransformContext::new("s", now);
        let old = Sign::new(key())
            .write(&ctx.with_expiry(Some(old_expiry)), "v")
            .unwrap();
        let ctx = ctx.with_expiry(Some(now + Duration::from_secs(3600)));
        let read = t.read(&ctx, &old).unwrap();
        assert!(read.stale_key);
        assert_eq!(read.expires_at, Some(old_expiry));
    }

    #[test]
    fn rejections_name_the_more_telling_reason() {
        let ctx = TransformContext::new("s", now());
        let t = digest_to_sign();
        // Neither format.
        assert_eq!(t.read(&ctx, "plain"), Err(Rejection::Malformed));
        // A digest value, tampered: not Sign's format, and the digest does not match.
        let old = KtorUnkeyedDigest::new().write(&ctx, "666").unwrap();
        let tampered = old.replacen("666", "667", 1);
        assert_eq!(t.read(&ctx, &tampered), Err(Rejection::BadSignature));
        // A signed value under another key: Sign's own reason.
        let other =
            Key::from_hex("1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a0f1e")
                .unwrap();
        let foreign = Sign::new(other).write(&ctx, "666").unwrap();
        assert_eq!(t.read(&ctx, &foreign), Err(Rejection::UnknownKey));
        // Too long for both.
        assert_eq!(t.read(&ctx, &"a".repeat(20_000)), Err(Rejection::TooLong));
    }

    #[test]
    fn it_describes_both_sides() {
        let t = Migrate::new(
            KtorSign::new_allowing_short_key(b"k").unwrap(),
            Sign::new(key()),
        );
        assert!(
            t.describe().starts_with("Migrate(KtorSign(HmacSHA256) -> "),
            "{}",
            t.describe()
        );
    }
}
