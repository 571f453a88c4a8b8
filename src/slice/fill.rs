//! Ranged fills. The first contact with an object on a slicing route asks
//! for the slice the client needs; the 206's `Content-Range` tells the
//! total: a large object becomes slices, a small one a normal object
//! (whole in that answer, or fetched whole once more). Later fills of an
//! object's slices are checked against it: same total, same validator,
//! exactly the bytes asked for — else nothing is stored.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};

use super::{SliceInfo, content_range, range_header, validator_tag};
use crate::cache::freshness;
use crate::cache::object::Timing;
use crate::cache::{CachedObject, FillResult};
use crate::fill::{self, FillError, FillJob};
use crate::origin::OriginResponse;

/// How long a slice of a validated object is kept (LRU evicts it sooner
/// when space is needed).
const SLICE_LIFETIME: Duration = Duration::from_secs(365 * 86400);

#[derive(Debug, Clone, Copy)]
pub struct SliceFill {
    pub size: u64,
    pub index: u64,
    /// The object the slice belongs to, when already known.
    pub expect: Option<SliceInfo>,
}

pub async fn run(job: &FillJob, slice: &SliceFill) -> Result<FillResult, FillError> {
    let mut request = job.request.clone();
    request
        .headers
        .insert(header::RANGE, range_header(slice.index, slice.size));
    request.headers.remove(header::IF_NONE_MATCH);
    request.headers.remove(header::IF_MODIFIED_SINCE);
    let request_time = SystemTime::now();
    let response = job.route.origin.get(&request).await?;
    let response_time = SystemTime::now();
    let stored_at = Instant::now();

    let Some((first, last, total)) =
        content_range(&response.headers).filter(|_| response.status == StatusCode::PARTIAL_CONTENT)
    else {
        if slice.expect.is_some() {
            return Err(FillError::SliceMismatch(format!(
                "origin answered {} to a range",
                response.status
            )));
        }
        // The origin ignored the range (or had no object): a normal fill.
        return fill::from_response(job, response, request_time, response_time, stored_at).await;
    };
    let bounds = SliceInfo {
        total,
        size: slice.size,
        tag: 0,
    }
    .bounds(slice.index);
    if (first, last) != bounds {
        return Err(FillError::SliceMismatch(format!(
            "asked for bytes {}-{} of slice {}, got {first}-{last}/{total}",
            bounds.0, bounds.1, slice.index
        )));
    }
    if let Some(expect) = slice.expect {
        let tag = validator_tag(&response.headers);
        if total != expect.total || tag != expect.tag {
            return Err(FillError::SliceMismatch(format!(
                "bytes {first}-{last}/{total} (validator {tag:x}) for slice {} of {}/{:x}",
                slice.index, expect.total, expect.tag
            )));
        }
    }
    if response.content_length.is_some_and(|l| l != last - first + 1) {
        return Err(FillError::SliceMismatch(format!(
            "Content-Length {:?} for bytes {first}-{last}",
            response.content_length
        )));
    }
    let body = response;

    if slice.expect.is_none() && total <= job.max_object_size {
        if first == 0 && last + 1 == total {
            // The whole (small) object came in this answer: a normal object.
            let mut whole = body;
            whole.status = StatusCode::OK;
            whole.headers.remove(header::CONTENT_RANGE);
            return fill::from_response(job, whole, request_time, response_time, stored_at).await;
        }
        // Small enough to hold whole: fetch it whole once.
        let response = job.route.origin.get(&job.request).await?;
        return fill::from_response(job, response, request_time, SystemTime::now(), Instant::now()).await;
    }

    let OriginResponse { headers, body, .. } = body;
    let bytes = fill::collect(
        body,
        Some(last - first + 1),
        slice.size,
        job.route.origin.response_timeout(),
    )
    .await?
    .ok_or_else(|| FillError::SliceMismatch("slice larger than its size".into()))?;
    let mut origin_headers = headers;
    origin_headers.remove(header::CONTENT_RANGE);
    let policy = &*job.route.policy.for_key(&job.request.key);
    let lifetime = freshness::decide(StatusCode::OK, &origin_headers, job.facts, policy, false, response_time);
    if lifetime.is_none() {
        // Not storable only because of this request's `Authorization`:
        // this request streams it, the object stays cacheable for others
        // (a header any client can send must not make it a pass).
        if job.facts.authorization
            && freshness::decide(
                StatusCode::OK,
                &origin_headers,
                fill::anonymous(),
                policy,
                false,
                response_time,
            )
            .is_some()
        {
            return Ok(FillResult::PassAlone);
        }
        // Not storable: every request streams the object from the origin.
        return Ok(FillResult::Pass);
    }
    let timing = fill::timing(&origin_headers, lifetime, request_time, response_time, stored_at);
    // A slice's key names its object's validator, so with a validator its
    // bytes never change: it stays until evicted, and the object's entry
    // alone decides when to ask the origin again.
    let has_validator = origin_headers.contains_key(header::ETAG) || origin_headers.contains_key(header::LAST_MODIFIED);
    let slice_timing = Timing {
        fresh_for: if has_validator {
            SLICE_LIFETIME
        } else {
            timing.fresh_for
        },
        ..timing
    };
    let slice_object = Arc::new(CachedObject::new(
        StatusCode::PARTIAL_CONTENT,
        HeaderMap::new(),
        HeaderMap::new(),
        bytes,
        false,
        Vec::new(),
        slice_timing,
    ));
    if slice.expect.is_some() {
        return Ok(FillResult::Stored(slice_object));
    }
    let info = SliceInfo {
        total,
        size: slice.size,
        tag: validator_tag(&origin_headers),
    };
    let rendered = job
        .identity
        .object_headers(StatusCode::OK, origin_headers.clone(), Some(total), policy, false);
    let mut meta = CachedObject::new(
        StatusCode::OK,
        origin_headers,
        rendered,
        Bytes::new(),
        false,
        Vec::new(),
        timing,
    );
    meta.sliced = Some(info);
    Ok(FillResult::Sliced {
        meta: Arc::new(meta),
        index: slice.index,
        slice: slice_object,
    })
}
