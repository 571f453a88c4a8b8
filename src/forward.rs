//! What the edge sends to origins: the request for a fill (end-to-end
//! client headers minus what the cache owns) and, on routes with
//! `methods = "all"`, other methods forwarded uncached with their bodies.
//! A successful unsafe request invalidates what is stored for its URL and
//! its `Location` / `Content-Location` (RFC 9111 §4.4): the URL's entry and
//! the requester's own keyed variant, one lookup each.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri, header};
use http_body::Body;
use http_body_util::BodyExt;

use crate::body::EdgeBody;
use crate::cache::CacheKey;
use crate::client_addr::ClientAddr;
use crate::edge::Edge;
use crate::fill::FillError;
use crate::headers::{CLIENT_FRAMING, remove_hop_by_hop};
use crate::origin::{BoxError, OriginRequest};
use crate::route::{Route, sent_path_and_query};

/// On a route whose origin is sent the client's `Host` (`preserve_host`):
/// the host, lower-cased (hosts are case-insensitive, RFC 9110 §4.2.3), that
/// the origin is sent and the cache key holds (`cache::key`). From `Host`,
/// or HTTP/2's `:authority`; `None` when the request has neither (or an
/// empty `Host`: the origin then gets its own host) or the route does not
/// preserve it. A `Host` that is not `host[:port]` is refused (`Err`: 400;
/// the edge refuses it before, see `host`).
#[allow(clippy::result_unit_err)]
pub fn keyed_host(route: &Route, headers: &HeaderMap, uri: &Uri) -> Result<Option<Box<str>>, ()> {
    if !route.origin.preserves_host() {
        return Ok(None);
    }
    let value = match headers.get(header::HOST).filter(|v| !v.is_empty()) {
        Some(v) => v.as_bytes(),
        None => match uri.authority() {
            Some(a) => a.as_str().as_bytes(),
            None => return Ok(None),
        },
    };
    crate::host::parse(value).ok_or(())?;
    // Well-formed, so ASCII.
    let value = std::str::from_utf8(value).map_err(|_| ())?;
    Ok(Some(value.to_ascii_lowercase().into()))
}

/// The origin request for a fill (always a GET) or a GET/HEAD pass: built,
/// not copied. An HTTP origin is sent the keyed path and query, the keyed
/// headers and cookies (`route::key`), `Accept-Encoding` as the edge
/// normalises it (none where the edge compresses: the origin sends
/// identity), the keyed `Host` and the `Via` chain; the origin client
/// appends to `Via` and sets `X-Forwarded-For` and `X-Forwarded-Proto`, the fill its own
/// conditionals and ranges. Nothing else of the client's: no framing, no
/// `Cookie` or `Authorization` unless keyed. CloudFront does the same: it
/// drops `Authorization` from GET and HEAD requests unless the cache policy
/// includes it; the request still counts as authorised for what may be
/// stored (RFC 9111 §3.5, `RequestFacts`), so nothing is lost by that.
pub fn origin_request<B>(route: &Route, key: &CacheKey, req: &Request<B>, client: ClientAddr) -> OriginRequest {
    let http = route.origin.keys_query();
    let mut headers = HeaderMap::new();
    if http {
        route.key.forward(req.headers(), &mut headers);
        // The chain so far: the origin client appends this node to it, and
        // a tier that finds itself in it stops a loop (`via`).
        if let Some(via) = joined(req.headers(), header::VIA) {
            headers.insert(header::VIA, via);
        }
        if !route.policy.compress
            && let Some(ae) = normalised_accept_encoding(req.headers())
        {
            headers.insert(header::ACCEPT_ENCODING, ae);
        }
        // The host the object is keyed by, exactly (`keyed_host`).
        if let Some(host) = key.host().and_then(|h| http::HeaderValue::from_str(h).ok()) {
            headers.insert(header::HOST, host);
        }
    }
    OriginRequest {
        method: Method::GET,
        key: key.key().to_string(),
        path_and_query: if http {
            sent_path_and_query(key.key()).to_string()
        } else {
            req.uri().path().to_string()
        },
        client_ip: Some(client.ip),
        client_scheme: Some(client.scheme),
        headers,
    }
}

/// All field lines of a list-valued header as one value.
fn joined(headers: &HeaderMap, name: header::HeaderName) -> Option<http::HeaderValue> {
    let lines: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    match lines.as_slice() {
        [] => None,
        [one] => http::HeaderValue::from_str(one).ok(),
        many => http::HeaderValue::from_str(&many.join(", ")).ok(),
    }
}

