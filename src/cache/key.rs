//! The cache key: route plus object key (plus the query string on HTTP
//! routes, and the `Host` on routes whose origin is sent the client's
//! `Host`). Variants of one object (encodings, `Vary`) live inside one
//! entry under one key, so that purging a key purges them all.
//!
//! The host is part of the key exactly when the origin sees it (CloudFront
//! keys on `Host` when it forwards it): otherwise whatever `Host` one
//! client sent would shape the object stored for every other host (cache
//! poisoning). Purges match route and key only, so they cover every host.

/// Identifies one cached object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
