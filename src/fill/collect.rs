//! Reading an origin body whole, for a fill: bounded by the object size
//! limit, by an idle timeout, and checked against `Content-Length`, so
//! nothing partial is ever stored.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use super::FillError;
use crate::origin::{OriginBody, OriginError};

/// Reads a whole body. `None` when it exceeds `limit` (the caller streams
/// instead); an error when it fails, stalls for `idle`, or ends short.
pub(crate) async fn collect(
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
            Some(Err(e)) if e.is::<crate::body::Stalled>() => return Err(OriginError::Timeout(idle).into()),
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
    let body = buf.freeze();
    if body.len() < crate::zerocopy::MIN_BYTES {
        return Ok(Some(body));
    }
    // A large body moves to its memfd mapping here, off the reactor (a
    // 32 MiB copy would stall every connection of this worker);
    // `Variant::new` then finds it mapped already.
    let shared = tokio::task::spawn_blocking(move || crate::zerocopy::share(body))
        .await
        .map_err(|e| FillError::Internal(e.to_string()))?;
    Ok(Some(shared))
}
