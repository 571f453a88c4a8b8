//! Responses as clients see them. Header values that never change (`Via`,
//! `X-Cache`) are built once at start-up; an object's headers are rendered
//! once at fill time (`object_headers`); a hit clones them and adds `Age`.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::EdgeBody;
use crate::cache::CachedObject;
use crate::cache::object::Variant;
use crate::cloudfront::CloudFront;
use crate::conditional::{self, Precondition};
use crate::encoding;
use crate::origin::OriginResponse;
use crate::range::{self, RangeOutcome};
use crate::route::RoutePolicy;

pub static X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The node's name and the header values derived from it.
pub struct Identity {
    pub name: String,
    /// The name this node puts in `Via` (loop detection looks for it).
    pub received_by: String,
    /// `server.cloudfront_compat`.
    pub cloudfront: Option<CloudFront>,
    via: HeaderValue,
    hit: HeaderValue,
    refresh_hit: HeaderValue,
    miss: HeaderValue,
    error: HeaderValue,
}

impl Identity {
    pub fn new(name: &str, cloudfront_compat: bool) -> Identity {
        let value = |s: String| HeaderValue::from_str(&s).expect("validated: the name is a token");
        let cloudfront = cloudfront_compat.then(|| CloudFront::new(name));
        let (received_by, via, x_cache_name) = match &cloudfront {
            Some(cf) => (cf.host.clone(), format!("1.1 {} (CloudFront)", cf.host), "cloudfront"),
            None => (name.to_string(), format!("1.1 {name}"), name),
        };
        Identity {
            name: name.to_string(),
            received_by,
            cloudfront,
            via: value(via),
            hit: value(format!("Hit from {x_cache_name}")),
            refresh_hit: value(format!("RefreshHit from {x_cache_name}")),
            miss: value(format!("Miss from {x_cache_name}")),
            error: value(format!("Error from {x_cache_name}")),
        }
    }

    pub fn via(&self) -> HeaderValue {
        self.via.clone()
    }

    /// Client headers of an origin response: the route's `Cache-Control`
    /// on 200/206/304, `max-age=<error_ttl>` on a cached error, our `Via`
    /// after any upstream one, and the exact `Content-Length`.
    pub fn object_headers(
        &self,
        status: StatusCode,
        mut headers: HeaderMap,
        content_length: Option<u64>,
        policy: &RoutePolicy,
        cached_error: bool,
    ) -> HeaderMap {
        headers.remove(header::AGE);
        headers.remove(header::CONTENT_LENGTH);
        if status.is_server_error() {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        } else if cached_error {
            let v = format!("max-age={}", policy.error_ttl.unwrap_or_default().as_secs());
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_str(&v).expect("digits"));
        } else if let Some(cc) = &policy.cache_control
            && matches!(status.as_u16(), 200 | 206 | 304)
        {
            headers.insert(header::CACHE_CONTROL, cc.clone());
        }
        let via = match headers.get(header::VIA).and_then(|v| v.to_str().ok()) {
            Some(upstream) => HeaderValue::from_str(&format!("{upstream}, {}", self.via.to_str().expect("ascii")))
                .unwrap_or_else(|_| self.via.clone()),
            None => self.via.clone(),
        };
        headers.insert(header::VIA, via);
        if let Some(len) = content_length {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        if status == StatusCode::OK && !headers.contains_key(header::CONTENT_ENCODING) {
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        }
        crate::cors::render(&mut headers, &policy.headers, policy.cors.as_deref(), status);
        // A hit's X-Cache, rendered with the rest: only other answers
        // (misses, refreshes, 304s, ranges) insert theirs.
        headers.insert(X_CACHE.clone(), self.stored_x_cache(status).clone());
        headers
    }

    /// The X-Cache stored with an object's headers: what a hit says.
    fn stored_x_cache(&self, status: StatusCode) -> &HeaderValue {
        if status.as_u16() >= 400 { &self.error } else { &self.hit }
    }

    /// A fresh hit: the chosen variant's stored headers, `X-Cache: Hit`, `Age`.
    pub fn hit(&self, obj: &CachedObject, req: &RequestView<'_>, now: Instant) -> Response<EdgeBody> {
        let mut resp = self.answer_from(obj, req, &self.hit, Some(obj.age(now)));
        for name in &obj.omit_on_hit {
            resp.headers_mut().remove(name);
        }
        resp
    }

