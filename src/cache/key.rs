//! The cache key: route plus object key (plus the query string on HTTP
//! routes). Variants of one object (encodings, later `Vary`) live inside one
//! entry under one key, so that purging a key purges them all.

/// Identifies one cached object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    route: u32,
    key: Box<str>,
}

impl CacheKey {
    pub fn new(route: u32, key: impl Into<Box<str>>) -> CacheKey {
        CacheKey { route, key: key.into() }
    }

    pub fn route(&self) -> u32 {
        self.route
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}
