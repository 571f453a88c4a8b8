//! The edge service: route → cache lookup → hit | stale | coalesced fill |
//! pass.
//!
//! The hit path is a route scan, a key build, a moka lookup and a clone of
//! pre-rendered headers plus a `Bytes`, all without an `.await`: a hit is
//! answered before any future is built. Everything else (origin I/O, header
//! rendering, freshness) happens in the fill, behind one boxed future.

use std::future::Ready;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::{BoxFuture, Either};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body::Body;

use crate::access_log::AccessLog;
use crate::body::EdgeBody;
use crate::cache::key::KeyRef;
use crate::cache::{CacheKey, CachedObject, Entry, Store};
use crate::client_addr::ClientAddr;
use crate::config::ErrorPage;
use crate::connection::MAX_REQUEST_HEAD;
use crate::cors;
use crate::forward;
use crate::metrics::{InFlight, Metrics, RouteMetrics};
use crate::origin::BoxError;
use crate::response::{Identity, RequestView, X_CACHE};
use crate::route::{Route, Router};
use crate::via;

mod access;
mod answers;
mod later;
mod miss;
mod scan;

use scan::Scan;

use later::{Handled, Pending};

/// Longest path and query answered (414 beyond): CloudFront's 8,192 bytes.
pub const MAX_URL: usize = 8 * 1024;

pub struct Edge {
    pub router: Router,
    pub store: Arc<Store>,
    pub identity: Arc<Identity>,
    pub max_object_size: u64,
    pub metrics: Metrics,
    /// Counters for requests no route matched.
    pub unrouted: RouteMetrics,
    pub access_log: Option<AccessLog>,
}

/// What the cache holds for a request, decided once per request.
enum Phase {
    Fresh(Arc<CachedObject>),
    /// Stale but within stale-while-revalidate: serve, refresh behind.
    StaleServable(Arc<CachedObject>),
    /// Stale: revalidate (or refetch) before answering.
    Stale(Arc<CachedObject>),
    Pass,
    /// The URL's last answer was not shareable: fill alone (hit-for-miss).
    HitForMiss,
    Miss,
}

/// The future of one request: ready at once for a hit (no state machine
/// is built, moved or polled for it), boxed for everything that waits.
pub type HandleFuture = Either<Ready<Response<EdgeBody>>, BoxFuture<'static, Response<EdgeBody>>>;

/// What `finish` needs from the start of a request.
struct Started {
    _in_flight: InFlight,
    /// A CORS request's `Origin`.
    origin: Option<HeaderValue>,
}