    /// `X-Cache` (and `Age` on hits) for a response assembled elsewhere
    /// (slices); the edge's own errors keep their `Error`.
    pub fn stamp(&self, resp: &mut Response<EdgeBody>, hit: bool, age: Option<Duration>) {
        if resp.status().as_u16() >= 400 {
            set_age(resp.headers_mut(), None);
            return;
        }
        let h = resp.headers_mut();
        h.insert(X_CACHE.clone(), if hit { self.hit.clone() } else { self.miss.clone() });
        set_age(h, age);
    }

    /// A stale entry the origin confirmed with a 304.
    pub fn refresh_hit(&self, obj: &CachedObject, req: &RequestView<'_>) -> Response<EdgeBody> {
        self.answer_from(obj, req, &self.refresh_hit, Some(obj.timing.initial_age))
    }

    /// A response just filled (or shared by a fill this request waited on).
    pub fn miss(&self, obj: &CachedObject, req: &RequestView<'_>) -> Response<EdgeBody> {
        // Age on a miss only when an upstream cache reported one (whole
        // seconds): the response delay alone is not an age worth showing.
        let age = (obj.timing.initial_age.as_secs() > 0).then_some(obj.timing.initial_age);
        self.answer_from(obj, req, &self.miss, age)
    }

    /// Variant choice, preconditions, ranges: everything a stored object
    /// answers without the origin.
    fn answer_from(
        &self,
        obj: &CachedObject,
        req: &RequestView<'_>,
        x_cache: &HeaderValue,
        age: Option<Duration>,
    ) -> Response<EdgeBody> {
        // CloudFront's vocabulary: any 4xx/5xx, cached or not, is an Error.
        let x_cache = if obj.status.as_u16() >= 400 {
            &self.error
        } else {
            x_cache
        };
        // A whole stored variant already says what a hit says.
        let stamped = std::ptr::eq(x_cache, self.stored_x_cache(obj.status));
        let finish_as = |mut resp: Response<EdgeBody>, stamped: bool| {
            let h = resp.headers_mut();
            if !stamped {
                h.insert(X_CACHE.clone(), x_cache.clone());
            }
            set_age(h, age);
            resp
        };
        let finish = |resp| finish_as(resp, false);
        if obj.status != StatusCode::OK {
            return finish_as(whole(obj.status, obj.identity(), req.head), stamped);
        }
        let variant = if obj.encodings.len() > 1 {
            obj.variant(encoding::choose(
                req.headers.get(header::ACCEPT_ENCODING),
                &obj.encodings,
                req.http10,
            ))
        } else {
            obj.identity()
        };
        if req.conditional {
            match conditional::evaluate(req.headers, obj.etag.as_ref(), obj.last_modified) {
                Precondition::Proceed => {}
                Precondition::NotModified => {
                    let mut resp = Response::new(EdgeBody::empty());
                    *resp.status_mut() = StatusCode::NOT_MODIFIED;
                    *resp.headers_mut() = variant.not_modified.clone();
                    return finish(resp);
                }
                Precondition::Failed => {
                    return finish(self.error(StatusCode::PRECONDITION_FAILED, "Precondition Failed"));
                }
            }
        }
        // Range on HEAD is ignored (RFC 9110 §14.2); ranges come from the
        // identity bytes.
        if !req.head && req.range {
            let identity = obj.identity();
            let len = identity.body.len() as u64;
            match range::evaluate(req.headers, len, obj.etag.as_ref(), obj.last_modified) {
                RangeOutcome::Full => {}
                RangeOutcome::Partial(ranges) => return finish(range::partial(identity, &ranges)),
                RangeOutcome::Unsatisfiable => return finish(range::unsatisfiable(identity)),
            }
        }
        finish_as(whole(StatusCode::OK, variant, req.head), stamped)
    }

