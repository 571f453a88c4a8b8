//! Edge freshness (RFC 9111 §4.2, RFC 9213): how long the edge may serve a
//! stored response without asking the origin, and whether it may store it.
//!
//! Order: `CDN-Cache-Control` (if it has directives, it replaces
//! `Cache-Control` for this cache), then `s-maxage`, `max-age`,
//! `Expires − Date`. Without explicit freshness the route's `ttl.default`
//! applies, or, on routes without `ttl`, the heuristic of 10% of the time
//! since `Last-Modified` (capped at a day). A route's `ttl` clamps the
//! result. The route's `cache_control` only changes what clients see.

use std::time::{Duration, SystemTime};

use headers::{CacheControl, Header, HeaderMapExt};
use http::{HeaderMap, HeaderName};

use crate::config::TtlBounds;

static CDN_CACHE_CONTROL: HeaderName = HeaderName::from_static("cdn-cache-control");

/// Upper bound of heuristic freshness (RFC 9111 §4.2.2 leaves it to us).
const HEURISTIC_CAP: Duration = Duration::from_secs(86400);

/// The edge's decision about one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Must not be stored (`no-store`, `private`).
    Forbidden,
    /// May be stored and served this long from the time it was generated.
    Fresh(Duration),
}

/// Decides storability and freshness lifetime of a 200 (or other
/// heuristically cacheable) response.
pub fn storage(headers: &HeaderMap, now: SystemTime, ttl: Option<TtlBounds>) -> Storage {
    let cc = cache_control(headers);
    if let Some(cc) = &cc
        && (cc.no_store() || cc.private())
    {
        return Storage::Forbidden;
    }
    let explicit = cc.as_ref().and_then(|cc| {
        if cc.no_cache() {
            Some(Duration::ZERO)
        } else {
            cc.s_max_age().or_else(|| cc.max_age())
        }
    });
    let explicit = explicit.or_else(|| expires_lifetime(headers, now));
    let lifetime = match (explicit, ttl) {
        (Some(l), Some(t)) => l.clamp(t.min, t.max),
        (Some(l), None) => l,
        (None, Some(t)) => t.default,
        (None, None) => heuristic(headers, now),
    };
    Storage::Fresh(lifetime)
}

/// `CDN-Cache-Control` when present and parseable (RFC 9213 §2.1), else
/// `Cache-Control`.
fn cache_control(headers: &HeaderMap) -> Option<CacheControl> {
    let mut cdn = headers.get_all(&CDN_CACHE_CONTROL).iter().peekable();
    if cdn.peek().is_some()
        && let Ok(cc) = CacheControl::decode(&mut cdn)
    {
        return Some(cc);
    }
    headers.typed_get::<CacheControl>()
}

fn expires_lifetime(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if !headers.contains_key(http::header::EXPIRES) {
        return None;
    }
    // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
    let Some(expires) = headers.typed_get::<headers::Expires>() else {
        return Some(Duration::ZERO);
    };
    let date = headers.typed_get::<headers::Date>().map_or(now, SystemTime::from);
    Some(SystemTime::from(expires).duration_since(date).unwrap_or(Duration::ZERO))
}

fn heuristic(headers: &HeaderMap, now: SystemTime) -> Duration {
    let Some(modified) = headers.typed_get::<headers::LastModified>() else {
        return Duration::ZERO;
    };
    let date = headers.typed_get::<headers::Date>().map_or(now, SystemTime::from);
    let since = date
        .duration_since(SystemTime::from(modified))
        .unwrap_or(Duration::ZERO);
    (since / 10).min(HEURISTIC_CAP)
}

/// The `Age` an upstream cache reported (RFC 9111 §5.1), zero if none.
pub fn upstream_age(headers: &HeaderMap) -> Duration {
    headers
        .get(http::header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    const DAY: Duration = Duration::from_secs(86400);
    const BOUNDS: TtlBounds = TtlBounds {
        min: Duration::from_secs(60),
        default: DAY,
        max: Duration::from_secs(7 * 86400),
    };

    fn secs(s: u64) -> Storage {
        Storage::Fresh(Duration::from_secs(s))
    }

    #[test]
    fn s_maxage_wins_over_max_age() {
        let hm = h(&[("cache-control", "max-age=10, s-maxage=20")]);
        assert_eq!(storage(&hm, SystemTime::now(), None), secs(20));
    }

    #[test]
    fn cdn_cache_control_wins_over_cache_control() {
        let hm = h(&[("cache-control", "max-age=10"), ("cdn-cache-control", "max-age=99")]);
        assert_eq!(storage(&hm, SystemTime::now(), None), secs(99));
    }

    #[test]
    fn no_store_and_private_are_not_stored() {
        for cc in ["no-store", "private", "private, max-age=60"] {
            assert_eq!(
                storage(&h(&[("cache-control", cc)]), SystemTime::now(), Some(BOUNDS)),
                Storage::Forbidden,
                "{cc}"
            );
        }
    }

    #[test]
    fn route_default_applies_without_explicit_freshness() {
        assert_eq!(
            storage(&HeaderMap::new(), SystemTime::now(), Some(BOUNDS)),
            Storage::Fresh(DAY)
        );
    }

    #[test]
    fn route_bounds_clamp_explicit_freshness() {
        let low = h(&[("cache-control", "max-age=1")]);
        assert_eq!(storage(&low, SystemTime::now(), Some(BOUNDS)), secs(60));
        let high = h(&[("cache-control", "max-age=99999999")]);
        assert_eq!(storage(&high, SystemTime::now(), Some(BOUNDS)), secs(7 * 86400));
    }

    #[test]
    fn expires_minus_date() {
        let hm = h(&[
            ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("expires", "Sun, 06 Nov 1994 08:50:37 GMT"),
        ]);
        assert_eq!(storage(&hm, SystemTime::now(), None), secs(60));
        let invalid = h(&[("expires", "0")]);
        assert_eq!(storage(&invalid, SystemTime::now(), None), secs(0));
    }

    #[test]
    fn heuristic_is_a_tenth_of_last_modified_age_capped() {
        let hm = h(&[
            ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("last-modified", "Sun, 06 Nov 1994 07:49:37 GMT"),
        ]);
        assert_eq!(storage(&hm, SystemTime::now(), None), secs(360));
        let old = h(&[
            ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("last-modified", "Tue, 06 Nov 1984 08:49:37 GMT"),
        ]);
        assert_eq!(storage(&old, SystemTime::now(), None), Storage::Fresh(HEURISTIC_CAP));
        assert_eq!(storage(&HeaderMap::new(), SystemTime::now(), None), secs(0));
    }

    #[test]
    fn upstream_age_parses_seconds() {
        assert_eq!(upstream_age(&h(&[("age", "42")])), Duration::from_secs(42));
        assert_eq!(upstream_age(&h(&[("age", "x")])), Duration::ZERO);
    }
}
