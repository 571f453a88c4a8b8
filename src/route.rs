//! Routing: the longest URL path prefix picks a route; the rest of the path,
//! percent-decoded once, is appended to the route's `key_prefix` to form the
//! object key (django-storages' `location`).
//!
//! Decoding is checked strictly because the key is handed to an origin: a
//! `.`/`..` segment, NUL, backslash or invalid UTF-8 is refused so that no
//! request can name an object outside the route's key prefix. HTTP routes
//! forward the path as received, so they also refuse what an origin could
//! read as another path than the one keyed: `;` parameters (`/..;/`),
//! encoded slashes and a second layer of percent-encoding.
//!
//! The route owns the request -> cache-key rule (`Route::request_key`), used
//! by the edge, the fill request and invalidations alike (`key`).

mod key;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use percent_encoding::percent_decode_str;
use thiserror::Error;

use crate::config::{ErrorPage, RouteConfig, TtlBounds};
use crate::cors::Cors;
use crate::immutable::Immutable;
use crate::metrics::RouteMetrics;
use crate::origin::metered::MeteredOrigin;
use crate::signed::Verifier;

pub use self::key::{KeyRule, QueryKey, sent_path_and_query};

/// A route with its origin resolved: what the edge needs per request.
pub struct Route {
    /// Position in the config; part of every cache key.
    pub id: u32,
    pub prefix: String,
    pub key_prefix: String,
    /// What of a request is keyed and forwarded (`key = {...}`).
    pub key: KeyRule,
    pub origin: Arc<MeteredOrigin>,
    /// Request counters, resolved once (see `metrics`).
    pub metrics: RouteMetrics,
    pub policy: RoutePolicy,
    /// What signed URLs are checked against (`RouteConfig::hostnames`).
    pub hostnames: Arc<[crate::host::Hostname]>,
}

/// How responses of a route are cached and presented to clients. Built by
/// config validation (`RouteConfig::policy`); a route holds its own copy.
#[derive(Debug, Clone)]
pub struct RoutePolicy {
    /// Replaces the origin's `Cache-Control` towards clients on 200/206/304.
    pub cache_control: Option<HeaderValue>,
    pub ttl: Option<TtlBounds>,
    /// How long a 404 (and S3's 403) without explicit freshness is cached;
    /// zero: not at all; `None`: RFC 9111 heuristics, as for any status.
    pub error_ttl: Option<Duration>,
    pub compress: bool,
    /// Offer zstd (CloudFront offers gzip and br only: off in compat mode).
    pub zstd: bool,
    /// Forward methods other than GET/HEAD (uncached) instead of 405.
    pub all_methods: bool,
    /// Store responses that carry `Set-Cookie` (default: never).
    pub store_set_cookie: bool,
    /// Stale windows used when the origin gives none.
    pub stale_while_revalidate: Duration,
    pub stale_if_error: Duration,
    /// Slice size for objects over `max_object_size`; `None`: stream them.
    pub slice: Option<u64>,
    /// Which names get `cache_control` (see `immutable`).
    pub immutable: Immutable,
    /// Added to every response (rendered at fill time).
    pub headers: Arc<[(HeaderName, HeaderValue)]>,
    pub cors: Option<Arc<Cors>>,
    /// Custom error responses (CloudFront's; see `Edge::error_page`).
    pub error_pages: Arc<[ErrorPage]>,
    /// `signed = true`: what checks the CloudFront signature.
    pub signed: Option<Arc<Verifier>>,
    /// Edge freshness never exceeds this (set by `for_key` on unhashed names).
    pub ttl_cap: Option<Duration>,
}

impl RoutePolicy {
    /// The policy for one object: on an `immutable = "hashed"` route an
    /// unhashed name gets `cache_control_unhashed` and its edge TTL capped.
    /// Called at fill (and pass) time only, never on a hit.
    pub fn for_key(&self, key: &str) -> Cow<'_, RoutePolicy> {
        match &self.immutable {
            Immutable::Hashed(rule) if !rule.is_hashed(key) => Cow::Owned(RoutePolicy {
                cache_control: Some(rule.unhashed_cache_control.clone()),
                ttl_cap: Some(rule.unhashed_max_age),
                ..self.clone()
            }),
            _ => Cow::Borrowed(self),
        }
    }

    /// The policy for an origin answer with this status: an error page's
    /// `ttl` replaces `error_ttl` for the status it covers (fill time).
    pub fn for_status(&self, status: http::StatusCode) -> Cow<'_, RoutePolicy> {
        match self
            .error_pages
            .iter()
            .find(|p| p.code == status.as_u16())
            .and_then(|p| p.ttl)
        {
            Some(ttl) => Cow::Owned(RoutePolicy {
                error_ttl: Some(ttl),
                ..self.clone()
            }),
            None => Cow::Borrowed(self),
        }
    }
}

impl Route {
    pub fn new(
        id: u32,
        cfg: &RouteConfig,
        origin: Arc<MeteredOrigin>,
        metrics: RouteMetrics,
        signed: Option<Arc<Verifier>>,
    ) -> Route {
        Route {
            id,
            prefix: cfg.path.clone(),
            key_prefix: cfg.key_prefix.clone(),
            key: cfg.key.clone(),
            origin,
            metrics,
            policy: RoutePolicy {
                signed,
                ..cfg.policy.clone()
            },
            hostnames: cfg.hostnames.as_slice().into(),
        }
    }

