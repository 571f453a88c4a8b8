//! The admin listener: health and readiness for load balancers and
//! orchestrators. Never exposed publicly (it binds loopback by default).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{Request, Response, StatusCode};

use crate::body::EdgeBody;
use crate::response::Identity;

pub struct Admin {
    pub identity: Arc<Identity>,
    /// False once shutdown began: load balancers stop sending traffic.
    pub ready: AtomicBool,
}

impl Admin {
    pub fn handle<B>(&self, req: &Request<B>) -> Response<EdgeBody> {
        match req.uri().path() {
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" if self.ready.load(Ordering::Relaxed) => text(StatusCode::OK, "ready\n"),
            "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "draining\n"),
            _ => self.identity.error(StatusCode::NOT_FOUND, "Not Found"),
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<EdgeBody> {
    let mut resp = Response::new(EdgeBody::bytes(bytes::Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    resp.headers_mut()
        .insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    resp
}
