//! Unit tests of the transformer chain, the helpers every transformer's tests share
//! ([`support`]), and property tests over every transformer ([`properties`]).

mod properties;
pub(crate) mod support;

#[test]
fn debug_never_shows_the_unwrapped_value() {
    let unwrapped = Unwrapped::new("SECRET-SESSION".to_owned());
    let chain_read = ChainRead {
        value: Cow::Borrowed("SECRET-SESSION"),
        stale_key: false,
        expires_at: None,
    };
    let debug = format!("{unwrapped:?} {chain_read:?}");
    assert!(!debug.contains("SECRET"), "{debug}");
    assert!(debug.contains("value_len: 14"), "{debug}");
}

use super::*;

struct Append(&'static str);
impl Transformer for Append {
    fn write(&self, _: &TransformContext<'_>, v: &str) -> Result<String, TransformError> {
        Ok(format!("{v};{}", self.0))
    }
    fn read(&self, _: &TransformContext<'_>, v: &str) -> Result<Unwrapped, Rejection> {
        v.strip_suffix(&format!(";{}", self.0))
            .map(|inner| Unwrapped::new(inner.to_owned()))
            .ok_or(Rejection::Malformed)
    }
}

#[test]
fn chain_writes_in_order_and_reads_in_reverse() {
    let mut chain = Chain::default();
    chain.push(Box::new(Append("1")));
    chain.push(Box::new(Append("2")));
    let ctx = TransformContext::new("s", SystemTime::now());
    assert_eq!(chain.write(&ctx, "0").unwrap(), "0;1;2");
    assert_eq!(chain.read(&ctx, "0;1;2").unwrap().value, "0");
    assert_eq!(chain.read(&ctx, "0;2;1"), Err(Rejection::Malformed));
}

/// Reports a fixed key state and expiry.
struct Detail(bool, Option<u64>);
impl Transformer for Detail {
    fn write(&self, _: &TransformContext<'_>, v: &str) -> Result<String, TransformError> {
        Ok(v.to_owned())
    }
    fn read(&self, _: &TransformContext<'_>, v: &str) -> Result<Unwrapped, Rejection> {
        Ok(Unwrapped {
            value: v.to_owned(),
            stale_key: self.0,
            expires_at: self
                .1
                .map(|s| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s)),
        })
    }
}

#[test]
fn chain_read_is_stale_if_any_step_is_and_expires_at_the_earliest() {
    let ctx = TransformContext::new("s", SystemTime::now());
    let mut chain = Chain::default();
    chain.push(Box::new(Detail(false, Some(20))));
    chain.push(Box::new(Detail(true, None)));
    chain.push(Box::new(Detail(false, Some(10))));
    let read = chain.read(&ctx, "v").unwrap();
    assert!(read.stale_key);
    assert_eq!(
        read.expires_at,
        Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(10))
    );
    let mut fresh = Chain::default();
    fresh.push(Box::new(Detail(false, None)));
    let read = fresh.read(&ctx, "v").unwrap();
    assert_eq!(read.value, "v");
    assert!(!read.stale_key);
    assert_eq!(read.expires_at, None);
    let empty = Chain::default();
    assert!(matches!(
        empty.read(&ctx, "v").unwrap().value,
        Cow::Borrowed("v")
    ));
    assert!(matches!(
        empty.write(&ctx, "v").unwrap(),
        Cow::Borrowed("v")
    ));
}