impl Edge {
    pub fn handle<B>(self: Arc<Self>, mut req: Request<B>, client: ClientAddr) -> HandleFuture
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        let route = self.router.route(req.uri().path());
        let started = Started {
            _in_flight: InFlight::new(&self.metrics.in_flight),
            // A preflight is answered whole in `respond`.
            origin: route
                .filter(|r| r.policy.cors.is_some() && !cors::is_preflight(req.method(), req.headers()))
                .and_then(|_| req.headers().get(header::ORIGIN).cloned()),
        };
        // A signed route rewrites the URI; the log shows the one sent.
        let arrival = self.access_log.as_ref().map(|_| {
            let signed = route.is_some_and(|r| r.policy.signed.is_some());
            access::Arrival::new(&req, signed)
        });
        // Without debug logging a request costs no span, no clock read and
        // no instrumented wrapper (checked against the global filter once
        // per callsite, then a cached load).
        let (pending, logged) = if tracing::enabled!(tracing::Level::DEBUG) {
            let logged = arrival.map(|a| a.capture(&req, client));
            let traced: BoxFuture<'static, _> = Box::pin(self.clone().respond_traced(req, route.cloned(), client));
            (Either::Right(traced), logged)
        } else {
            match self.respond(&mut req, route, client) {
                Handled::Now(resp) if error_page(route, &resp).is_none() => {
                    return Either::Left(std::future::ready(self.finish(
                        resp,
                        route,
                        started,
                        |log, resp, body| {
                            if let Some(arrival) = &arrival {
                                arrival.log(log, &req, client, resp, body);
                            }
                        },
                    )));
                }
                handled => {
                    let logged = arrival.map(|a| a.capture(&req, client));
                    (self.resolve(handled, req, client), logged)
                }
            }
        };
        let route = route.cloned();
        Either::Right(Box::pin(async move {
            let mut resp = pending.await;
            if let Some(page) = error_page(route.as_ref(), &resp) {
                resp = Box::pin(self.error_page(page, resp, client)).await;
            }
            self.finish(resp, route.as_ref(), started, |log, resp, body| {
                if let Some(logged) = &logged {
                    logged.log(log, resp, body);
                }
            })
        }))
    }

    /// What every response gets on its way out: CORS, CloudFront's headers,
    /// metrics and the access log line.
    #[inline] // a hit's response is moved in and out of it otherwise
    fn finish(
        &self,
        mut resp: Response<EdgeBody>,
        route: Option<&Arc<Route>>,
        started: Started,
        log_line: impl FnOnce(&AccessLog, &Response<EdgeBody>, u64),
    ) -> Response<EdgeBody> {
        // CORS costs a hit one header lookup, and only on a CORS route.
        if let Some(cors) = route.and_then(|r| r.policy.cors.as_ref())
            && let Some(origin) = started.origin
        {
            cors.apply(&origin, resp.headers_mut());
        }
        if let Some(cf) = &self.identity.cloudfront {
            cf.stamp(resp.headers_mut());
        }
        let body_bytes = resp.body().size_hint().exact().unwrap_or(0);
        route.map_or(&self.unrouted, |r| &r.metrics).record(
            resp.status().as_u16(),
            resp.headers().get(&X_CACHE).map(|v| v.as_bytes()),
            body_bytes,
        );
        if let Some(log) = &self.access_log {
            log_line(log, &resp, body_bytes);
        }
        resp
    }

    /// Answers at once what needs no waiting (a fresh hit, the edge's own
    /// errors); everything else is left to `later`, as one boxed future.
    fn respond<B>(self: &Arc<Self>, req: &mut Request<B>, route: Option<&Arc<Route>>, client: ClientAddr) -> Handled
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        let url_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
        if url_len > MAX_URL {
            return Handled::Now(self.identity.error(StatusCode::URI_TOO_LONG, "URI Too Long"));
        }
        let scan = Scan::of(req, url_len);
        if scan.head_size > MAX_REQUEST_HEAD {
            return Handled::Now(self.identity.error(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "Request Header Fields Too Large",
            ));
        }
        if matches!(*req.method(), Method::GET | Method::HEAD) && carries_body(req) {
            return Handled::Now(self.body_refused(req.version()));
        }
        if scan.bad_host {
            return Handled::Now(
                self.identity
                    .error(StatusCode::BAD_REQUEST, "Bad Request: invalid Host"),
            );
        }
        let Some(route) = route else {
            return Handled::Now(self.identity.error(StatusCode::NOT_FOUND, "Not Found"));
        };
        tracing::Span::current().record("route", route.prefix.as_str());
        if let Some(cors) = &route.policy.cors
            && let Some(origin) = req.headers().get(header::ORIGIN)
            && cors::is_preflight(req.method(), req.headers())
        {
            return Handled::Now(self.preflight(cors, origin, req.headers()));
        }
        if let Err(resp) = self.check_signature(route, req, client) {
            return Handled::Now(resp);
        }
        let path = req.uri().path();
        if scan.via && route.origin.may_loop() && via::names_node(req.headers(), &self.identity.received_by) {
            return Handled::Now(self.identity.error(StatusCode::LOOP_DETECTED, "Loop Detected"));
        }
        // The route's rule: S3 routes key by object key alone; HTTP routes
        // by what their `key` names (by default the raw path and query,
        // borrowed: a hit allocates no key).
        let path_and_query = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
        let key = match route.request_key(path, path_and_query, req.headers()) {
            Ok(k) => k,
            Err(e) => {
                return Handled::Now(
                    self.identity
                        .error(StatusCode::BAD_REQUEST, &format!("Bad Request: {e}")),
                );
            }
        };
        let head = match *req.method() {
            Method::GET => false,
            Method::HEAD => true,
            _ if route.policy.all_methods => return Handled::Later(Pending::Forward(route.clone())),
            _ => {
                let mut resp = self
                    .identity
                    .error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return Handled::Now(resp);
            }
        };
        // The Host is part of the key where the origin sees it.
        let host = if route.origin.keys_query() {
            let Ok(host) = forward::keyed_host(route, req.headers(), req.uri()) else {
                return Handled::Now(
                    self.identity
                        .error(StatusCode::BAD_REQUEST, "Bad Request: invalid Host"),
                );
            };
            host
        } else {
            None
        };
        let now = Instant::now();
        let entry = self.store.get(&KeyRef {
            route: route.id,
            key: &key,
            host: host.as_deref(),
        });
        let discriminator = entry.as_ref().map_or(0, |e| e.discriminator(req.headers()));
        let phase = match &entry {
            Some(Entry::Pass) => Phase::Pass,
            Some(Entry::HitForMiss) => Phase::HitForMiss,
            Some(e) => match e.select(req.headers()) {
                Some(obj) if obj.is_fresh(now) => Phase::Fresh(obj.clone()),
                // A stale sliced object is simply fetched again (slice by slice).
                Some(obj) if obj.sliced.is_some() => Phase::Miss,
                Some(obj) if obj.within_swr(now) => Phase::StaleServable(obj.clone()),
                Some(obj) => Phase::Stale(obj.clone()),
                None => Phase::Miss,
            },
            None => Phase::Miss,
        };
        if let Phase::Fresh(obj) = &phase
            && obj.sliced.is_none()
        {
            return Handled::Now(self.identity.hit(obj, &view(req, head, scan), now));
        }
        Handled::Later(Pending::BeyondHit {
            route: route.clone(),
            key: CacheKey::new(route.id, key.into_owned()).with_host(host),
            phase,
            discriminator,
            head,
            scan,
            now,
        })
    }
}

