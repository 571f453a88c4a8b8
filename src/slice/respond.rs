//! Answering from slices: preconditions and ranges as on the hit path, and
//! a body streamed slice after slice (each a cache hit or a coalesced
//! ranged fill, the next one prefetched while the current one is sent).
//! The first slice is fetched before the headers go out, so a failing
//! origin is a clean 502; a failure later aborts the response rather than
//! finishing it with wrong bytes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};

use super::SliceInfo;
use super::fill::SliceFill;
use crate::body::EdgeBody;
use crate::cache::{CacheKey, CachedObject, Entry, FillResult, Store};
use crate::conditional::{self, Precondition};
use crate::fill::{self, FillError, FillJob};
use crate::origin::{BoxError, OriginRequest};
use crate::range::{self, RangeOutcome};
use crate::response::{Identity, RequestView};
use crate::route::Route;

/// Everything needed to fetch an object's slices.
#[derive(Clone)]
pub struct Slices {
    pub store: Arc<Store>,
    pub route: Arc<Route>,
    pub identity: Arc<Identity>,
    pub key: CacheKey,
    pub info: SliceInfo,
    /// The origin request of the object, without a range.
    pub request: OriginRequest,
    pub max_object_size: u64,
}

/// A piece of a response body: literal bytes, or a byte range of the object.
enum Piece {
    Literal(Bytes),
    Range(u64, u64),
}

impl Slices {
    /// Slice `n`'s bytes, from cache or a coalesced ranged fill.
    pub async fn get(&self, n: u64) -> Result<Bytes, FillError> {
        let key = self.info.key(&self.key, n);
        if let Some(Entry::Object(o)) = self.store.get(&key)
            && o.is_fresh(Instant::now())
        {
            return Ok(o.identity().body.clone());
        }
        let job = FillJob {
            route: self.route.clone(),
            request: self.request.clone(),
            facts: Default::default(),
            max_object_size: self.max_object_size,
            identity: self.identity.clone(),
            stale: None,
            slice: Some(SliceFill {
                size: self.info.size,
                index: n,
                expect: Some(self.info),
            }),
        };
        let permits = self.route.origin.fill_permits();
        match self.store.fill(key, 0, permits, move || fill::fill(job)).await {
            FillResult::Stored(o) | FillResult::Uncached(o) => Ok(o.identity().body.clone()),
            FillResult::Failed(e) => {
                if matches!(e, FillError::SliceMismatch(_)) {
                    // The object changed: forget it, the next request
                    // starts afresh (old slices are unreachable by key).
                    self.store.invalidate(&self.key);
                }
                Err(e)
            }
            _ => Err(FillError::SliceMismatch("unexpected fill result".into())),
        }
    }

    /// Starts fetching slice `n` in the background (fills are detached).
    fn prefetch(&self, n: u64) {
        if n < self.info.count() {
            let slices = self.clone();
            tokio::spawn(async move {
                let _ = slices.get(n).await;
            });
        }
    }

