//! Origins: where misses are filled from. One enum, one method, so the edge
//! treats an S3 bucket and an HTTP server alike.
//!
//! An origin answers with an `OriginResponse` whenever the origin itself
//! answered (200, 404, S3's 403, an HTTP origin's 301…), and with an
//! `OriginError` when it could not be reached or failed (5xx, throttling,
//! timeouts). The edge maps `OriginError` to 502/504 in one place.

pub mod check;
pub mod dev;
mod http;
pub mod metered;
mod resolve;
mod s3;

use std::net::IpAddr;
use std::time::Duration;

use ::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use thiserror::Error;

pub use self::http::HttpOrigin;
pub use self::resolve::Resolver;
pub use self::s3::S3Origin;
use crate::config::{OriginConfig, OriginKind};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A streaming body from an origin.
pub type OriginBody = UnsyncBoxBody<Bytes, BoxError>;

#[allow(clippy::large_enum_variant)] // one per configured origin, built once
pub enum Origin {
    S3(S3Origin),
    Http(HttpOrigin),
}

/// What the edge asks of an origin. Fills are GETs; other methods are
/// forwarded (HTTP origins, `methods = "all"`) with their bodies.
#[derive(Debug, Clone)]
pub struct OriginRequest {
    pub method: ::http::Method,
    /// S3: the object key. HTTP: the decoded-and-checked key is not used;
    /// the original path and query are forwarded as received.
    pub key: String,
    pub path_and_query: String,
    pub client_ip: Option<IpAddr>,
    /// How the client reached us (`X-Forwarded-Proto` to HTTP origins).
    pub client_scheme: Option<crate::client_addr::Scheme>,
    /// End-to-end request headers for HTTP origins (the client's, minus
    /// hop-by-hop and what the cache owns), plus the cache's own
    /// conditionals (`If-None-Match`, `If-Modified-Since`) on revalidation.
    pub headers: HeaderMap,
}

/// A request body forwarded to an HTTP origin.
pub type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

pub fn empty_body() -> RequestBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An origin's answer, headers already reduced to those the edge passes on.
pub struct OriginResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub content_length: Option<u64>,
    pub body: OriginBody,
}

#[derive(Debug, Error, Clone)]
pub enum OriginError {
    #[error("origin could not be reached: {0}")]
    Connect(String),
    #[error("origin did not answer within {0:?}")]
    Timeout(Duration),
    #[error("origin answered {0}")]
    Status(StatusCode),
    #[error("origin is throttling requests")]
    Throttled,
    #[error("origin response was malformed: {0}")]
    Protocol(String),
    #[error("origin body failed: {0}")]
    Body(String),
}

impl Origin {
    pub async fn build(
        cfg: &OriginConfig,
        dev: Option<dev::Embedded>,
        via: ::http::HeaderValue,
    ) -> Result<Origin, BoxError> {
        Ok(match &cfg.kind {
            OriginKind::S3(s3) => Origin::S3(S3Origin::build(cfg, s3, dev).await?),
            OriginKind::Http(h) => Origin::Http(HttpOrigin::new(cfg, h, via)),
        })
    }

    pub async fn get(&self, req: &OriginRequest) -> Result<OriginResponse, OriginError> {
        let response = match self {
            Origin::S3(o) => o.get(req).await,
            Origin::Http(o) => o.send(req, empty_body()).await,
        };
        response.map(|r| self.bounded(r))
    }

    /// The body fails if the origin stalls mid-body for `response_timeout`.
    fn bounded(&self, mut response: OriginResponse) -> OriginResponse {
        response.body = crate::body::IdleTimeout::wrap(response.body, self.response_timeout());
        response
    }

    /// Forwards a request with a body (HTTP origins only; S3 routes never
    /// allow other methods).
    pub async fn forward(&self, req: &OriginRequest, body: RequestBody) -> Result<OriginResponse, OriginError> {
        match self {
            Origin::S3(_) => Err(OriginError::Protocol("S3 origins only serve GET".into())),
            Origin::Http(o) => o.send(req, body).await.map(|r| self.bounded(r)),
        }
    }

    /// Inactivity limit between body chunks while filling.
    pub fn response_timeout(&self) -> Duration {
        match self {
            Origin::S3(o) => o.response_timeout,
            Origin::Http(o) => o.response_timeout,
        }
    }

    /// S3 answers 403 for a missing key when the caller may not list the
    /// bucket, so its 403 is as cacheable as a 404.
    pub fn caches_forbidden(&self) -> bool {
        matches!(self, Origin::S3(_))
    }

    /// HTTP origins key and forward the query string; S3 ignores it.
    pub fn keys_query(&self) -> bool {
        matches!(self, Origin::Http(_))
    }

    /// The client's `Host` is forwarded (`preserve_host`), so it is part of
    /// the cache key.
    pub fn preserves_host(&self) -> bool {
        matches!(self, Origin::Http(h) if h.preserves_host())
    }

    /// An HTTP origin may be another cache tier, so requests to it are
    /// checked for loops (`via`).
    pub fn may_loop(&self) -> bool {
        matches!(self, Origin::Http(_))
    }
}

/// An error and its sources, `: `-separated (hyper's errors say little
/// without their sources).
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}
