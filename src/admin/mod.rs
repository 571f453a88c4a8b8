//! The admin listener: health and readiness for load balancers and
//! orchestrators, Prometheus metrics, invalidations (a JSON API and the
//! CloudFront API), and `POST /reload`. Never exposed publicly: without an
//! admin token it may only bind loopback (see `auth`). Requests pass
//! `stack` (authentication on the head, a 1 MiB body limit, a deadline for
//! the body) before `Admin::handle` reads their body.

pub mod auth;
mod browser;
pub mod sigv4;
pub mod stack;
mod warm;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::body::EdgeBody;
use crate::cache::Store;
use crate::invalidation::cloudfront;
use crate::invalidation::{Invalidation, Invalidations};
use crate::metrics::Metrics;
use crate::origin::BoxError;
use crate::reload::Reloader;
use crate::response::Identity;
use auth::{AdminAuth, Admitted, Denied};
use sigv4::Signed;

pub struct Admin {
    pub identity: Arc<Identity>,
    /// False once shutdown began: load balancers stop sending traffic.
    pub ready: AtomicBool,
    /// True while a start-up warm-up with `ready_after_warm` runs.
    pub warming: AtomicBool,
    /// With `ready_when_origins_ok`: false until every S3 origin's
    /// start-up check succeeded (`origin::check`).
    pub origins_ok: AtomicBool,
    pub reloader: Arc<Reloader>,
    pub store: Arc<Store>,
    pub metrics: Metrics,
    pub invalidations: Invalidations,
    pub auth: AdminAuth,
}

/// An admin listener off loopback without a token would let anyone purge.
#[derive(Debug, thiserror::Error)]
#[error(
    "admin_listen {0} is not a loopback address: set CACHEFRONT_ADMIN_TOKEN to expose the admin API, or bind 127.0.0.1"
)]
pub struct ExposureError(pub std::net::SocketAddr);

/// Refuses a non-loopback admin listener without a token; says which mode
/// the admin API runs in.
pub fn check_exposure(addr: std::net::SocketAddr, token: bool) -> Result<(), ExposureError> {
    if token {
        tracing::info!(%addr, "admin API: bearer token (and SigV4 on the CloudFront API) required");
    } else if addr.ip().is_loopback() {
        tracing::info!(%addr, "admin API: no CACHEFRONT_ADMIN_TOKEN, so no authentication; loopback only");
    } else {
        tracing::error!(%addr, "admin API: refusing a non-loopback address without CACHEFRONT_ADMIN_TOKEN");
        return Err(ExposureError(addr));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBatch {
    paths: Vec<String>,
    caller_reference: Option<String>,
}

impl Admin {
    /// Answers a request that `stack::Gate` let in (its `Admitted` is in
    /// the extensions; without it, nothing but the probes is answered).
    pub async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<EdgeBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        if is_probe(req.uri().path()) {
            return self.probe(req.uri().path());
        }
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let on_cloudfront = path.starts_with(cloudfront::PREFIX);
        let Some(&admitted) = parts.extensions.get::<Admitted>() else {
            return unauthorized(&Denied::Missing, on_cloudfront);
        };
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return body_error(e.into()),
        };
        if admitted == Admitted::SigV4Pending {
            let signed = Signed {
                method: parts.method.as_str(),
                path,
                query: parts.uri.query(),
                headers: &parts.headers,
                authority: parts.uri.authority().map(|a| a.as_str()),
                body: &body,
            };
            if let Err(denied) = self.auth.verify_signature(&signed, SystemTime::now()) {
                return unauthorized(&denied, on_cloudfront);
            }
        }
        if let Some(call) = cloudfront::call(&parts.method, path) {
            let site = self.reloader.current();
            return cloudfront::answer(call, &body, &self.invalidations, &site.edge.router, &self.store).await;
        }
        self.answer(&parts, &body).await
    }

    /// A probe's answer: a status and one word, nothing an outsider could
    /// use, so kubelet and compose can ask without the token.
    fn probe(&self, path: &str) -> Response<EdgeBody> {
        match path {
            "/readyz" if !self.ready.load(Ordering::Relaxed) => {
                text(StatusCode::SERVICE_UNAVAILABLE, "draining\n".into())
            }
            "/readyz" if self.warming.load(Ordering::Relaxed) => {
                text(StatusCode::SERVICE_UNAVAILABLE, "warming\n".into())
            }
            "/readyz" if !self.origins_ok.load(Ordering::Relaxed) => {
                text(StatusCode::SERVICE_UNAVAILABLE, "origins\n".into())
            }
            "/readyz" => text(StatusCode::OK, "ready\n".into()),
            _ => text(StatusCode::OK, "ok\n".into()),
        }
    }

    /// The JSON and plain-text API, for an admitted request and its body.
    async fn answer(&self, parts: &http::request::Parts, body: &[u8]) -> Response<EdgeBody> {
        match (&parts.method, parts.uri.path()) {
            (&Method::POST, "/warm") => warm::answer(self, parts.uri.query()).await,
            (&Method::GET, "/metrics") => {
                let mut resp = text(StatusCode::OK, self.metrics.render());
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                resp
            }
            (&Method::POST, "/reload") => match self.reloader.reload().await {
                Ok(r) => text(
                    StatusCode::OK,
                    format!(
                        "reloaded: {} routes, {} dropped from cache\n",
                        r.routes, r.dropped_routes
                    ),
                ),
                Err(e) => text(StatusCode::UNPROCESSABLE_ENTITY, format!("reload refused: {e}\n")),
            },
            (_, "/reload") => method_not_allowed("POST"),
            (&Method::POST, "/invalidations") => self.create(body).await,
            (&Method::GET, "/invalidations") => {
                let list: Vec<_> = self.invalidations.list().iter().map(json).collect();
                json_response(StatusCode::OK, &serde_json::json!({ "invalidations": list }))
            }
            (_, "/invalidations") => method_not_allowed("GET, POST"),
            (&Method::GET, p) if p.starts_with("/invalidations/") => {
                match self.invalidations.get(&p["/invalidations/".len()..]) {
                    Some(inv) => json_response(StatusCode::OK, &json(&inv)),
                    None => json_response(
                        StatusCode::NOT_FOUND,
                        &serde_json::json!({ "error": "no such invalidation" }),
                    ),
                }
            }
            _ => self.identity.error(StatusCode::NOT_FOUND, "Not Found"),
        }
    }

    async fn create(&self, body: &[u8]) -> Response<EdgeBody> {
        let batch: JsonBatch = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(e) => return bad_request(&format!("expected {{\"paths\": [...]}}: {e}")),
        };
        let site = self.reloader.current();
        match self
            .invalidations
            .create(&site.edge.router, &self.store, batch.paths, batch.caller_reference)
            .await
        {
            Ok(inv) => json_response(StatusCode::CREATED, &json(&inv)),
            Err(e) => bad_request(&e.to_string()),
        }
    }
}

