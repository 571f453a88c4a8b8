//! What the cache holds: a complete response as a set of variants
//! (identity, then compressed ones), each with its client headers rendered
//! once at fill time, so that a hit only picks, clones and writes.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use headers::{ETag, HeaderMapExt, LastModified};
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::vary::Secondary;
use crate::encoding::Encoding;
use crate::slice::SliceInfo;

/// Fixed per-entry overhead counted against `capacity` besides bodies and
/// headers: key, moka's bookkeeping, the `Arc`s.
const ENTRY_OVERHEAD: usize = 256;

/// Headers a 304 repeats from the 200 (RFC 9110 §15.4.5), plus `Via`.
const NOT_MODIFIED_HEADERS: [HeaderName; 7] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::ETAG,
    header::EXPIRES,
    header::LAST_MODIFIED,
    header::VARY,
    header::VIA,
];

/// One stored representation.
#[derive(Debug)]
pub struct Variant {
    pub encoding: Encoding,
    /// Client headers of a 200: all but `X-Cache` and `Age`.
    pub headers: HeaderMap,
    /// Client headers of a 304 for this variant.
    pub not_modified: HeaderMap,
    pub body: Bytes,
}

#[derive(Debug)]
pub struct CachedObject {
    pub status: StatusCode,
    /// Freshness facts: when stored, age, lifetime, stale windows.
    pub timing: Timing,
    /// Header fields a qualified `no-cache="…"` / `private="…"` keeps out
    /// of responses served from cache (the fill's own client sees them).
    pub omit_on_hit: Vec<HeaderName>,
    /// The origin's headers as received (hop-by-hop removed), kept so a 304
    /// can update them (RFC 9111 §4.3.4) and the client headers be rendered
    /// again.
    pub origin_headers: HeaderMap,
    /// The identity representation's validators, parsed once.
    pub etag: Option<ETag>,
    pub last_modified: Option<SystemTime>,
    /// Whether the object qualified for compression (then every variant
    /// says `Vary: Accept-Encoding`).
    pub compressible: bool,
    /// `variants[0]` is identity; the rest are compressed.
    pub variants: Vec<Variant>,
    /// The encodings of `variants`, in order, for `encoding::choose`.
    pub encodings: Vec<Encoding>,
    /// For a response with `Vary`: the request it may be used for.
    pub secondary: Option<Secondary>,
    /// For an object held in slices: where they are (the body is empty).
    pub sliced: Option<SliceInfo>,
}

/// Freshness facts of an object, carried unchanged when its variants are
/// rebuilt.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// When the response was received from the origin.
    pub stored_at: Instant,
    /// The response's age when received (an upstream `Age` is added to,
    /// not reset: RFC 9111 §4.2.3).
    pub initial_age: Duration,
    /// Freshness lifetime at the edge (see `freshness`).
    pub fresh_for: Duration,
    /// Stale windows past `fresh_for` (zero when `must_revalidate`).
    pub stale_while_revalidate: Duration,
    pub stale_if_error: Duration,
    /// Never served stale (`must-revalidate`, `no-cache`, `s-maxage`…).
    pub must_revalidate: bool,
}