    /// An origin response streamed through, not stored.
    pub fn pass(&self, origin: OriginResponse, policy: &RoutePolicy, head: bool) -> Response<EdgeBody> {
        let headers = self.object_headers(origin.status, origin.headers, origin.content_length, policy, false);
        let body = if head {
            EdgeBody::empty()
        } else {
            EdgeBody::Stream(origin.body)
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = origin.status;
        *resp.headers_mut() = headers;
        let x_cache = if origin.status.as_u16() >= 400 {
            &self.error
        } else {
            &self.miss
        };
        resp.headers_mut().insert(X_CACHE.clone(), x_cache.clone());
        resp
    }

    /// An origin's 5xx, as the origin sent it but never cacheable.
    pub fn upstream_error(&self, obj: &CachedObject) -> Response<EdgeBody> {
        let mut resp = Response::new(EdgeBody::bytes(obj.identity().body.clone()));
        *resp.status_mut() = obj.status;
        *resp.headers_mut() = obj.identity().headers.clone();
        resp.headers_mut().insert(X_CACHE.clone(), self.error.clone());
        set_age(resp.headers_mut(), None);
        resp
    }

    /// An error of the edge's own: a short plain body, never cached.
    pub fn error(&self, status: StatusCode, message: &str) -> Response<EdgeBody> {
        if let Some(cf) = &self.cloudfront {
            let id = cf.request_id();
            let body = cf.error_page(status, &id);
            let mut resp = self.error_with(status, body, HeaderValue::from_static("text/html"));
            let h = resp.headers_mut();
            h.insert(header::SERVER, HeaderValue::from_static("CloudFront"));
            h.insert(crate::cloudfront::X_AMZ_CF_ID.clone(), id);
            return resp;
        }
        let body = Bytes::from(format!("{message}\n"));
        self.error_with(status, body, HeaderValue::from_static("text/plain; charset=utf-8"))
    }

    /// An edge-made error with this body (never cached).
    pub fn error_with(&self, status: StatusCode, body: Bytes, content_type: HeaderValue) -> Response<EdgeBody> {
        let mut resp = Response::new(EdgeBody::bytes(body.clone()));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, content_type);
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(X_CACHE.clone(), self.error.clone());
        h.insert(header::VIA, self.via.clone());
        resp
    }
}

/// `Age`, or none: stored headers hold an `Age` slot (`CachedObject::new`)
/// that a hit overwrites in place and any other answer removes.
fn set_age(h: &mut HeaderMap, age: Option<Duration>) {
    match age {
        Some(age) => h.insert(header::AGE, age_value(age.as_secs())),
        None => h.remove(header::AGE),
    };
}

thread_local! {
    /// Recently rendered `Age` values, direct-mapped by the value: a hot
    /// object is hit many times within one second, all with the same age.
    static AGES: RefCell<[(u64, HeaderValue); 64]> =
        RefCell::new(std::array::from_fn(|_| (u64::MAX, HeaderValue::from_static("0"))));
}

/// An `Age` value; a repeat within this thread clones the one rendered
/// before (a reference count) instead of formatting and allocating anew
/// (~250 of a 1 KiB hit's instructions, callgrind).
fn age_value(secs: u64) -> HeaderValue {
    AGES.with_borrow_mut(|ages| {
        let slot = &mut ages[(secs % 64) as usize];
        // u64::MAX marks an empty slot: never taken as rendered.
        if slot.0 != secs || secs == u64::MAX {
            *slot = (secs, HeaderValue::from(secs));
        }
        slot.1.clone()
    })
}

/// A whole variant with its stored headers.
fn whole(status: StatusCode, variant: &Variant, head: bool) -> Response<EdgeBody> {
    let body = if head {
        EdgeBody::empty()
    } else {
        EdgeBody::bytes(variant.body.clone())
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = variant.headers.clone();
    resp
}

/// What a stored response depends on in the request.
pub struct RequestView<'a> {
    pub head: bool,
    /// HTTP/1.0 clients get no compressed variant.
    pub http10: bool,
    pub headers: &'a HeaderMap,
    /// The request has preconditions (`If-*`).
    pub conditional: bool,
    /// The request has a `Range`.
    pub range: bool,
}

#[cfg(test)]
mod tests {
    use super::age_value;

    #[test]
    fn age_values_are_right_whatever_the_cache_holds() {
        // Repeats, values sharing a slot (n and n + 64), large values.
        for secs in [0, 1, 1, 65, 1, 129, 65, 86_400, 86_400 + 64, u64::MAX - 1, u64::MAX] {
            assert_eq!(age_value(secs), secs.to_string().as_str(), "{secs}");
        }
    }
}
