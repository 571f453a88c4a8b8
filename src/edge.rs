//! The edge service: route → cache lookup → hit | coalesced fill | pass.
//!
//! The hit path is a route scan, a key build, a moka lookup and a clone of
//! pre-rendered headers plus a `Bytes`. Everything else (origin I/O, header
//! rendering, freshness) happens in the fill.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use tracing::Instrument;

use crate::body::EdgeBody;
use crate::cache::{CacheKey, Entry, FillResult, Store};
use crate::fill::{self, FillError};
use crate::origin::OriginRequest;
use crate::response::{Identity, RequestView, X_CACHE};
use crate::route::{Route, Router};

pub struct Edge {
    pub router: Router,
    pub store: Arc<Store>,
    pub identity: Arc<Identity>,
    pub max_object_size: u64,
}

impl Edge {
    pub async fn handle<B>(self: Arc<Self>, req: Request<B>, peer: SocketAddr) -> Response<EdgeBody> {
        let span = tracing::debug_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            route = tracing::field::Empty,
        );
        let start = Instant::now();
        let resp = self.respond(req, peer).instrument(span.clone()).await;
        let _enter = span.enter();
        tracing::debug!(
            status = resp.status().as_u16(),
            cache = ?resp.headers().get(&X_CACHE),
            micros = start.elapsed().as_micros() as u64,
            "response"
        );
        resp
    }

    async fn respond<B>(&self, req: Request<B>, peer: SocketAddr) -> Response<EdgeBody> {
        let head = match *req.method() {
            Method::GET => false,
            Method::HEAD => true,
            _ => {
                let mut resp = self
                    .identity
                    .error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return resp;
            }
        };
        let path = req.uri().path();
        let Some(route) = self.router.route(path) else {
            return self.identity.error(StatusCode::NOT_FOUND, "Not Found");
        };
        tracing::Span::current().record("route", route.prefix.as_str());
        let key = match route.object_key(path) {
            Ok(k) => k,
            Err(e) => {
                return self
                    .identity
                    .error(StatusCode::BAD_REQUEST, &format!("Bad Request: {e}"));
            }
        };
        // S3 routes key by object key alone; HTTP routes by path and query.
        let cache_key = if route.origin.keys_query() {
            CacheKey::new(route.id, req.uri().path_and_query().map_or(path, |pq| pq.as_str()))
        } else {
            CacheKey::new(route.id, key)
        };
        let view = RequestView {
            head,
            http10: req.version() <= Version::HTTP_10,
            headers: req.headers(),
        };
        let entry = self.store.get(&cache_key).await;
        let now = Instant::now();
        match entry {
            Some(Entry::Object(obj)) if obj.is_fresh(now) => return self.identity.hit(&obj, &view, now),
            Some(Entry::Pass) => {
                let request = origin_request(route, &cache_key, &req, peer);
                return self.pass(route, &request, head).await;
            }
            _ => {}
        }

        let request = origin_request(route, &cache_key, &req, peer);
        let fill_route = route.clone();
        let fill_request = request.clone();
        let max = self.max_object_size;
        let identity = self.identity.clone();
        let result = self
            .store
            .fill(cache_key, move || fill::fill(fill_route, fill_request, max, identity))
            .await;
        match result {
            FillResult::Stored(obj) | FillResult::Uncached(obj) => self.identity.miss(&obj, &view),
            FillResult::Pass => self.pass(route, &request, head).await,
            FillResult::Failed(e) => self.fill_error(&e),
        }
    }

    /// Streams an object that is not cached (too large) from the origin.
    async fn pass(&self, route: &Arc<Route>, request: &OriginRequest, head: bool) -> Response<EdgeBody> {
        match route.origin.get(request).await {
            Ok(origin) => self.identity.pass(origin, &route.policy, head),
            Err(e) => self.fill_error(&FillError::from(e)),
        }
    }

    fn fill_error(&self, e: &FillError) -> Response<EdgeBody> {
        let status = e.status();
        self.identity
            .error(status, status.canonical_reason().unwrap_or("Error"))
    }
}

/// What a miss asks of the origin; built only on the miss path.
fn origin_request<B>(route: &Route, key: &CacheKey, req: &Request<B>, peer: SocketAddr) -> OriginRequest {
    let path_and_query = if route.origin.keys_query() {
        key.key().to_string()
    } else {
        req.uri().path().to_string()
    };
    OriginRequest {
        key: key.key().to_string(),
        path_and_query,
        client_ip: Some(peer.ip()),
    }
}
