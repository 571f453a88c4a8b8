//! Storage and freshness (RFC 9111 §3, §4.2; RFC 9213): whether the edge may
//! store a response, how long it may serve it without asking the origin,
//! how long stale, and how old it already was on arrival.
//!
//! Freshness order: `CDN-Cache-Control` (if it has directives, it replaces
//! `Cache-Control` for this cache), then `s-maxage`, `max-age`,
//! `Expires − Date`. Without explicit freshness: the route's `ttl.default`,
//! else 10% of the time since `Last-Modified` (capped at a day), only for
//! heuristically cacheable statuses or `public`. A route's `ttl` clamps the
//! result. The route's `cache_control` only changes what clients see.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, StatusCode, header};

use super::directives::Directives;
use crate::route::RoutePolicy;

static CDN_CACHE_CONTROL: HeaderName = HeaderName::from_static("cdn-cache-control");

/// Upper bound of heuristic freshness (RFC 9111 §4.2.2 leaves it to us).
const HEURISTIC_CAP: Duration = Duration::from_secs(86400);

/// How the edge may keep a response it stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Served without asking the origin this long after generation.
    pub fresh: Duration,
    /// After that, served stale while revalidating in the background.
    pub stale_while_revalidate: Duration,
    /// After that, served stale when the origin fails.
    pub stale_if_error: Duration,
    /// `must-revalidate` / `proxy-revalidate` / `s-maxage`: never stale.
    pub must_revalidate: bool,
    /// The route's `error_ttl` decided it (clients see `max-age=<ttl>`).
    pub from_error_ttl: bool,
}

/// What RFC 9111 §3 needs to know of the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFacts {
    pub authorization: bool,
}

/// Statuses cacheable by default (RFC 9110 §15.1).
fn heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// Statuses whose semantics we understand, for `must-understand`.
fn understood(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 300 | 301 | 302 | 303 | 307 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

/// The directives that govern this cache: `CDN-Cache-Control` if present
/// with any directive, else `Cache-Control`.
pub fn directives(headers: &HeaderMap) -> Directives {
    let cdn = headers.get_all(&CDN_CACHE_CONTROL);
    // RFC 9213 §2.1: an invalid Structured Field is ignored as a whole.
    if cdn.iter().all(super::directives::valid_structured_dictionary) {
        let cdn = Directives::parse(cdn);
        if cdn.any {
            return cdn;
        }
    }
    Directives::parse(headers.get_all(header::CACHE_CONTROL))
}

/// `None`: must not be stored. `cached_error`: a 404 (or S3's 403) that the
/// route's `error_ttl` governs when the origin gives no explicit freshness.
pub fn decide(
    status: StatusCode,
    headers: &HeaderMap,
    request: RequestFacts,
    policy: &RoutePolicy,
    cached_error: bool,
    now: SystemTime,
) -> Option<Lifetime> {
    let cc = directives(headers);
    if status.is_server_error() || status == StatusCode::PARTIAL_CONTENT || status == StatusCode::NOT_MODIFIED {
        return None;
    }
    if cc.must_understand {
        if !understood(status) {
            return None;
        }
    } else if cc.no_store {
        return None;
    }
    if !shareable(&cc, headers, request, policy) {
        return None;
    }
    let explicit = if cc.no_cache {
        Some(Duration::ZERO)
    } else {
        cc.s_maxage
            .or(cc.max_age)
            .map(Duration::from_secs)
            .or_else(|| expires(headers, now))
    };
    let mut from_error_ttl = false;
    let fresh = match explicit {
        Some(l) => l,
        None if cached_error && policy.error_ttl.is_some() => {
            from_error_ttl = true;
            policy.error_ttl.unwrap_or_default()
        }
        None if !(heuristically_cacheable(status) || cc.public) => return None,
        None => match policy.ttl {
            Some(t) => t.default,
            None => heuristic(headers, now),
        },
    };
    let fresh = match (policy.ttl, from_error_ttl) {
        (Some(t), false) => fresh.clamp(t.min, t.max),
        _ => fresh,
    };
    // An unhashed name on an `immutable = "hashed"` route: whatever its
    // metadata claims, the edge asks again after this.
    let fresh = policy.ttl_cap.map_or(fresh, |cap| fresh.min(cap));
    let secs = |d: Option<u64>, default: Duration| d.map_or(default, Duration::from_secs);
    Some(Lifetime {
        fresh,
        stale_while_revalidate: secs(cc.stale_while_revalidate, policy.stale_while_revalidate),
        stale_if_error: secs(cc.stale_if_error, policy.stale_if_error),
        must_revalidate: cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage.is_some() || cc.no_cache,
        from_error_ttl,
    })
}

/// RFC 9111 §3 and §3.5 on who else may be served a response, whatever
/// its status and freshness: not `private`; to a request with
/// `Authorization` only if `public`, `s-maxage` or `must-revalidate`; no
/// `Set-Cookie` unless the route stores it; not `Vary: *`.
pub fn shareable(cc: &Directives, headers: &HeaderMap, request: RequestFacts, policy: &RoutePolicy) -> bool {
    let authorization_allowed = !request.authorization || cc.must_revalidate || cc.public || cc.s_maxage.is_some();
    let cookie_allowed = policy.store_set_cookie || !headers.contains_key(header::SET_COOKIE);
    !cc.private && authorization_allowed && cookie_allowed && !vary_star(headers)
}

fn vary_star(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*")
}

fn date(headers: &HeaderMap, name: HeaderName) -> Option<SystemTime> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    httpdate::parse_http_date(first.to_str().ok()?.trim()).ok()
}

fn expires(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if !headers.contains_key(header::EXPIRES) {
        return None;
    }
    // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
    let Some(expires) = date(headers, header::EXPIRES) else {
        return Some(Duration::ZERO);
    };
    let date = date(headers, header::DATE).unwrap_or(now);
    Some(expires.duration_since(date).unwrap_or(Duration::ZERO))
}

fn heuristic(headers: &HeaderMap, now: SystemTime) -> Duration {
    let Some(modified) = date(headers, header::LAST_MODIFIED) else {
        return Duration::ZERO;
    };
    let date = date(headers, header::DATE).unwrap_or(now);
    (date.duration_since(modified).unwrap_or(Duration::ZERO) / 10).min(HEURISTIC_CAP)
}

/// The response's age on arrival (RFC 9111 §4.2.3): the larger of the
/// apparent age (`response_time − Date`) and the upstream `Age` plus the
/// response delay.
pub fn initial_age(headers: &HeaderMap, request_time: SystemTime, response_time: SystemTime) -> Duration {
    let apparent = date(headers, header::DATE)
        .and_then(|d| response_time.duration_since(d).ok())
        .unwrap_or(Duration::ZERO);
    let delay = response_time.duration_since(request_time).unwrap_or(Duration::ZERO);
    apparent.max(upstream_age(headers) + delay)
}

/// The `Age` an upstream cache reported (RFC 9111 §5.1), zero if none or
/// invalid; the first value of the first line counts (`7200, 0` is 7200).
pub fn upstream_age(headers: &HeaderMap) -> Duration {
    headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

#[cfg(test)]
#[path = "freshness_tests.rs"]
mod tests;
