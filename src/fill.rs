//! One fill: origin GET, validate, build the cached object, decide whether
//! it may be stored. Runs detached (see `cache::store`), once per key.
//!
//! A body is stored only when complete: a body that errors, stalls past the
//! origin's response timeout, or ends short of its `Content-Length` fails
//! the fill, and nothing of it is kept.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, StatusCode, header};
use thiserror::Error;

use crate::cache::freshness::{self, Lifetime, RequestFacts};
use crate::cache::object::Timing;
use crate::cache::vary::Secondary;
use crate::cache::{CacheKey, CachedObject, FillResult, Store};
use crate::encoding::compress::{self, Level};
use crate::encoding::{self, Encoding};
use crate::origin::{OriginError, OriginRequest, OriginResponse};
use crate::response::Identity;
use crate::route::Route;

mod collect;

pub(crate) use collect::collect;

#[derive(Debug, Error, Clone)]
pub enum FillError {
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error("origin body ended after {got} of {expected} bytes")]
    Truncated { expected: u64, got: u64 },
    #[error("internal error: {0}")]
    Internal(String),
    /// A slice's origin answer disagrees with the object's other slices
    /// (changed object, wrong range): nothing of it is used.
    #[error("slice does not match its object: {0}")]
    SliceMismatch(String),
    /// The origin's own 5xx answer, passed on to clients, never stored;
    /// passed on to waiters too only if `shareable` (RFC 9111 §3 apart
    /// from status: no `private`, `no-store`, `Set-Cookie`...).
    #[error("origin answered {}", .response.status)]
    Upstream {
        response: Arc<CachedObject>,
        shareable: bool,
    },
}

