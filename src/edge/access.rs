//! What the access log needs from a request and its response. The
//! request's fields are rendered as it arrives (`access_log::Pre`): by the
//! time its response is known, the request is gone, and copying its
//! fields out of hyper's read buffer cost more than rendering them.

use std::time::{Instant, SystemTime};

use http::{HeaderMap, Request, Response, Uri, header};

use crate::access_log::{AccessLog, Pre, RequestFields, ResponseFields};
use crate::body::EdgeBody;
use crate::client_addr::{ClientAddr, Scheme, X_FORWARDED_FOR};
use crate::metrics::RESULTS;
use crate::response::X_CACHE;

/// A logged request, waiting for its response.
pub struct Seen {
    pre: Pre,
    start: Instant,
}

impl Seen {
    pub fn new<B>(log: &AccessLog, req: &Request<B>, client: ClientAddr) -> Seen {
        let h = req.headers();
        let body = h
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0u64);
        // The request line and headers as HTTP/1.1 writes them.
        let line = req.method().as_str().len() + uri_len(req.uri()) + 11;
        let value = |name| h.get(name).map(|v: &http::HeaderValue| v.as_bytes());
        let pre = log.pre(RequestFields {
            at: SystemTime::now(),
            client: client.ip,
            method: req.method().as_str(),
            host: value(header::HOST).or_else(|| req.uri().authority().map(|a| a.as_str().as_bytes())),
            stem: req.uri().path(),
            query: req.uri().query().unwrap_or(""),
            referer: value(header::REFERER),
            user_agent: value(header::USER_AGENT),
            cookie: value(header::COOKIE),
            forwarded_for: h.get(&X_FORWARDED_FOR).map(|v| v.as_bytes()),
            https: client.scheme == Scheme::Https,
            version: req.version(),
            request_bytes: line as u64 + header_bytes(h) + 2 + body,
            request_id: 0,
        });
        Seen {
            pre,
            start: Instant::now(),
        }
    }

    /// Queues the line of this request and its response.
    pub fn log(self, log: &AccessLog, resp: &Response<EdgeBody>, body: u64) {
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
        let response = ResponseFields {
            status,
            result,
            // "HTTP/1.1 200 OK\r\n", headers, blank line, body.
            response_bytes: 17 + header_bytes(h) + 2 + body,
            content_type: h.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            content_length: h
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .or(Some(body).filter(|b| *b > 0)),
            range: h
                .get(header::CONTENT_RANGE)
                .and_then(|_| crate::slice::content_range(h))
                .map(|(a, b, _)| (a, b)),
            elapsed: self.start.elapsed(),
        };
        log.log(&self.pre, &response);
    }
}

fn header_bytes(h: &HeaderMap) -> u64 {
    h.iter().map(|(n, v)| (n.as_str().len() + v.len() + 4) as u64).sum()
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