    /// The answer for a request on the sliced object `meta`.
    pub async fn respond(self, meta: &CachedObject, req: &RequestView<'_>) -> Response<EdgeBody> {
        let identity = meta.identity();
        let total = self.info.total;
        if req.conditional {
            match conditional::evaluate(req.headers, meta.etag.as_ref(), meta.last_modified) {
                Precondition::Proceed => {}
                Precondition::NotModified => return with_headers(StatusCode::NOT_MODIFIED, &identity.not_modified),
                Precondition::Failed => {
                    return self
                        .identity
                        .error(StatusCode::PRECONDITION_FAILED, "Precondition Failed");
                }
            }
        }
        if req.head {
            return with_headers(StatusCode::OK, &identity.headers);
        }
        let outcome = if req.range {
            range::evaluate(req.headers, total, meta.etag.as_ref(), meta.last_modified)
        } else {
            RangeOutcome::Full
        };
        let mut headers = identity.headers.clone();
        let (status, pieces) = match outcome {
            RangeOutcome::Full => (StatusCode::OK, vec![Piece::Range(0, total - 1)]),
            RangeOutcome::Unsatisfiable => {
                let mut resp = with_headers(StatusCode::RANGE_NOT_SATISFIABLE, &identity.not_modified);
                let star = HeaderValue::from_str(&format!("bytes */{total}")).expect("ascii");
                resp.headers_mut().insert(header::CONTENT_RANGE, star);
                resp.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
                return resp;
            }
            RangeOutcome::Partial(ranges) if ranges.len() == 1 => {
                let (a, b) = ranges[0];
                let cr = HeaderValue::from_str(&format!("bytes {a}-{b}/{total}")).expect("ascii");
                headers.insert(header::CONTENT_RANGE, cr);
                (StatusCode::PARTIAL_CONTENT, vec![Piece::Range(a, b)])
            }
            RangeOutcome::Partial(ranges) => {
                let (pieces, content_type) = multipart(&ranges, total, headers.remove(header::CONTENT_TYPE));
                headers.insert(header::CONTENT_TYPE, content_type);
                (StatusCode::PARTIAL_CONTENT, pieces)
            }
        };
        let length: u64 = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(b) => b.len() as u64,
                Piece::Range(a, b) => b - a + 1,
            })
            .sum();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));

        // The first slice before the headers: an origin failure is a 502.
        let first = pieces.iter().find_map(|p| match p {
            Piece::Range(a, _) => Some(a / self.info.size),
            Piece::Literal(_) => None,
        });
        let mut ready = None;
        if let Some(n) = first {
            match self.get(n).await {
                Ok(bytes) => ready = Some((n, bytes)),
                Err(e) => return self.identity.error(e.status(), "Bad Gateway"),
            }
        }
        let body = self.stream(pieces.into(), ready);
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        *resp.headers_mut() = headers;
        resp
    }

    fn stream(self, pieces: VecDeque<Piece>, ready: Option<(u64, Bytes)>) -> EdgeBody {
        let state = (self, pieces, ready, None::<u64>);
        let stream = futures_util::stream::unfold(state, |(slices, mut pieces, mut ready, pos)| async move {
            let piece = pieces.pop_front()?;
            let (a, b) = match piece {
                Piece::Literal(bytes) => return Some((Ok(Frame::data(bytes)), (slices, pieces, ready, None))),
                Piece::Range(a, b) => (pos.unwrap_or(a), b),
            };
            let n = a / slices.info.size;
            let (start, end) = slices.info.bounds(n);
            if end < b {
                slices.prefetch(n + 1);
            }
            let bytes = match ready.take().filter(|(k, _)| *k == n) {
                Some((_, bytes)) => Ok(bytes),
                None => slices.get(n).await,
            };
            let bytes = match bytes {
                Ok(bytes) if bytes.len() as u64 == end - start + 1 => bytes,
                Ok(_) => return Some((Err(mismatch("slice length")), (slices, VecDeque::new(), None, None))),
                Err(e) => return Some((Err(Box::new(e) as BoxError), (slices, VecDeque::new(), None, None))),
            };
            let stop = b.min(end);
            let chunk = bytes.slice((a - start) as usize..=(stop - start) as usize);
            let next = if stop < b {
                pieces.push_front(Piece::Range(stop + 1, b));
                Some(stop + 1)
            } else {
                None
            };
            Some((Ok(Frame::data(chunk)), (slices, pieces, ready, next)))
        });
        EdgeBody::Stream(StreamBody::new(stream).boxed_unsync())
    }
}

fn mismatch(what: &str) -> BoxError {
    Box::new(FillError::SliceMismatch(what.to_string()))
}

fn with_headers(status: StatusCode, headers: &http::HeaderMap) -> Response<EdgeBody> {
    let mut resp = Response::new(EdgeBody::empty());
    *resp.status_mut() = status;
    *resp.headers_mut() = headers.clone();
    resp
}

/// `multipart/byteranges` as pieces: part headers as literals, ranges from
/// slices.
fn multipart(ranges: &[(u64, u64)], total: u64, content_type: Option<HeaderValue>) -> (Vec<Piece>, HeaderValue) {
    let boundary = range::boundary();
    let mut pieces = Vec::with_capacity(ranges.len() * 2 + 1);
    for &(a, b) in ranges {
        let mut head = BytesMut::new();
        range::part_head(&mut head, &boundary, content_type.as_ref(), (a, b), total);
        pieces.push(Piece::Literal(head.freeze()));
        pieces.push(Piece::Range(a, b));
    }
    pieces.push(Piece::Literal(Bytes::from(range::multipart_close(&boundary))));
    (pieces, range::multipart_type(&boundary))
}
