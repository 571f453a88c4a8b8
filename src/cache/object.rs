//! What the cache holds: a complete response with its client headers
//! rendered once at fill time, so that a hit only clones and writes.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

/// Fixed per-entry overhead counted against `capacity` besides body and
/// headers: key, moka's bookkeeping, the `Arc`s.
const ENTRY_OVERHEAD: usize = 256;

#[derive(Debug)]
pub struct CachedObject {
    pub status: StatusCode,
    /// Client headers, rendered at fill: all but `X-Cache` and `Age`.
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the response was received from the origin.
    pub stored_at: Instant,
    /// The response's age when received (an upstream `Age` is added to,
    /// not reset: RFC 9111 §4.2.3).
    pub initial_age: Duration,
    /// Freshness lifetime at the edge (see `freshness`).
    pub fresh_for: Duration,
}

impl CachedObject {
    /// Current age per RFC 9111 §4.2.3.
    pub fn age(&self, now: Instant) -> Duration {
        self.initial_age + now.saturating_duration_since(self.stored_at)
    }

    pub fn is_fresh(&self, now: Instant) -> bool {
        self.age(now) < self.fresh_for
    }

    /// Time left until the object turns stale.
    pub fn time_to_live(&self) -> Duration {
        self.fresh_for.saturating_sub(self.initial_age)
    }

    /// Bytes this object holds: what `capacity` bounds.
    pub fn weight(&self) -> u32 {
        let headers: usize = self.headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 32).sum();
        let total = self.body.len() + headers + ENTRY_OVERHEAD;
        u32::try_from(total).unwrap_or(u32::MAX)
    }
}