/// Whether a request has a body (declared, or HTTP/2 DATA to come): a
/// GET or HEAD with one is refused. A proxy that dropped the body but kept
/// the framing would desynchronise its origin connection (smuggling), and
/// one that forwarded it would key a response by less than it asked for.
fn carries_body<B: Body>(req: &Request<B>) -> bool {
    let body = req.body();
    !body.is_end_stream() && body.size_hint().exact() != Some(0)
}

impl Edge {
    /// The answer to a GET or HEAD with a body: 400 with a short body, and
    /// on HTTP/1 the connection closed after it (the unread body is never
    /// parsed as a request). CloudFront answers 403, and so does
    /// `cloudfront_compat`.
    fn body_refused(&self, version: Version) -> Response<EdgeBody> {
        let mut resp = match self.identity.cloudfront {
            Some(_) => self.identity.error(StatusCode::FORBIDDEN, "Forbidden"),
            None => self.identity.error(
                StatusCode::BAD_REQUEST,
                "Bad Request: a GET or HEAD request has no body",
            ),
        };
        if version <= Version::HTTP_11 {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

fn view<B>(req: &Request<B>, head: bool, scan: Scan) -> RequestView<'_> {
    RequestView {
        head,
        http10: req.version() <= Version::HTTP_10,
        headers: req.headers(),
        conditional: scan.conditional,
        range: scan.range,
    }
}

/// The route's custom error page for this response, if any.
fn error_page<'r>(route: Option<&'r Arc<Route>>, resp: &Response<EdgeBody>) -> Option<&'r ErrorPage> {
    let code = resp.status().as_u16();
    if code < 400 {
        return None;
    }
    route?.policy.error_pages.iter().find(|p| p.code == code)
}

/// Size of the per-request future (for a test that keeps it small).
pub fn hit_future_size() -> usize {
    fn size_of_future<F: std::future::Future>(_: &F) -> usize {
        std::mem::size_of::<F>()
    }
    let store = Store::new(1 << 20, std::time::Duration::ZERO, 1, std::time::Duration::ZERO);
    let metrics = Metrics::new(store.clone());
    let edge: Arc<Edge> = Arc::new(Edge {
        router: Router::new(Vec::new()),
        store,
        identity: Arc::new(Identity::new("size", false)),
        max_object_size: 0,
        unrouted: metrics.route("none"),
        metrics,
        access_log: None,
    });
    let req = Request::new(http_body_util::Empty::<Bytes>::new());
    let client = ClientAddr {
        ip: std::net::Ipv4Addr::LOCALHOST.into(),
        scheme: crate::client_addr::Scheme::Http,
    };
    size_of_future(&edge.clone().handle(req, client))
}
