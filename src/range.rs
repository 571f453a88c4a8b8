//! Range requests answered from the identity bytes (RFC 9110 §14).
//!
//! The parser is ours: `headers::Range` skips malformed specs silently and
//! does not tell an unsatisfiable set (416) from an invalid header (ignored),
//! which is exactly the distinction the RFC needs here.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use headers::{ETag, HeaderMapExt, IfRange};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use crate::body::EdgeBody;
use crate::cache::object::Variant;
use crate::origin::BoxError;

/// More ranges than this, or overlapping ones, are answered with the whole
/// representation: cheaper for both sides than hundreds of parts.
pub const MAX_RANGES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeOutcome {
    /// Ignore the Range header: send the whole representation (200).
    Full,
    /// Inclusive byte ranges, in request order (206).
    Partial(Vec<(u64, u64)>),
    /// 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
}

/// Evaluates `Range` (and `If-Range`) of a GET against a body of `len`.
pub fn evaluate(h: &HeaderMap, len: u64, etag: Option<&ETag>, last_modified: Option<SystemTime>) -> RangeOutcome {
    let Some(value) = h.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeOutcome::Full;
    };
    if h.contains_key(header::IF_RANGE) && !if_range_matches(h, etag, last_modified) {
        return RangeOutcome::Full;
    }
    parse(value, len)
}

/// If-Range (RFC 9110 §13.1.5): an entity tag must match strongly, a date
/// must equal `Last-Modified` exactly; anything else means "send it all".
fn if_range_matches(h: &HeaderMap, etag: Option<&ETag>, last_modified: Option<SystemTime>) -> bool {
    let Some(raw) = h.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let raw = raw.trim();
    if raw.starts_with('"') || raw.starts_with("W/") {
        return h.typed_get::<IfRange>().is_some_and(|ir| !ir.is_modified(etag, None));
    }
    match (httpdate::parse_http_date(raw), last_modified) {
        (Ok(date), Some(lm)) => date == lm,
        _ => false,
    }
}

/// Parses a `bytes=` range set against a representation of `len` bytes.
pub fn parse(value: &str, len: u64) -> RangeOutcome {
    let Some((unit, set)) = value.split_once('=') else {
        return RangeOutcome::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeOutcome::Full;
    }
    let mut ranges = Vec::new();
    let mut specs = 0;
    for spec in set.split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            continue; // the ABNF allows empty list elements
        }
        specs += 1;
        if specs > MAX_RANGES {
            return RangeOutcome::Full;
        }
        let Some((first, last)) = spec.split_once('-') else {
            return RangeOutcome::Full;
        };
        let (first, last) = (first.trim(), last.trim());
        let range = if first.is_empty() {
            // suffix: the last N bytes
            let Some(n) = digits(last) else {
                return RangeOutcome::Full;
            };
            (n > 0 && len > 0).then(|| (len.saturating_sub(n), len - 1))
        } else {
            let Some(a) = digits(first) else {
                return RangeOutcome::Full;
            };
            let b = if last.is_empty() {
                u64::MAX
            } else {
                match digits(last) {
                    Some(b) if b >= a => b,
                    _ => return RangeOutcome::Full,
                }
            };
            (a < len).then(|| (a, b.min(len - 1)))
        };
        ranges.extend(range);
    }
    if specs == 0 {
        return RangeOutcome::Full;
    }
    if ranges.is_empty() {
        return RangeOutcome::Unsatisfiable;
    }
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[1].0 <= w[0].1) {
        return RangeOutcome::Full;
    }
    RangeOutcome::Partial(ranges)
}

