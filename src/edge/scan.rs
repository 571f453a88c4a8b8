//! One pass over a request's headers for what `respond` decides on: head
//! size (431), conditionals, Range, Via and whether Host is well-formed.

use http::{Request, header};

use crate::host;

/// What `respond` needs to know of a request's headers, from one pass over
/// them: a lookup per header asked about cost more (callgrind).
#[derive(Clone, Copy)]
pub(super) struct Scan {
    /// Request line plus header lines, as an HTTP/1.1 client would send
    /// them. hyper's own bound (its read buffer, `connection::MAX_REQUEST_HEAD`)
    /// is approximate: a head that arrives in one read may exceed it.
    pub(super) head_size: usize,
    /// Any of `If-Match`, `If-None-Match`, `If-Modified-Since`,
    /// `If-Unmodified-Since`.
    pub(super) conditional: bool,
    pub(super) range: bool,
    pub(super) via: bool,
    /// A `Host` or `:authority` that is not `host[:port]`, a second `Host`,
    /// or a `Host` naming another host than the request target's authority
    /// (HTTP/2's `:authority`, HTTP/1's absolute form; RFC 9113 §8.3.1).
    /// An empty `Host` counts as none. A request without one is accepted
    /// on every version (HTTP/1.0 clients, the edge's own requests).
    pub(super) bad_host: bool,
}

impl Scan {
    pub(super) fn of<B>(req: &Request<B>, url_len: usize) -> Scan {
        let authority = req.uri().authority().map(|a| a.as_str().as_bytes());
        let mut scan = Scan {
            head_size: req.method().as_str().len() + url_len + 12,
            conditional: false,
            range: false,
            via: false,
            bad_host: authority.is_some_and(|a| host::parse(a).is_none()),
        };
        let mut hosts = 0;
        for (name, value) in req.headers() {
            scan.head_size += name.as_str().len() + value.len() + 4;
            match *name {
                header::IF_MATCH | header::IF_NONE_MATCH | header::IF_MODIFIED_SINCE | header::IF_UNMODIFIED_SINCE => {
                    scan.conditional = true;
                }
                header::RANGE => scan.range = true,
                header::VIA => scan.via = true,
                header::HOST => {
                    hosts += 1;
                    let value = value.as_bytes();
                    scan.bad_host |= hosts > 1
                        || !value.is_empty()
                            && (host::parse(value).is_none()
                                || authority.is_some_and(|a| !a.eq_ignore_ascii_case(value)));
                }
                _ => {}
            }
        }
        scan
    }
}
