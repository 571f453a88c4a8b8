//! What the edge sends to origins: the request for a fill (end-to-end
//! client headers minus what the cache owns) and, on routes with
//! `methods = "all"`, other methods forwarded uncached with their bodies.
//! A successful unsafe request invalidates what is stored for its URL and
//! its `Location` / `Content-Location` (RFC 9111 §4.4).

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
use crate::headers::remove_hop_by_hop;
use crate::origin::{BoxError, OriginRequest};
use crate::route::Route;

/// Request headers the cache owns on a fill: its own conditionals and
/// ranges (it fills whole objects and validates them itself).
const CACHE_OWNED: [header::HeaderName; 6] = [
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_MATCH,
    header::IF_UNMODIFIED_SINCE,
    header::IF_RANGE,
    header::RANGE,
];

/// Request headers that frameworks believe (Django's `USE_X_FORWARDED_HOST`,
/// IIS and Symfony's URL rewrites, method overrides) but that are not part
/// of the cache key: forwarded, one client's value could shape the response
/// stored for everyone (cache poisoning). The edge sets `X-Forwarded-For`
/// and `X-Forwarded-Proto` itself.
const UNKEYED: [&str; 11] = [
    "x-forwarded-host",
    "x-forwarded-server",
    "x-forwarded-port",
    "x-forwarded-scheme",
    "x-original-url",
    "x-rewrite-url",
    "x-host",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "forwarded",
];

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

/// The origin request for a fill (always a GET) or a pass.
pub fn origin_request<B>(route: &Route, key: &CacheKey, req: &Request<B>, client: ClientAddr) -> OriginRequest {
    let http = route.origin.keys_query();
    let mut headers = HeaderMap::new();
    if http {
        headers = end_to_end(req.headers());
        for name in CACHE_OWNED {
            headers.remove(name);
        }
        for name in UNKEYED {
            headers.remove(name);
        }
        if route.policy.compress {
            // We compress ourselves, once; the origin sends identity.
            headers.remove(header::ACCEPT_ENCODING);
        }
        // The host the object is keyed by, exactly (`keyed_host`).
        headers.remove(header::HOST);
        if let Some(host) = key.host().and_then(|h| http::HeaderValue::from_str(h).ok()) {
            headers.insert(header::HOST, host);
        }
    }
    OriginRequest {
        method: Method::GET,
        key: key.key().to_string(),
        path_and_query: if http {
            key.key().to_string()
        } else {
            req.uri().path().to_string()
        },
        client_ip: Some(client.ip),
        client_scheme: Some(client.scheme),
        headers,
    }
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut h = headers.clone();
    remove_hop_by_hop(&mut h);
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
    let request = OriginRequest {
        method: parts.method.clone(),
        key: path_and_query.clone(),
        path_and_query,
        client_ip: Some(client.ip),
        client_scheme: Some(client.scheme),
        headers: end_to_end(&parts.headers),
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
            if let Some(route) = edge.router.route(target.split('?').next().unwrap_or("")) {
                let host = keyed_host(route, &parts.headers, &parts.uri).unwrap_or(None);
                let key = CacheKey::new(route.id, target.as_str()).with_host(host);
                edge.store.invalidate(&key);
            }
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
