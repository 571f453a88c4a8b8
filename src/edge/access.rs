//! What the access log needs from a request and its response. The
//! request's fields are rendered as it arrives (`access_log::Pre`): by the
//! time its response is known, the request is gone, and copying its
//! fields out of hyper's read buffer cost more than rendering them.

use std::time::{Instant, SystemTime};

use http::{HeaderName, HeaderValue, Request, Response, Uri, header};

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
        // One pass over the headers finds the logged ones and sums their
        // size: a lookup each cost more than the pass (callgrind).
        let mut f = RequestFields {
            at: SystemTime::now(),
            client: client.ip,
            method: req.method().as_str(),
            host: None,
            stem: req.uri().path(),
            query: req.uri().query().unwrap_or(""),
            referer: None,
            user_agent: None,
            cookie: None,
            forwarded_for: None,
            https: client.scheme == Scheme::Https,
            version: req.version(),
            request_bytes: 0,
            request_id: 0,
        };
        let mut body = None;
        let mut header_bytes = 0;
        for (name, value) in req.headers() {
            header_bytes += header_line(name, value);
            let slot = match *name {
                header::HOST => &mut f.host,
                header::REFERER => &mut f.referer,
                header::USER_AGENT => &mut f.user_agent,
                header::COOKIE => &mut f.cookie,
                header::CONTENT_LENGTH => {
                    body = body.or_else(|| value.to_str().ok()?.parse::<u64>().ok());
                    continue;
                }
                _ if name == X_FORWARDED_FOR => &mut f.forwarded_for,
                _ => continue,
            };
            slot.get_or_insert(value.as_bytes());
        }
        f.host = f.host.or_else(|| req.uri().authority().map(|a| a.as_str().as_bytes()));
        // The request line and headers as HTTP/1.1 writes them.
        let line = req.method().as_str().len() + uri_len(req.uri()) + 11;
        f.request_bytes = (line + header_bytes + 2) as u64 + body.unwrap_or(0);
        Seen {
            pre: log.pre(f),
            start: Instant::now(),
        }
    }

    /// Queues the line of this request and its response.
    pub fn log(self, log: &AccessLog, resp: &Response<EdgeBody>, body: u64) {
        let status = resp.status().as_u16();
        let mut f = ResponseFields {
            status,
            result: if status >= 400 { "Error" } else { "Miss" },
            response_bytes: 0,
            content_type: None,
            content_length: None,
            range: None,
            elapsed: self.start.elapsed(),
        };
        let (mut x_cache, mut header_bytes) = (None, 0);
        for (name, value) in resp.headers() {
            header_bytes += header_line(name, value);
            match *name {
                header::CONTENT_TYPE => f.content_type = f.content_type.or(Some(value.as_bytes())),
                header::CONTENT_LENGTH => {
                    f.content_length = f.content_length.or_else(|| value.to_str().ok()?.parse().ok());
                }
                header::CONTENT_RANGE => {
                    f.range = f
                        .range
                        .or_else(|| crate::slice::parse_content_range(value).map(|(a, b, _)| (a, b)));
                }
                _ if name == X_CACHE => x_cache = x_cache.or(Some(value.as_bytes())),
                _ => {}
            }
        }
        if let Some(v) = x_cache {
            f.result = RESULTS
                .iter()
                .find(|r| v.starts_with(r.as_bytes()))
                .copied()
                .unwrap_or("Miss");
        }
        f.content_length = f.content_length.or(Some(body).filter(|b| *b > 0));
        // "HTTP/1.1 200 OK\r\n", headers, blank line, body.
        f.response_bytes = (17 + header_bytes + 2) as u64 + body;
        log.log(&self.pre, &f);
    }
}

/// A header line's bytes as HTTP/1.1 writes it: `name: value\r\n`.
fn header_line(name: &HeaderName, value: &HeaderValue) -> usize {
    name.as_str().len() + value.len() + 4
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