/// A 206 for `ranges` of the identity variant: one part, or
/// `multipart/byteranges` for several. Neither copies the payload: one part
/// is a slice of the stored bytes, several are such slices sent between
/// small rendered part heads (`Parts`), so a client that stops reading
/// holds references to the stored body, never a copy of it.
pub fn partial(identity: &Variant, ranges: &[(u64, u64)]) -> Response<EdgeBody> {
    let len = identity.body.len() as u64;
    let mut headers = identity.headers.clone();
    let (body, length) = if let [(a, b)] = ranges {
        headers.insert(header::CONTENT_RANGE, content_range(*a, *b, len));
        let body = identity.body.slice(*a as usize..=*b as usize);
        let length = body.len() as u64;
        (EdgeBody::bytes(body), length)
    } else {
        let boundary = boundary();
        let content_type = headers.remove(header::CONTENT_TYPE);
        let mut pieces = Vec::with_capacity(ranges.len() * 2 + 1);
        for &(a, b) in ranges {
            let mut head = BytesMut::new();
            part_head(&mut head, &boundary, content_type.as_ref(), (a, b), len);
            pieces.push(head.freeze());
            pieces.push(identity.body.slice(a as usize..=b as usize));
        }
        pieces.push(Bytes::from(multipart_close(&boundary)));
        headers.insert(header::CONTENT_TYPE, multipart_type(&boundary));
        let parts = Parts::new(pieces);
        let length = parts.remaining;
        (EdgeBody::Stream(parts.boxed_unsync()), length)
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    *resp.headers_mut() = headers;
    resp
}

/// A body sent as a list of buffers, one frame each, in order: the pieces
/// of a `multipart/byteranges` answer.
pub struct Parts {
    pieces: std::vec::IntoIter<Bytes>,
    remaining: u64,
}

impl Parts {
    pub fn new(pieces: Vec<Bytes>) -> Parts {
        let remaining = pieces.iter().map(|p| p.len() as u64).sum();
        Parts {
            pieces: pieces.into_iter(),
            remaining,
        }
    }
}

impl Body for Parts {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let next = this.pieces.find(|p| !p.is_empty());
        if let Some(p) = &next {
            this.remaining -= p.len() as u64;
        }
        Poll::Ready(next.map(|p| Ok(Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// 416 with `Content-Range: bytes */LEN` and the variant's validators.
pub fn unsatisfiable(identity: &Variant) -> Response<EdgeBody> {
    let mut resp = Response::new(EdgeBody::empty());
    *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    let h = resp.headers_mut();
    *h = identity.not_modified.clone();
    let star = format!("bytes */{}", identity.body.len());
    h.insert(header::CONTENT_RANGE, HeaderValue::from_str(&star).expect("ascii"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    resp
}

fn content_range(a: u64, b: u64, len: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("bytes {a}-{b}/{len}")).expect("ascii")
}

/// A multipart boundary: random per response, so a body cannot contain it
/// by design.
pub fn boundary() -> String {
    use std::hash::{BuildHasher, RandomState};
    format!(
        "cachefront-{:016x}",
        RandomState::new().hash_one(std::time::Instant::now())
    )
}

/// Writes the head of one `multipart/byteranges` part (RFC 9110 §14.6):
/// its delimiter, the representation's type and the part's range of `total`.
pub fn part_head(
    out: &mut BytesMut,
    boundary: &str,
    content_type: Option<&HeaderValue>,
    (a, b): (u64, u64),
    total: u64,
) {
    out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    if let Some(ct) = content_type {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(ct.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Range: bytes {a}-{b}/{total}\r\n\r\n").as_bytes());
}

/// The delimiter that ends a `multipart/byteranges` body.
pub fn multipart_close(boundary: &str) -> String {
    format!("\r\n--{boundary}--\r\n")
}

/// The `Content-Type` of a `multipart/byteranges` body.
pub fn multipart_type(boundary: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("multipart/byteranges; boundary={boundary}")).expect("ascii")
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::RangeOutcome::*;
    use super::*;

    #[test]
    fn range_forms() {
        let table: Vec<(&str, RangeOutcome)> = vec![
            ("bytes=0-9", Partial(vec![(0, 9)])),
            ("bytes=90-", Partial(vec![(90, 99)])),
            ("bytes=-10", Partial(vec![(90, 99)])),
            ("bytes=-1000", Partial(vec![(0, 99)])),
            ("bytes=95-200", Partial(vec![(95, 99)])),
            ("bytes=0-0,-1", Partial(vec![(0, 0), (99, 99)])),
            ("bytes=50-59, 0-9", Partial(vec![(50, 59), (0, 9)])),
            ("BYTES=0-1", Partial(vec![(0, 1)])),
            ("bytes=100-", Unsatisfiable),
            ("bytes=100-200", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("bytes=200-300, 150-", Unsatisfiable),
            ("bytes=200-300, 0-4", Partial(vec![(0, 4)])),
            ("bytes=9-0", Full),
            ("bytes=abc", Full),
            ("bytes=1-2-3", Full),
            ("items=0-9", Full),
            ("bytes=", Full),
            ("bytes=0-9,5-14", Full),
            ("bytes=0-,10-20", Full),
        ];
        for (value, want) in table {
            assert_eq!(parse(value, 100), want, "{value}");
        }
    }

    #[test]
    fn more_than_sixteen_ranges_get_the_whole_body() {
        let many: Vec<String> = (0..17).map(|i| format!("{}-{}", i * 2, i * 2)).collect();
        assert_eq!(parse(&format!("bytes={}", many.join(",")), 100), Full);
        let ok: Vec<String> = (0..16).map(|i| format!("{}-{}", i * 2, i * 2)).collect();
        assert!(matches!(parse(&format!("bytes={}", ok.join(",")), 100), Partial(v) if v.len() == 16));
    }

    #[test]
    fn empty_body_is_unsatisfiable() {
        assert_eq!(parse("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse("bytes=-5", 0), Unsatisfiable);
    }
}