impl FillError {
    /// The one mapping of fill failures to client statuses.
    pub fn status(&self) -> StatusCode {
        match self {
            FillError::Origin(OriginError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
            FillError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            FillError::Upstream { response, .. } => response.status,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

/// One fill's inputs.
pub struct FillJob {
    pub route: Arc<Route>,
    pub request: OriginRequest,
    pub facts: RequestFacts,
    pub max_object_size: u64,
    pub identity: Arc<Identity>,
    /// A stale entry to revalidate with a conditional request.
    pub stale: Option<Arc<CachedObject>>,
    /// A ranged fill of one slice (routes with `slice`).
    pub slice: Option<crate::slice::fill::SliceFill>,
}

/// Fetches the job's request from the route's origin and builds the object.
pub async fn fill(mut job: FillJob) -> FillResult {
    if let Some(stale) = &job.stale {
        add_validators(&mut job.request.headers, stale);
    }
    match run(&job).await {
        Ok(result) => result,
        Err(e) => {
            tracing::warn!(route = %job.route.prefix, key = %job.request.key, error = %e, "fill failed");
            FillResult::Failed(e)
        }
    }
}

/// The stored validators as the cache's own conditional request.
fn add_validators(headers: &mut HeaderMap, stale: &CachedObject) {
    if let Some(etag) = stale.origin_headers.get(header::ETAG) {
        headers.insert(header::IF_NONE_MATCH, etag.clone());
    }
    if let Some(lm) = stale.origin_headers.get(header::LAST_MODIFIED) {
        headers.insert(header::IF_MODIFIED_SINCE, lm.clone());
    }
}

async fn run(job: &FillJob) -> Result<FillResult, FillError> {
    if let Some(slice) = &job.slice {
        return crate::slice::fill::run(job, slice).await;
    }
    let route = &job.route;
    let request_time = SystemTime::now();
    let response = route.origin.get(&job.request).await?;
    let response_time = SystemTime::now();
    let stored_at = Instant::now();
    if response.status == StatusCode::NOT_MODIFIED {
        return match &job.stale {
            Some(stale) => Ok(refresh(
                job,
                stale,
                &response.headers,
                request_time,
                response_time,
                stored_at,
            )),
            None => Err(OriginError::Protocol("304 to an unconditional request".into()).into()),
        };
    }
    from_response(job, response, request_time, response_time, stored_at).await
}

/// Builds the object from a complete origin answer (not a 304): reads the
/// body, decides storage, renders headers, compresses.
pub(crate) async fn from_response(
    job: &FillJob,
    response: OriginResponse,
    request_time: SystemTime,
    response_time: SystemTime,
    stored_at: Instant,
) -> Result<FillResult, FillError> {
    let (route, max_object_size) = (&job.route, job.max_object_size);
    if response.content_length.is_some_and(|l| l > max_object_size) {
        return Ok(FillResult::Pass);
    }
    let OriginResponse {
        status,
        headers,
        content_length,
        body,
    } = response;
    let Some(body) = collect(body, content_length, max_object_size, route.origin.response_timeout()).await? else {
        return Ok(FillResult::Pass);
    };
    // CloudFront with origin access control relays S3's 403 for a missing key.
    let (status, headers, body) = match (job.identity.cloudfront.is_some(), route.origin.caches_forbidden()) {
        (true, true) => crate::cloudfront::as_relayed_from_s3(status, headers, body),
        _ => (status, headers, body),
    };

    let for_key = route.policy.for_key(&job.request.key);
    let policy = &*for_key.for_status(status);
    let omit_on_hit = omitted_fields(&headers);
    // Judged as stored: without the fields it must not keep.
    let mut stored_view = headers.clone();
    for field in &omit_on_hit {
        stored_view.remove(field);
    }
    let cached_error =
        status == StatusCode::NOT_FOUND || (status == StatusCode::FORBIDDEN && route.origin.caches_forbidden());
    let lifetime = freshness::decide(status, &stored_view, job.facts, policy, cached_error, response_time);
    let timing = timing(&headers, lifetime, request_time, response_time, stored_at);
    let compressible = policy.compress && encoding::qualifies(status, &headers, body.len());
    let from_error_ttl = lifetime.is_some_and(|l| l.from_error_ttl);
    let origin_headers = headers.clone();
    let headers = job
        .identity
        .object_headers(status, headers, Some(body.len() as u64), policy, from_error_ttl);
    let compressed = if compressible {
        compress_blocking(body.clone(), Level::Fast, policy.zstd).await?
    } else {
        Vec::new()
    };
    let mut object = CachedObject::new(status, origin_headers, headers, body, compressible, compressed, timing);
    // Only what the origin was sent can select a variant (`KeyRule::sent_vary`).
    let vary = job
        .route
        .key
        .sent_vary(&object.origin_headers, job.route.origin.keys_query());
    object.secondary = Secondary::of(&vary, &job.request.headers, policy.compress);
    object.omit_on_hit = omit_on_hit;
    let object = Arc::new(object);
    if status.is_server_error() {
        let cc = freshness::directives(&stored_view);
        let shareable = !cc.no_store && freshness::shareable(&cc, &stored_view, job.facts, policy);
        return Err(FillError::Upstream {
            response: object,
            shareable,
        });
    }
    Ok(match lifetime {
        Some(_) if !object.timing.fresh_for.is_zero() || object.has_validator() => FillResult::Stored(object),
        Some(_) => FillResult::Uncached(object),
        None => not_stored(job, object, || {
            freshness::decide(status, &stored_view, anonymous(), policy, cached_error, response_time).is_some()
        }),
    })
}

/// The request's facts without its `Authorization`.
pub(crate) fn anonymous() -> freshness::RequestFacts {
    freshness::RequestFacts { authorization: false }
}

/// The result for a response a shared cache may not store: `Authorized`
/// if it would be stored but for the request's `Authorization`.
fn not_stored(job: &FillJob, object: Arc<CachedObject>, anonymously: impl FnOnce() -> bool) -> FillResult {
    if job.facts.authorization && anonymously() {
        FillResult::Authorized(object)
    } else {
        FillResult::Unstorable(object)
    }
}

/// The fields a shared cache must not keep (`private="..."`,
/// `no-cache="..."`): stored for the filling client's answer only.
fn omitted_fields(headers: &HeaderMap) -> Vec<HeaderName> {
    freshness::directives(headers)
        .omit_fields
        .iter()
        .filter_map(|f| HeaderName::from_bytes(f.as_bytes()).ok())
        .collect()
}

pub(crate) fn timing(
    headers: &HeaderMap,
    lifetime: Option<Lifetime>,
    request_time: SystemTime,
    response_time: SystemTime,
    stored_at: Instant,
) -> Timing {
    let l = lifetime.unwrap_or(Lifetime {
        fresh: Duration::ZERO,
        stale_while_revalidate: Duration::ZERO,
        stale_if_error: Duration::ZERO,
        must_revalidate: true,
        from_error_ttl: false,
    });
    let stale = |d: Duration| if l.must_revalidate { Duration::ZERO } else { d };
    Timing {
        stored_at,
        initial_age: freshness::initial_age(headers, request_time, response_time),
        fresh_for: l.fresh,
        stale_while_revalidate: stale(l.stale_while_revalidate),
        stale_if_error: stale(l.stale_if_error),
        must_revalidate: l.must_revalidate,
    }
}

/// A 304 to our revalidation: the stored headers updated with the 304's
/// (RFC 9111 §4.3.4), freshness computed anew, bodies kept.
fn refresh(
    job: &FillJob,
    stale: &CachedObject,
    update: &HeaderMap,
    request_time: SystemTime,
    response_time: SystemTime,
    stored_at: Instant,
) -> FillResult {
    // What was stored: without the fields the response kept from a shared
    // cache (`private="Set-Cookie"`), which were the first client's and
    // must not reach this one through the refreshed object.
    let mut merged = stale.origin_headers.clone();
    for name in &stale.omit_on_hit {
        merged.remove(name);
    }
    for name in update.keys() {
        if matches!(
            *name,
            header::CONTENT_LENGTH | header::CONTENT_ENCODING | header::TRANSFER_ENCODING
        ) {
            continue;
        }
        merged.remove(name);
        for v in update.get_all(name) {
            merged.append(name.clone(), v.clone());
        }
    }
    let policy = &*job.route.policy.for_key(&job.request.key);
    let cached_error = stale.status == StatusCode::NOT_FOUND || stale.status == StatusCode::FORBIDDEN;
    // Judged as stored, as `from_response` does.
    let omit_on_hit = omitted_fields(&merged);
    let mut stored_view = merged.clone();
    for field in &omit_on_hit {
        stored_view.remove(field);
    }
    let lifetime = freshness::decide(
        stale.status,
        &stored_view,
        job.facts,
        policy,
        cached_error,
        response_time,
    );
    let timing = timing(update, lifetime, request_time, response_time, stored_at);
    let identity = stale.identity();
    let from_error_ttl = lifetime.is_some_and(|l| l.from_error_ttl);
    let body_len = identity.body.len() as u64;
    let headers = job
        .identity
        .object_headers(stale.status, merged.clone(), Some(body_len), policy, from_error_ttl);
    let mut object = CachedObject::new(
        stale.status,
        merged,
        headers,
        identity.body.clone(),
        stale.compressible,
        stale.compressed(),
        timing,
    );
    object.secondary = stale.secondary.clone();
    object.omit_on_hit = omit_on_hit;
    let object = Arc::new(object);
    match lifetime {
        Some(_) => FillResult::Refreshed(object),
        None => not_stored(job, object, || {
            freshness::decide(
                stale.status,
                &stored_view,
                anonymous(),
                policy,
                cached_error,
                response_time,
            )
            .is_some()
        }),
    }
}

async fn compress_blocking(body: Bytes, level: Level, zstd: bool) -> Result<Vec<(Encoding, Bytes)>, FillError> {
    // Large variants move to their memfd mappings here too, off the reactor.
    let compress = move || {
        let variants = compress::variants(&body, level, zstd);
        variants
            .into_iter()
            .map(|(e, b)| (e, crate::zerocopy::share(b)))
            .collect()
    };
    tokio::task::spawn_blocking(compress)
        .await
        .map_err(|e| FillError::Internal(format!("compression task: {e}")))
}

/// Replaces a stored object's fast-level variants with best-level ones,
/// unless the entry was refilled or removed meanwhile.
pub fn recompress_in_background(store: &Arc<Store>, key: CacheKey, object: Arc<CachedObject>) {
    let job = store.background_job();
    let store = store.clone();
    tokio::spawn(async move {
        let _job = job;
        let Ok(_permit) = store.background_permits.clone().acquire_owned().await else {
            return;
        };
        let body = object.identity().body.clone();
        // Only the encodings the fill chose to offer (no zstd in CloudFront mode).
        let zstd = object.encodings.contains(&Encoding::Zstd);
        match compress_blocking(body, Level::Best, zstd).await {
            Ok(best) => {
                let better = Arc::new(object.with_compressed(best));
                store.replace(key, &object, better);
            }
            Err(e) => tracing::warn!(error = %e, "best-level compression failed"),
        }
    });
}