/// The client's `Accept-Encoding` as `Vary` matching normalises it
/// (`cache::vary`: lower-cased codings, sorted, without duplicates), so a
/// response stored for it matches the clients that sent an equivalent one.
fn normalised_accept_encoding(headers: &HeaderMap) -> Option<http::HeaderValue> {
    let mut items: Vec<String> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|i| i.split_whitespace().collect::<String>().to_ascii_lowercase())
        .filter(|i| !i.is_empty())
        .collect();
    items.sort();
    items.dedup();
    http::HeaderValue::from_str(&items.join(","))
        .ok()
        .filter(|_| !items.is_empty())
}

/// A passed method's end-to-end headers: hop-by-hop and client framing
/// removed (hyper frames the body from its size).
/// Request headers that make origin frameworks act on another URL, host
/// or method than the one the edge routed (IIS and Symfony rewrite to
/// `X-Original-URL`, Django believes `X-Forwarded-Host` with
/// `USE_X_FORWARDED_HOST`, method overrides): a passed request keeps its
/// other end-to-end headers, never these. The edge sets `X-Forwarded-For`
/// and `X-Forwarded-Proto` itself.
const REWRITES: [&str; 11] = [
    "x-original-url",
    "x-rewrite-url",
    "x-forwarded-host",
    "x-forwarded-server",
    "x-forwarded-port",
    "x-forwarded-scheme",
    "x-host",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "forwarded",
];

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut h = headers.clone();
    remove_hop_by_hop(&mut h);
    for name in CLIENT_FRAMING {
        h.remove(name);
    }
    for name in REWRITES {
        h.remove(name);
    }
    h
}

/// Forwards a method other than GET/HEAD, uncached.
pub async fn unsafe_request<B>(
    edge: &Edge,
    route: &Arc<Route>,
    req: Request<B>,
    client: ClientAddr,
) -> Response<EdgeBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_string();
    let mut headers = end_to_end(&parts.headers);
    // HTTP/2 names the host in `:authority`, not in a header: a
    // `preserve_host` origin is sent it as the GETs of this URL are.
    if !headers.contains_key(header::HOST)
        && let Ok(Some(host)) = keyed_host(route, &parts.headers, &parts.uri)
        && let Ok(host) = http::HeaderValue::from_str(&host)
    {
        headers.insert(header::HOST, host);
    }
    let request = OriginRequest {
        method: parts.method.clone(),
        key: path_and_query.clone(),
        path_and_query,
        client_ip: Some(client.ip),
        client_scheme: Some(client.scheme),
        headers,
    };
    let body = body.map_err(Into::into).boxed_unsync();
    let response = match route.origin.forward(&request, body).await {
        Ok(r) => r,
        Err(e) => return edge.fill_error(&FillError::from(e)),
    };
    let safe = matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if !safe && (response.status.is_success() || response.status.is_redirection()) {
        let mut targets = vec![request.path_and_query.clone()];
        for name in [header::LOCATION, header::CONTENT_LOCATION] {
            if let Some(pq) = response
                .headers
                .get(&name)
                .and_then(|v| same_origin_path(v.as_bytes(), &parts.headers))
            {
                targets.push(pq);
            }
        }
        for target in targets {
            let Some(route) = edge.router.route(target.split('?').next().unwrap_or("")) else {
                continue;
            };
            let Ok(key) = route.invalidation_key(&target) else {
                continue;
            };
            // One lookup per key, never a purge: a purge scans the whole
            // cache and takes a purge generation, and fills in flight
            // older than the last 1,024 are not stored, so any client
            // POSTing in a loop kept every route's fills out of the cache.
            // The URL without keyed headers and cookies, and the
            // requester's own variant; other clients' keyed variants of
            // it run out by their freshness (an admin invalidation of the
            // path covers them all).
            let host = keyed_host(route, &parts.headers, &parts.uri).unwrap_or(None);
            if !route.key.is_plain() {
                let path = target.split('?').next().unwrap_or("");
                if let Ok(own) = route.request_key(path, &target, &parts.headers) {
                    let own = CacheKey::new(route.id, own.into_owned()).with_host(host.clone());
                    edge.store.invalidate(&own);
                }
            }
            edge.store.invalidate(&CacheKey::new(route.id, key).with_host(host));
        }
    }
    edge.identity.pass(response, &route.policy, false)
}

/// The path and query of a `Location`-style URI reference if it names this
/// host (relative, or absolute with the request's `Host`).
fn same_origin_path(value: &[u8], request: &HeaderMap) -> Option<String> {
    let uri: Uri = std::str::from_utf8(value).ok()?.parse().ok()?;
    if let Some(authority) = uri.authority() {
        let host = request.get(header::HOST)?.to_str().ok()?;
        if !authority.as_str().eq_ignore_ascii_case(host) {
            return None;
        }
    }
    let pq = uri.path_and_query()?.as_str();
    pq.starts_with('/').then(|| pq.to_string())
}