    /// The object key for a request path that this route matched.
    pub fn object_key(&self, path: &str) -> Result<String, PathError> {
        let decoded = self.checked_rest(path)?;
        let mut key = String::with_capacity(self.key_prefix.len() + decoded.len());
        key.push_str(&self.key_prefix);
        key.push_str(&decoded);
        Ok(key)
    }

    /// The cache key of a request this route matched: the object key on S3
    /// routes; on HTTP routes the keyed path and query, headers and cookies
    /// (borrowed when the rule keys the request target alone).
    pub fn request_key<'r>(
        &self,
        path: &'r str,
        path_and_query: &'r str,
        headers: &http::HeaderMap,
    ) -> Result<Cow<'r, str>, PathError> {
        if !self.origin.keys_query() {
            return self.object_key(path).map(Cow::Owned);
        }
        self.checked_http_rest(path)?;
        Ok(self.key.key(path, path_and_query, headers))
    }

    /// The key an invalidation path names (`path` with its query, if any):
    /// the request key with no headers, which covers every keyed header and
    /// cookie value (their parts follow a NUL, see `key`).
    pub fn invalidation_key(&self, path_and_query: &str) -> Result<String, PathError> {
        let path = path_and_query.split_once('?').map_or(path_and_query, |(p, _)| p);
        Ok(self
            .request_key(path, path_and_query, &http::HeaderMap::new())?
            .into_owned())
    }

    /// The check of an HTTP route's path: as `checked_rest`, and nothing an
    /// origin could resolve to another path than the one keyed — a `;`
    /// (`/..;/` is `/../` to Tomcat and Spring), an encoded `/` or `\`, or
    /// an encoded `%` before `.`, `/` or `\` (an origin decoding twice).
    pub fn checked_http_rest(&self, path: &str) -> Result<(), PathError> {
        let rest = &path[self.prefix.len()..];
        // One pass decides for most paths, as in `checked_rest` (the hit
        // path runs this).
        if !rest.bytes().any(|b| matches!(b, b'%' | b';' | b'\0' | b'\\')) {
            return match has_dot_segment(rest) {
                true => Err(PathError::DotSegment),
                false => Ok(()),
            };
        }
        let decoded = self.checked_rest(path)?;
        if decoded.contains(';') {
            return Err(PathError::Parameter);
        }
        let encoded = |s: &str, codes: &[&str]| {
            s.as_bytes()
                .windows(3)
                .any(|w| codes.iter().any(|c| w.eq_ignore_ascii_case(c.as_bytes())))
        };
        if encoded(rest, &["%2f", "%5c"]) || encoded(&decoded, &["%2e", "%2f", "%5c", "%25"]) {
            return Err(PathError::Encoded);
        }
        Ok(())
    }

    /// The path after the route's prefix, percent-decoded, if it can name
    /// an object (HTTP routes key by the raw path and need only the check).
    pub fn checked_rest<'p>(&self, path: &'p str) -> Result<Cow<'p, str>, PathError> {
        let rest = &path[self.prefix.len()..];
        // Most paths have nothing to decode and nothing to refuse: one pass
        // over the bytes answers that, without decoding or UTF-8 checks.
        if !rest.bytes().any(|b| matches!(b, b'%' | b'\0' | b'\\')) {
            return match has_dot_segment(rest) {
                true => Err(PathError::DotSegment),
                false => Ok(Cow::Borrowed(rest)),
            };
        }
        let decoded = percent_decode_str(rest)
            .decode_utf8()
            .map_err(|_| PathError::InvalidUtf8)?;
        if decoded.contains('\0') {
            return Err(PathError::Nul);
        }
        if decoded.contains('\\') {
            return Err(PathError::Backslash);
        }
        if has_dot_segment(&decoded) {
            return Err(PathError::DotSegment);
        }
        Ok(decoded)
    }
}

/// A `.` or `..` segment. One starts the path or follows a slash; most
/// paths have neither, and skip the split.
fn has_dot_segment(path: &str) -> bool {
    let may_have_dots = path.starts_with('.') || path.contains("/.");
    may_have_dots && path.split('/').any(|seg| seg == "." || seg == "..")
}

/// Why a request path cannot name an object (answered 400).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    #[error("path is not valid UTF-8 after percent-decoding")]
    InvalidUtf8,
    #[error("path contains a NUL byte")]
    Nul,
    #[error("path contains a backslash")]
    Backslash,
    #[error("path contains a '.' or '..' segment")]
    DotSegment,
    #[error("path contains a ';' parameter")]
    Parameter,
    #[error("path contains an encoded '/' or '\\', or is encoded twice")]
    Encoded,
}

/// Routes ordered longest prefix first, so the first match is the longest.
pub struct Router {
    routes: Vec<Arc<Route>>,
}

impl Router {
    pub fn new(mut routes: Vec<Arc<Route>>) -> Router {
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Router { routes }
    }

    pub fn route(&self, path: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| path.starts_with(&r.prefix))
    }

    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }
}
