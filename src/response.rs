//! Responses as clients see them. Header values that never change (`Via`,
//! `X-Cache`) are built once at start-up; an object's headers are rendered
//! once at fill time (`object_headers`); a hit clones them and adds `Age`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::EdgeBody;
use crate::cache::CachedObject;
use crate::origin::OriginResponse;
use crate::route::RoutePolicy;

pub static X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// The node's name and the header values derived from it.
pub struct Identity {
    pub name: String,
    via: HeaderValue,
    hit: HeaderValue,
    miss: HeaderValue,
    error: HeaderValue,
}

impl Identity {
    pub fn new(name: &str) -> Identity {
        let value = |s: String| HeaderValue::from_str(&s).expect("validated: the name is a token");
        Identity {
            name: name.to_string(),
            via: value(format!("1.1 {name}")),
            hit: value(format!("Hit from {name}")),
            miss: value(format!("Miss from {name}")),
            error: value(format!("Error from {name}")),
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
        if cached_error {
            let v = format!("max-age={}", policy.error_ttl.as_secs());
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
        headers
    }

    /// A fresh hit: stored headers, `X-Cache: Hit`, `Age`.
    pub fn hit(&self, obj: &CachedObject, head: bool, now: Instant) -> Response<EdgeBody> {
        let mut resp = self.stored(obj, head, self.hit.clone());
        resp.headers_mut().insert(header::AGE, age_value(obj.age(now)));
        resp
    }

    /// A response just filled (or shared by a fill this request waited on).
    pub fn miss(&self, obj: &CachedObject, head: bool) -> Response<EdgeBody> {
        let mut resp = self.stored(obj, head, self.miss.clone());
        if !obj.initial_age.is_zero() {
            resp.headers_mut().insert(header::AGE, age_value(obj.initial_age));
        }
        resp
    }

    fn stored(&self, obj: &CachedObject, head: bool, x_cache: HeaderValue) -> Response<EdgeBody> {
        // CloudFront's vocabulary: any 4xx/5xx, cached or not, is an Error.
        let x_cache = if obj.status.as_u16() >= 400 {
            self.error.clone()
        } else {
            x_cache
        };
        let body = if head {
            EdgeBody::empty()
        } else {
            EdgeBody::bytes(obj.body.clone())
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = obj.status;
        let headers = resp.headers_mut();
        *headers = obj.headers.clone();
        headers.insert(X_CACHE.clone(), x_cache);
        resp
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
        resp.headers_mut().insert(X_CACHE.clone(), self.miss.clone());
        resp
    }

    /// An error of the edge's own: a short plain body, never cached.
    pub fn error(&self, status: StatusCode, message: &str) -> Response<EdgeBody> {
        let body = Bytes::from(format!("{message}\n"));
        let mut resp = Response::new(EdgeBody::bytes(body.clone()));
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(X_CACHE.clone(), self.error.clone());
        h.insert(header::VIA, self.via.clone());
        resp
    }
}

fn age_value(age: Duration) -> HeaderValue {
    HeaderValue::from(age.as_secs())
}
