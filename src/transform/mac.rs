//! HMAC with a key schedule computed once: shared by [`Sign`](super::Sign) and the Ktor formats.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};

/// The hash functions HMAC is offered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The length of the MAC in bytes.
    pub(crate) fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

/// An HMAC already keyed: cloning it skips the key schedule (two hash-block compressions).
#[derive(Clone)]
pub(crate) enum Keyed {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

impl Keyed {
    /// Keys HMAC-`hash` with `key` (any length; HMAC hashes keys longer than a block).
    pub(crate) fn new(hash: Hash, key: &[u8]) -> Keyed {
        // HMAC's `new_from_slice` accepts every key length, so the fallback is unreachable.
        // It keeps this function total and fails closed: a random key nobody knows, so nothing
        // written verifies anywhere else and nothing from outside verifies here.
        fn keyed<M: KeyInit + Mac>(key: &[u8]) -> M {
            <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| {
                let mut random = zeroize::Zeroizing::new(hmac::digest::Key::<M>::default());
                crate::random::fill_from_os(random.as_mut_slice());
                <M as KeyInit>::new(&random)
            })
        }
        match hash {
            Hash::Sha1 => Keyed::Sha1(keyed(key)),
            Hash::Sha256 => Keyed::Sha256(keyed(key)),
            Hash::Sha384 => Keyed::Sha384(keyed(key)),
            Hash::Sha512 => Keyed::Sha512(keyed(key)),
        }
    }

    /// HMAC over the concatenation of `parts`.
    pub(crate) fn compute(&self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]]) -> Vec<u8> {
            let mut m = m.clone();
            for part in parts {
                m.update(part);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Keyed::Sha1(m) => run(m, parts),
            Keyed::Sha256(m) => run(m, parts),
            Keyed::Sha384(m) => run(m, parts),
            Keyed::Sha512(m) => run(m, parts),
        }
    }

    /// Checks `tag` against the HMAC over `parts`, in constant time (`verify_slice`, which
    /// also refuses a tag of the wrong length).
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]], tag: &[u8]) -> bool {
            let mut m = m.clone();
            for part in parts {
                m.update(part);
            }
            m.verify_slice(tag).is_ok()
        }
        match self {
            Keyed::Sha1(m) => run(m, parts, tag),
            Keyed::Sha256(m) => run(m, parts, tag),
            Keyed::Sha384(m) => run(m, parts, tag),
            Keyed::Sha512(m) => run(m, parts, tag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let data: &[&[u8]] = &[b"what do ya ", b"want for nothing?"];
        let sha256 = Keyed::new(Hash::Sha256, b"Jefe");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(hex::encode(sha256.compute(data)), expected);
        assert!(sha256.verify(data, &hex::decode(expected).unwrap()));
        let sha512 = Keyed::new(Hash::Sha512, b"Jefe");
        assert_eq!(
            hex::encode(sha512.compute(data)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert_eq!(sha512.compute(data).len(), Hash::Sha512.output_len());
        assert_eq!(
            Keyed::new(Hash::Sha384, b"Jefe").compute(data).len(),
            Hash::Sha384.output_len()
        );
        assert_eq!(
            Keyed::new(Hash::Sha1, b"Jefe").compute(data).len(),
            Hash::Sha1.output_len()
        );
    }

    #[test]
    fn verify_refuses_truncated_extended_and_altered_tags() {
        let mac = Keyed::new(Hash::Sha256, b"k");
        let tag = mac.compute(&[b"v"]);
        assert!(mac.verify(&[b"v"], &tag));
        assert!(!mac.verify(&[b"v"], &tag[..31]));
        assert!(!mac.verify(&[b"v"], &[&tag[..], b"x"].concat()));
        assert!(!mac.verify(&[b"v"], &[]));
        let mut altered = tag.clone();
        altered[0] ^= 1;
        assert!(!mac.verify(&[b"v"], &altered));
        assert!(!mac.verify(&[b"w"], &tag));
    }
}
