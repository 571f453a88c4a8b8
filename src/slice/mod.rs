//! Slices: on routes with `slice = SIZE`, an object larger than
//! `max_object_size` is cached as independent pieces `[n·SIZE, (n+1)·SIZE)`,
//! each fetched with a ranged origin GET, weighed, evicted and coalesced
//! like any entry — as nginx's slice module does — so that video seeks hit
//! the edge and memory holds only the pieces in demand.
//!
//! The object's entry (`CachedObject` with `sliced`) holds its headers and
//! validators; slice entries live under keys derived from the object key
//! and a hash of its validator, so slices of two versions of an object can
//! never be mixed, and a changed object simply stops finding old slices.

pub mod fill;
pub mod respond;

use std::hash::{Hash, Hasher};

use http::{HeaderMap, HeaderValue, header};

use crate::cache::CacheKey;

/// Where an object's slices are and how to check them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceInfo {
    pub total: u64,
    pub size: u64,
    /// Hash of the object's validator (ETag, else Last-Modified).
    pub tag: u64,
}

impl SliceInfo {
    pub fn count(&self) -> u64 {
        self.total.div_ceil(self.size)
    }

    /// Inclusive byte range of slice `n`.
    pub fn bounds(&self, n: u64) -> (u64, u64) {
        let start = n * self.size;
        (start, (start + self.size).min(self.total) - 1)
    }

    pub fn key(&self, object: &CacheKey, n: u64) -> CacheKey {
        // NUL cannot occur in an object key (routing refuses it).
        object.derived(format!("{}\0{:016x}\0{n}", object.key(), self.tag))
    }
}

/// The `Range` header of slice `n` of `size` bytes (the end may pass the
/// object's end: origins clamp it, and the first request does not know it).
pub fn range_header(n: u64, size: u64) -> HeaderValue {
    let start = n * size;
    HeaderValue::from_str(&format!("bytes={start}-{}", start + size - 1)).expect("ascii")
}

/// `Content-Range: bytes a-b/total` of a 206.
pub fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    parse_content_range(headers.get(header::CONTENT_RANGE)?)
}

/// `bytes A-B/TOTAL` with A ≤ B < TOTAL.
pub fn parse_content_range(v: &http::HeaderValue) -> Option<(u64, u64, u64)> {
    let v = v.to_str().ok()?;
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let (a, b, total) = (
        a.trim().parse().ok()?,
        b.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (a <= b && b < total).then_some((a, b, total))
}

/// Identifies a version of an object: its ETag, else its Last-Modified.
pub fn validator_tag(headers: &HeaderMap) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    headers
        .get(header::ETAG)
        .or_else(|| headers.get(header::LAST_MODIFIED))
        .map(|v| v.as_bytes())
        .hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_arithmetic() {
        let info = SliceInfo {
            total: 2500,
            size: 1000,
            tag: 1,
        };
        assert_eq!(info.count(), 3);
        assert_eq!(info.bounds(0), (0, 999));
        assert_eq!(info.bounds(2), (2000, 2499));
        assert_eq!(range_header(2, 1000), "bytes=2000-2999");
        let key = CacheKey::new(3, "media/v.mp4");
        assert_ne!(info.key(&key, 1), SliceInfo { tag: 2, ..info }.key(&key, 1));
    }

    #[test]
    fn parses_content_range() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("bytes 1000-1999/2500"));
        assert_eq!(content_range(&h), Some((1000, 1999, 2500)));
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("bytes */2500"));
        assert_eq!(content_range(&h), None);
    }
}