fn json(inv: &Invalidation) -> serde_json::Value {
    let created = inv
        .created
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    serde_json::json!({
        "id": inv.id,
        "status": inv.status.as_str(),
        "paths": inv.paths,
        "caller_reference": inv.caller_reference,
        "created_unix": created,
    })
}

fn bad_request(reason: &str) -> Response<EdgeBody> {
    json_response(StatusCode::BAD_REQUEST, &serde_json::json!({ "error": reason }))
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<EdgeBody> {
    let mut resp = text(status, format!("{value}\n"));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

fn method_not_allowed(allow: &'static str) -> Response<EdgeBody> {
    let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, format!("use {allow}\n"));
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

/// A body that could not be read: too long, too slow, or cut off.
fn body_error(e: BoxError) -> Response<EdgeBody> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e.as_ref());
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return text(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time\n".into(),
            );
        }
        if c.is::<http_body_util::LengthLimitError>() {
            return stack::too_large();
        }
        cause = c.source();
    }
    text(StatusCode::BAD_REQUEST, "request body: read failed\n".into())
}

fn unauthorized(denied: &Denied, cloudfront: bool) -> Response<EdgeBody> {
    if let Denied::SigV4(e @ sigv4::SigV4Error::PayloadMismatch) = denied {
        return cloudfront::error(StatusCode::BAD_REQUEST, "XAmzContentSHA256Mismatch", &e.to_string());
    }
    let reason = match denied {
        Denied::Missing => "credentials required: Authorization: Bearer <CACHEFRONT_ADMIN_TOKEN>".to_string(),
        Denied::Bearer => "wrong bearer token".to_string(),
        Denied::SigV4(e) => format!("SigV4: {e}"),
    };
    let mut resp = if cloudfront {
        let code = match denied {
            Denied::SigV4(sigv4::SigV4Error::Skew) => "RequestTimeTooSkewed",
            Denied::SigV4(sigv4::SigV4Error::Mismatch) => "SignatureDoesNotMatch",
            Denied::SigV4(sigv4::SigV4Error::UnknownKey) => "InvalidClientTokenId",
            _ => "AccessDenied",
        };
        cloudfront::error(StatusCode::UNAUTHORIZED, code, &reason)
    } else {
        text(StatusCode::UNAUTHORIZED, format!("{reason}\n"))
    };
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"cachefront admin\""),
    );
    resp
}

fn text(status: StatusCode, body: String) -> Response<EdgeBody> {
    let mut resp = Response::new(EdgeBody::bytes(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The health probes: public even with a token (kubelet's and compose's
/// HTTP probes send no header), and answered with a status line only.
pub(crate) fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz")
}
