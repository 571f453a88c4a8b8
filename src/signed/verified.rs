//! Signatures already verified, so a repeat is not verified again.
//!
//! Why: a signature check is the most expensive step of a signed hit. In
//! a release build on one core of the dev machine: ~280 µs for RSA-2048,
//! ~400 µs for ECDSA P-256 (RustCrypto, pure Rust), against ~0.5 µs for a
//! hit here (SHA-256 of the claim + a moka lookup). A page with 50 signed
//! media URLs, or signed cookies sent with every asset request, presents
//! the same few signatures again and again; each repeat would pay the full
//! check.
//!
//! What is cached is only the cryptographic result: "this key signed these
//! policy bytes with this hash algorithm". The policy's conditions
//! (`DateLessThan`, `DateGreaterThan`, `IpAddress`, the resource) depend on
//! the clock and the client and are checked on every request, cached or
//! not. Only successes go in, so refused signatures cannot fill the cache.
//!
//! The entry is the SHA-256 of the key-pair id, the hash algorithm, the
//! policy and the signature (length-prefixed, so no two inputs run
//! together): collision resistance is what makes a hit as good as a check,
//! where a fast non-cryptographic hash would let a forged signature share
//! a cached one's entry. Entries are bounded in number and live an hour.
//! The cache belongs to one set of trusted keys: a config reload builds a
//! new one, so a removed key stops verifying at once.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};

use super::key::HashAlgorithm;

/// Signatures verified recently (at most this many entries).
const MAX_ENTRIES: u64 = 10_000;
const TTL: Duration = Duration::from_secs(3600);

/// What one verification is about.
pub struct Claim<'a> {
    pub key_pair_id: &'a str,
    pub hash: HashAlgorithm,
    pub policy: &'a [u8],
    pub signature: &'a [u8],
}

pub struct VerifiedSignatures {
    entries: moka::sync::Cache<[u8; 32], ()>,
    /// Cryptographic checks performed (misses of this cache).
    verifications: Counter,
}

impl VerifiedSignatures {
    pub fn new(verifications: Counter) -> VerifiedSignatures {
        VerifiedSignatures {
            entries: moka::sync::Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(TTL)
                .build(),
            verifications,
        }
    }

    /// Whether the claim holds: from the cache, or by `check` (counted,
    /// and remembered when it holds).
    pub fn holds(&self, claim: &Claim<'_>, check: impl FnOnce() -> bool) -> bool {
        let id = fingerprint(claim);
        if self.entries.get(&id).is_some() {
            return true;
        }
        self.verifications.inc();
        let ok = check();
        if ok {
            self.entries.insert(id, ());
        }
        ok
    }
}

fn fingerprint(claim: &Claim<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [claim.key_pair_id.as_bytes(), claim.policy, claim.signature] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update([claim.hash as u8]);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim<'a>(id: &'a str, policy: &'a [u8], signature: &'a [u8]) -> Claim<'a> {
        Claim {
            key_pair_id: id,
            hash: HashAlgorithm::Sha1,
            policy,
            signature,
        }
    }

    #[test]
    fn only_successes_are_remembered_and_fields_do_not_run_together() {
        let v = VerifiedSignatures::new(Counter::default());
        assert!(!v.holds(&claim("K", b"p", b"s"), || false));
        assert!(!v.holds(&claim("K", b"p", b"s"), || false));
        assert_eq!(v.verifications.get(), 2);
        assert!(v.holds(&claim("K", b"p", b"s"), || true));
        assert!(v.holds(&claim("K", b"p", b"s"), || unreachable!()));
        assert_eq!(v.verifications.get(), 3);
        // The same bytes split differently are a different claim.
        assert!(!v.holds(&claim("K", b"ps", b""), || false));
        assert!(!v.holds(&claim("Kp", b"", b"s"), || false));
        let sha256 = Claim {
            hash: HashAlgorithm::Sha256,
            ..claim("K", b"p", b"s")
        };
        assert!(!v.holds(&sha256, || false));
    }
}