impl CachedObject {
    /// Builds an object from its identity headers and body plus compressed
    /// bodies. Rendering every variant's headers happens here, once.
    pub fn new(
        status: StatusCode,
        origin_headers: HeaderMap,
        mut headers: HeaderMap,
        body: Bytes,
        compressible: bool,
        compressed: Vec<(Encoding, Bytes)>,
        timing: Timing,
    ) -> CachedObject {
        if compressible {
            add_vary_accept_encoding(&mut headers);
        }
        // A slot for the hit's `Age` (see `response::set_age`): a clone of a
        // header map has no spare room, so adding a field to it on every
        // hit reallocated its entries (~400 instructions of a 1 KiB hit).
        headers.insert(header::AGE, HeaderValue::from_static("0"));
        let etag = headers.typed_get::<ETag>();
        let last_modified = headers.typed_get::<LastModified>().map(SystemTime::from);
        let weak_etag = headers.get(header::ETAG).and_then(weaken);
        let mut variants = Vec::with_capacity(1 + compressed.len());
        for (encoding, data) in compressed {
            let mut h = headers.clone();
            h.insert(header::CONTENT_ENCODING, encoding.header_value());
            // Ranges are served from the identity bytes only.
            h.remove(header::ACCEPT_RANGES);
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(data.len()));
            match &weak_etag {
                Some(w) => h.insert(header::ETAG, w.clone()),
                None => h.remove(header::ETAG),
            };
            variants.push(Variant::new(encoding, h, data));
        }
        variants.insert(0, Variant::new(Encoding::Identity, headers, body));
        let encodings = variants.iter().map(|v| v.encoding).collect();
        CachedObject {
            status,
            timing,
            omit_on_hit: Vec::new(),
            origin_headers,
            etag,
            last_modified,
            compressible,
            variants,
            encodings,
            secondary: None,
            sliced: None,
        }
    }

    /// The same object with other compressed variants (the background
    /// best-level pass).
    pub fn with_compressed(&self, compressed: Vec<(Encoding, Bytes)>) -> CachedObject {
        let identity = self.identity();
        let mut object = CachedObject::new(
            self.status,
            self.origin_headers.clone(),
            identity.headers.clone(),
            identity.body.clone(),
            self.compressible,
            compressed,
            self.timing,
        );
        object.secondary = self.secondary.clone();
        object.omit_on_hit = self.omit_on_hit.clone();
        object
    }

    /// Whether this response may answer a request with these headers.
    pub fn usable_for(&self, request: &HeaderMap) -> bool {
        self.secondary.as_ref().is_none_or(|s| s.matches(request))
    }

    /// The compressed variants' encodings and bodies, to carry over when
    /// only headers change (a 304 refresh).
    pub fn compressed(&self) -> Vec<(Encoding, Bytes)> {
        self.variants[1..]
            .iter()
            .map(|v| (v.encoding, v.body.clone()))
            .collect()
    }

    /// Within `stale-while-revalidate`: serve, and refresh in the background.
    pub fn within_swr(&self, now: Instant) -> bool {
        self.age(now) < self.timing.fresh_for + self.timing.stale_while_revalidate
    }

    /// Within `stale-if-error`: serve when the origin fails.
    pub fn within_sie(&self, now: Instant) -> bool {
        self.age(now) < self.timing.fresh_for + self.timing.stale_if_error
    }

    /// Whether a conditional request can revalidate it.
    pub fn has_validator(&self) -> bool {
        self.etag.is_some() || self.last_modified.is_some()
    }

    pub fn identity(&self) -> &Variant {
        &self.variants[0]
    }

    pub fn variant(&self, encoding: Encoding) -> &Variant {
        self.variants
            .iter()
            .find(|v| v.encoding == encoding)
            .unwrap_or(&self.variants[0])
    }

    /// Current age per RFC 9111 §4.2.3.
    pub fn age(&self, now: Instant) -> Duration {
        self.timing.initial_age + now.saturating_duration_since(self.timing.stored_at)
    }

    pub fn is_fresh(&self, now: Instant) -> bool {
        self.age(now) < self.timing.fresh_for
    }

    /// Time left until the object turns stale.
    pub fn time_to_live(&self, now: Instant) -> Duration {
        self.timing.fresh_for.saturating_sub(self.age(now))
    }

    /// Bytes this object holds, every variant included: what `capacity`
    /// bounds.
    pub fn weight(&self) -> u32 {
        let total: usize = ENTRY_OVERHEAD
            + self
                .variants
                .iter()
                .map(|v| v.body.len() + header_bytes(&v.headers) + header_bytes(&v.not_modified))
                .sum::<usize>()
            + header_bytes(&self.origin_headers);
        u32::try_from(total).unwrap_or(u32::MAX)
    }
}

impl Variant {
    fn new(encoding: Encoding, headers: HeaderMap, body: Bytes) -> Variant {
        let mut not_modified = HeaderMap::new();
        for name in &NOT_MODIFIED_HEADERS {
            for v in headers.get_all(name) {
                not_modified.append(name.clone(), v.clone());
            }
        }
        Variant {
            encoding,
            headers,
            not_modified,
            // Large bodies live in a memfd mapping so every hit can
            // `sendfile` them (`zerocopy`). Fills move them off the reactor
            // (`fill::collect`, `compress_blocking`); this only finds them mapped.
            body: crate::zerocopy::share(body),
        }
    }
}

fn header_bytes(h: &HeaderMap) -> usize {
    h.iter().map(|(n, v)| n.as_str().len() + v.len() + 32).sum()
}

/// A compressed variant's ETag: the origin's, made weak (as CloudFront
/// does): same content, different bytes.
fn weaken(etag: &HeaderValue) -> Option<HeaderValue> {
    let s = etag.to_str().ok()?;
    if s.starts_with("W/") {
        return Some(etag.clone());
    }
    HeaderValue::from_str(&format!("W/{s}")).ok()
}

fn add_vary_accept_encoding(headers: &mut HeaderMap) {
    let present = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("accept-encoding") || t.trim() == "*");
    if !present {
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}
