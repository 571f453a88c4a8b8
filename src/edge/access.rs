//! What the access log needs from a request and its response. A line's
//! fields are queued as the response leaves. On a hit the request is still there
//! and its fields are read from it; a request answered later (a miss, a
//! pass, an error page) is consumed on the way, so its few logged fields
//! are captured first (`Captured`: the header values are clones that share
//! hyper's read buffer, not copies).

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, Version, header};

use crate::access_log::{AccessLog, RequestFields, ResponseFields};
use crate::body::EdgeBody;
use crate::client_addr::{ClientAddr, Scheme, X_FORWARDED_FOR};
use crate::metrics::RESULTS;
use crate::response::X_CACHE;

/// When a logged request arrived, and its URI as sent where the edge will
/// rewrite it (a signed URL loses its signature's parameters; the log
/// keeps them, as CloudFront's does).
pub struct Arrival {
    at: SystemTime,
    sent_uri: Option<Uri>,
}

impl Arrival {
    pub fn new<B>(req: &Request<B>, rewrites_uri: bool) -> Arrival {
        Arrival {
            at: SystemTime::now(),
            sent_uri: rewrites_uri.then(|| req.uri().clone()),
        }
    }

    /// Logs a request answered at once, read from the request itself.
    pub fn log<B>(&self, log: &AccessLog, req: &Request<B>, client: ClientAddr, resp: &Response<EdgeBody>, body: u64) {
        let uri = self.sent_uri.as_ref().unwrap_or(req.uri());
        let scan = scan(req.method(), uri, req.headers());
        let headers = scan.headers.map(|v| v.map(HeaderValue::as_bytes));
        log.log(
            fields(req.method(), uri, req.version(), client, headers, scan.bytes),
            &response_fields(self.at, resp, body, scan.close),
        );
    }

    /// Takes what the line needs from a request about to be consumed.
    pub fn capture<B>(self, req: &Request<B>, client: ClientAddr) -> Captured {
        let uri = self.sent_uri.unwrap_or_else(|| req.uri().clone());
        let scan = scan(req.method(), &uri, req.headers());
        Captured {
            at: self.at,
            client,
            method: req.method().clone(),
            version: req.version(),
            headers: scan.headers.map(|v| v.cloned()),
            request_bytes: scan.bytes,
            close: scan.close,
            uri,
        }
    }
}

/// A request's logged fields, owned, for a response that comes later.
pub struct Captured {
    at: SystemTime,
    client: ClientAddr,
    method: Method,
    uri: Uri,
    version: Version,
    headers: [Option<HeaderValue>; LOGGED],
    request_bytes: u64,
    close: bool,
}

impl Captured {
    pub fn log(&self, log: &AccessLog, resp: &Response<EdgeBody>, body: u64) {
        let headers = self.headers.each_ref().map(|v| v.as_ref().map(HeaderValue::as_bytes));
        log.log(
            fields(
                &self.method,
                &self.uri,
                self.version,
                self.client,
                headers,
                self.request_bytes,
            ),
            &response_fields(self.at, resp, body, self.close),
        );
    }
}

/// How many request headers a line shows: Host, Referer, User-Agent,
/// Cookie and X-Forwarded-For, in that order in `scan` and `fields`.
const LOGGED: usize = 5;

/// What one pass over a request's headers finds for its line: a lookup
/// each cost more than the pass (callgrind).
struct Scan<'a> {
    /// The first of each logged header.
    headers: [Option<&'a HeaderValue>; LOGGED],
    /// The request's size as HTTP/1.1 sends it, body included.
    bytes: u64,
    /// `Connection: close`, which hyper answers with a header of its own.
    close: bool,
}

fn scan<'a>(method: &Method, uri: &Uri, headers: &'a HeaderMap) -> Scan<'a> {
    let mut found = [None; LOGGED];
    let (mut body, mut close) = (None, false);
    // "GET /path HTTP/1.1\r\n", the header lines, "\r\n".
    let mut size = method.as_str().len() + uri_len(uri) + 12 + 2;
    for (name, value) in headers {
        size += header_line(name, value);
        let slot = match *name {
            header::HOST => 0,
            header::REFERER => 1,
            header::USER_AGENT => 2,
            header::COOKIE => 3,
            header::CONTENT_LENGTH => {
                body = body.or_else(|| value.to_str().ok()?.parse::<u64>().ok());
                continue;
            }
            header::CONNECTION => {
                close |= <headers::Connection as headers::Header>::decode(&mut std::iter::once(value))
                    .is_ok_and(|c| c.contains("close"));
                continue;
            }
            _ if name == X_FORWARDED_FOR => 4,
            _ => continue,
        };
        found[slot].get_or_insert(value);
    }
    Scan {
        headers: found,
        bytes: size as u64 + body.unwrap_or(0),
        close,
    }
}

fn fields<'a>(
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    client: ClientAddr,
    [host, referer, user_agent, cookie, forwarded_for]: [Option<&'a [u8]>; LOGGED],
    request_bytes: u64,
) -> RequestFields<'a> {
    RequestFields {
        client: client.ip,
        method: method.as_str().as_bytes(),
        host: host.or_else(|| uri.authority().map(|a| a.as_str().as_bytes())),
        stem: uri.path().as_bytes(),
        query: uri.query().unwrap_or("").as_bytes(),
        referer,
        user_agent,
        cookie,
        forwarded_for,
        https: client.scheme == Scheme::Https,
        version,
        request_bytes,
        // Numbered as it is queued.
        request_id: 0,
    }
}

/// The response's side of a line. `sc-bytes` counts what hyper writes:
/// the status line, the headers (with the `Date` and `Connection: close`
/// it adds when the response has none), the body. A streamed body of
/// unknown length counts as nothing.
fn response_fields(arrived: SystemTime, resp: &Response<EdgeBody>, body: u64, close: bool) -> ResponseFields<'_> {
    let status = resp.status();
    let at = SystemTime::now();
    let mut f = ResponseFields {
        at,
        status: status.as_u16(),
        result: if status.as_u16() >= 400 { "Error" } else { "Miss" },
        response_bytes: 0,
        content_type: None,
        content_length: None,
        range: None,
        elapsed: at.duration_since(arrived).unwrap_or(Duration::ZERO),
    };
    let (mut x_cache, mut header_bytes) = (None, 0);
    let (mut date, mut connection) = (false, false);
    for (name, value) in resp.headers() {
        header_bytes += header_line(name, value);
        match *name {
            header::DATE => date = true,
            header::CONNECTION => connection = true,
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
    if !date {
        header_bytes += "date: Sun, 06 Nov 1994 08:49:37 GMT\r\n".len();
    }
    if close && !connection {
        header_bytes += "connection: close\r\n".len();
    }
    // "HTTP/1.1 200 OK\r\n" as hyper writes it, the headers, "\r\n", the body.
    let reason = status.canonical_reason().unwrap_or("<none>").len();
    f.response_bytes = (9 + 3 + 1 + reason + 2 + header_bytes + 2) as u64 + body;
    f
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
