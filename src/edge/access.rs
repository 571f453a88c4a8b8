//! What the access log needs from a request, taken before the request is
//! consumed: cheap clones only (header values and the URI share bytes).

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri, Version, header};

use crate::access_log::{AccessLog, Record};
use crate::body::EdgeBody;
use crate::client_addr::{ClientAddr, Scheme, X_FORWARDED_FOR};
use crate::metrics::RESULTS;
use crate::response::X_CACHE;

pub struct Seen {
    at: SystemTime,
    client: ClientAddr,
    method: Method,
    uri: Uri,
    version: Version,
    host: Option<HeaderValue>,
    referer: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
    cookie: Option<HeaderValue>,
    forwarded_for: Option<HeaderValue>,
    request_bytes: u64,
}

impl Seen {
    pub fn new<B>(req: &Request<B>, client: ClientAddr) -> Seen {
        let h = req.headers();
        let body = h
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0u64);
        // The request line and headers as HTTP/1.1 writes them.
        let line = req.method().as_str().len() + uri_len(req.uri()) + 11;
        Seen {
            at: SystemTime::now(),
            client,
            method: req.method().clone(),
            uri: detach_uri(req.uri()),
            version: req.version(),
            host: h.get(header::HOST).map(detach).or_else(|| {
                req.uri()
                    .authority()
                    .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            }),
            referer: h.get(header::REFERER).map(detach),
            user_agent: h.get(header::USER_AGENT).map(detach),
            cookie: h.get(header::COOKIE).map(detach),
            forwarded_for: h.get(&X_FORWARDED_FOR).map(detach),
            request_bytes: line as u64 + header_bytes(h) + 2 + body,
        }
    }

    pub fn record(self, log: &AccessLog, resp: &Response<EdgeBody>, body: u64, elapsed: Duration) -> Record {
        let h = resp.headers();
        let status = resp.status().as_u16();
        let result = match h.get(&X_CACHE).map(|v| v.as_bytes()) {
            Some(v) => RESULTS
                .iter()
                .find(|r| v.starts_with(r.as_bytes()))
                .copied()
                .unwrap_or("Miss"),
            None if status >= 400 => "Error",
            None => "Miss",
        };
        Record {
            at: self.at,
            client: self.client.ip,
            method: self.method,
            uri: self.uri,
            host: self.host,
            referer: self.referer,
            user_agent: self.user_agent,
            cookie: self.cookie,
            forwarded_for: self.forwarded_for,
            https: self.client.scheme == Scheme::Https,
            version: self.version,
            request_bytes: self.request_bytes,
            status,
            result,
            // "HTTP/1.1 200 OK\r\n", headers, blank line, body.
            response_bytes: 17 + header_bytes(h) + 2 + body,
            content_type: h.get(header::CONTENT_TYPE).cloned(),
            content_length: h
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .or(Some(body).filter(|b| *b > 0)),
            range: h
                .get(header::CONTENT_RANGE)
                .and_then(|_| crate::slice::content_range(h))
                .map(|(a, b, _)| (a, b)),
            elapsed,
            request_id: log.next_request_id(),
        }
    }
}

fn header_bytes(h: &HeaderMap) -> u64 {
    h.iter().map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64).sum()
}

/// A copy of a request header value that does not share hyper's read
/// buffer. Clones would: a record waiting for the log writer would then keep
/// that buffer alive, and hyper would allocate a fresh 8 KiB buffer for
/// every next request on the connection (measured: most of the log's cost).
fn detach(v: &HeaderValue) -> HeaderValue {
    HeaderValue::from_bytes(v.as_bytes()).unwrap_or_else(|_| v.clone())
}

/// The request target, copied out of hyper's read buffer (see `detach`).
fn detach_uri(uri: &Uri) -> Uri {
    let copied = match (uri.scheme(), uri.authority()) {
        (None, None) => uri
            .path_and_query()
            .and_then(|pq| Uri::from_maybe_shared(bytes::Bytes::copy_from_slice(pq.as_str().as_bytes())).ok()),
        _ => uri.to_string().parse().ok(),
    };
    copied.unwrap_or_else(|| uri.clone())
}

/// The length of `uri` as written in a request line, without rendering it
/// (this runs per logged request).
fn uri_len(uri: &Uri) -> usize {
    let pq = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(a)) => scheme.len() + 3 + a.as_str().len() + pq.max(1),
        (None, Some(a)) => a.as_str().len() + pq,
        _ => pq.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::uri_len;

    #[test]
    fn detached_copies_equal_the_originals() {
        for u in ["/static/a.css?v=1", "http://example.com/x?y", "*"] {
            let uri: http::Uri = u.parse().unwrap();
            assert_eq!(super::detach_uri(&uri), uri);
        }
        let v = http::HeaderValue::from_static("Mozilla/5.0 (X11)");
        assert_eq!(super::detach(&v), v);
    }

    #[test]
    fn uri_len_matches_the_rendered_uri() {
        for u in [
            "/",
            "/static/a.css?v=1",
            "http://example.com/x?y",
            "http://example.com",
            "example.com:443",
            "*",
        ] {
            let uri: http::Uri = u.parse().unwrap();
            assert_eq!(uri_len(&uri), uri.to_string().len(), "{u}");
        }
    }
}
