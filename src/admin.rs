//! The admin listener: health and readiness for load balancers and
//! orchestrators, and `POST /reload`. Never exposed publicly (it binds
//! loopback by default).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{Method, Request, Response, StatusCode};

use crate::body::EdgeBody;
use crate::reload::Reloader;
use crate::response::Identity;

pub struct Admin {
    pub identity: Arc<Identity>,
    /// False once shutdown began: load balancers stop sending traffic.
    pub ready: AtomicBool,
    pub reloader: Arc<Reloader>,
}

impl Admin {
    pub async fn handle<B>(self: Arc<Self>, req: Request<B>) -> Response<EdgeBody> {
        match (req.method(), req.uri().path()) {
            (_, "/healthz") => text(StatusCode::OK, "ok\n".into()),
            (_, "/readyz") if self.ready.load(Ordering::Relaxed) => text(StatusCode::OK, "ready\n".into()),
            (_, "/readyz") => text(StatusCode::SERVICE_UNAVAILABLE, "draining\n".into()),
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
            (_, "/reload") => {
                let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "use POST\n".into());
                resp.headers_mut()
                    .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
                resp
            }
            _ => self.identity.error(StatusCode::NOT_FOUND, "Not Found"),
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<EdgeBody> {
    let mut resp = Response::new(EdgeBody::bytes(bytes::Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    resp.headers_mut()
        .insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    resp
}
