//! The cache key: route plus object key (plus the query string on HTTP
//! routes, and the `Host` on routes whose origin is sent the client's
//! `Host`). Variants of one object (encodings, `Vary`) live inside one
//! entry under one key, so that purging a key purges them all.
//!
//! The host is part of the key exactly when the origin sees it (CloudFront
//! keys on `Host` when it forwards it): otherwise whatever `Host` one
//! client sent would shape the object stored for every other host (cache
//! poisoning). Purges match route and key only, so they cover every host.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Identifies one cached object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    route: u32,
    key: Box<str>,
    /// The `Host` forwarded to the origin (lower-cased), on
    /// `preserve_host` origins only.
    host: Option<Box<str>>,
}

impl CacheKey {
    pub fn new(route: u32, key: impl Into<Box<str>>) -> CacheKey {
        CacheKey {
            route,
            key: key.into(),
            host: None,
        }
    }

    /// This key for one host (see the module docs).
    pub fn with_host(self, host: Option<Box<str>>) -> CacheKey {
        CacheKey { host, ..self }
    }

    /// A key of the same route and host for an object derived from this
    /// one (a slice).
    pub fn derived(&self, key: impl Into<Box<str>>) -> CacheKey {
        CacheKey {
            route: self.route,
            key: key.into(),
            host: self.host.clone(),
        }
    }

    pub fn route(&self) -> u32 {
        self.route
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

/// A key's parts, for lookups that borrow them from the request rather
/// than allocate a `CacheKey` per hit (the store is keyed by `CacheKey`,
/// which borrows as `dyn KeyParts`; both hash and compare by `parts`).
pub trait KeyParts {
    fn parts(&self) -> (u32, &str, Option<&str>);
}

impl KeyParts for CacheKey {
    fn parts(&self) -> (u32, &str, Option<&str>) {
        (self.route, &self.key, self.host.as_deref())
    }
}

/// A borrowed cache key.
pub struct KeyRef<'a> {
    pub route: u32,
    pub key: &'a str,
    pub host: Option<&'a str>,
}

impl KeyParts for KeyRef<'_> {
    fn parts(&self) -> (u32, &str, Option<&str>) {
        (self.route, self.key, self.host)
    }
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl Hash for dyn KeyParts + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn KeyParts + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyParts + '_ {}

impl<'a> Borrow<dyn KeyParts + 'a> for CacheKey {
    fn borrow(&self) -> &(dyn KeyParts + 'a) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn a_borrowed_key_hashes_and_compares_as_the_owned_one() {
        let state = foldhash::quality::RandomState::default();
        for (route, key, host) in [
            (1, "/a?b", None),
            (2, "media/x.png", Some("cdn.example.com")),
            (0, "", None),
        ] {
            let owned = CacheKey::new(route, key).with_host(host.map(Box::from));
            let borrowed = KeyRef { route, key, host };
            let (o, b): (&dyn KeyParts, &dyn KeyParts) = (&owned, &borrowed);
            assert_eq!(state.hash_one(&owned), state.hash_one(o));
            assert_eq!(state.hash_one(o), state.hash_one(b));
            assert!(o == b);
        }
        let a = KeyRef {
            route: 1,
            key: "x",
            host: None,
        };
        let b = KeyRef {
            route: 1,
            key: "x",
            host: Some("h"),
        };
        assert!((&a as &dyn KeyParts) != (&b as &dyn KeyParts));
    }
}
