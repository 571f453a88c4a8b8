//! One fill: origin GET, validate, build the cached object, decide whether
//! it may be stored. Runs detached (see `cache::store`), once per key.
//!
//! A body is stored only when complete: a body that errors, stalls past the
//! origin's response timeout, or ends short of its `Content-Length` fails
//! the fill, and nothing of it is kept.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http_body_util::BodyExt;
use thiserror::Error;

use crate::cache::freshness::{self, Storage};
use crate::cache::object::Timing;
use crate::cache::{CacheKey, CachedObject, FillResult, Store};
use crate::encoding::compress::{self, Level};
use crate::encoding::{self, Encoding};
use crate::origin::{OriginBody, OriginError, OriginRequest};
use crate::response::Identity;
use crate::route::Route;

#[derive(Debug, Error, Clone)]
pub enum FillError {
    #[error(transparent)]
    Origin(#[from] OriginError),
    #[error("origin body ended after {got} of {expected} bytes")]
    Truncated { expected: u64, got: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl FillError {
    /// The one mapping of fill failures to client statuses.
    pub fn status(&self) -> StatusCode {
        match self {
            FillError::Origin(OriginError::Timeout(_)) => StatusCode::GATEWAY_TIMEOUT,
            FillError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

/// Fetches `request` from the route's origin and builds the object.
pub async fn fill(
    route: Arc<Route>,
    request: OriginRequest,
    max_object_size: u64,
    identity: Arc<Identity>,
) -> FillResult {
    match run(&route, &request, max_object_size, &identity).await {
        Ok(result) => result,
        Err(e) => {
            tracing::warn!(route = %route.prefix, key = %request.key, error = %e, "fill failed");
            FillResult::Failed(e)
        }
    }
}

async fn run(
    route: &Route,
    request: &OriginRequest,
    max_object_size: u64,
    identity: &Identity,
) -> Result<FillResult, FillError> {
    let response = route.origin.get(request).await?;
    if response.content_length.is_some_and(|l| l > max_object_size) {
        return Ok(FillResult::Pass);
    }
    let stored_at = Instant::now();
    let Some(body) = collect(
        response.body,
        response.content_length,
        max_object_size,
        route.origin.response_timeout(),
    )
    .await?
    else {
        return Ok(FillResult::Pass);
    };

    let status = response.status;
    let policy = &route.policy;
    let is_error =
        status == StatusCode::NOT_FOUND || (status == StatusCode::FORBIDDEN && route.origin.caches_forbidden());
    let lifetime = if is_error {
        Some(policy.error_ttl).filter(|t| !t.is_zero())
    } else if status == StatusCode::OK && !response.headers.contains_key(http::header::SET_COOKIE) {
        match freshness::storage(&response.headers, SystemTime::now(), policy.ttl) {
            Storage::Fresh(l) if !l.is_zero() => Some(l),
            _ => None,
        }
    } else {
        None
    };
    let timing = Timing {
        stored_at,
        initial_age: freshness::upstream_age(&response.headers),
        fresh_for: lifetime.unwrap_or(Duration::ZERO),
    };
    let compressible = policy.compress && encoding::qualifies(status, &response.headers, body.len());
    let headers = identity.object_headers(status, response.headers, Some(body.len() as u64), policy, is_error);
    let compressed = if compressible {
        compress_blocking(body.clone(), Level::Fast).await?
    } else {
        Vec::new()
    };
    let object = Arc::new(CachedObject::new(
        status,
        headers,
        body,
        compressible,
        compressed,
        timing,
    ));
    Ok(match lifetime {
        Some(_) if object.time_to_live(Instant::now()) > Duration::ZERO => FillResult::Stored(object),
        _ => FillResult::Uncached(object),
    })
}

async fn compress_blocking(body: Bytes, level: Level) -> Result<Vec<(Encoding, Bytes)>, FillError> {
    tokio::task::spawn_blocking(move || compress::variants(&body, level))
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
        match compress_blocking(body, Level::Best).await {
            Ok(best) => {
                let better = Arc::new(object.with_compressed(best));
                store.replace(key, &object, better).await;
            }
            Err(e) => tracing::warn!(error = %e, "best-level compression failed"),
        }
    });
}

/// Reads a whole body. `None` when it exceeds `limit` (the caller streams
/// instead); an error when it fails, stalls for `idle`, or ends short.
async fn collect(
    mut body: OriginBody,
    expected: Option<u64>,
    limit: u64,
    idle: Duration,
) -> Result<Option<Bytes>, FillError> {
    let mut buf = BytesMut::with_capacity(expected.unwrap_or(0).min(limit) as usize);
    loop {
        let frame = tokio::time::timeout(idle, body.frame())
            .await
            .map_err(|_| OriginError::Timeout(idle))?;
        match frame {
            None => break,
            Some(Err(e)) => return Err(OriginError::Body(e.to_string()).into()),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if (buf.len() + data.len()) as u64 > limit {
                        return Ok(None);
                    }
                    buf.extend_from_slice(&data);
                }
            }
        }
    }
    if let Some(expected) = expected
        && buf.len() as u64 != expected
    {
        return Err(FillError::Truncated {
            expected,
            got: buf.len() as u64,
        });
    }
    Ok(Some(buf.freeze()))
}
