//! The admin listener as a tower-http stack, so that a request is judged on
//! its head before any of its body is read, and no client holds the
//! listener for long:
//!
//! 1. `ValidateRequestHeaderLayer` with `Gate`: the probes (`/healthz`,
//!    `/readyz`: a status line, no data) pass; the rest
//!    must authenticate (bearer token, or the head of a SigV4 signature:
//!    its signature covers the body's hash and is checked by the handler
//!    once the body is read), or, without a token, pass `browser`'s rules.
//!    Refusals answer at once; the body is never read.
//! 2. `RequestBodyLimitLayer`: 1 MiB. A larger `Content-Length` is 413
//!    before reading; a longer stream fails the read (413 too).
//! 3. `RequestBodyDeadlineLayer`: the whole body within `admin_timeout`,
//!    counted from the head (408 otherwise). The connection's header read
//!    timeout is `admin_timeout` too (`lib.rs`).
//!
//! Not `TimeoutLayer`: it would drop the handler's future at the deadline,
//! cancelling a purge or a reload half-way, and cut `POST /warm`, which
//! answers when the warm-up is done. What needs bounding is what the
//! client controls: how long it takes to send.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderValue, Request, Response, StatusCode, Version, header};
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyDeadlineLayer;
use tower_http::validate_request::{ValidateRequest, ValidateRequestHeaderLayer};

use super::browser::{self, Refused};
use super::{Admin, text, unauthorized};
use crate::body::EdgeBody;
use crate::client_addr::Peer;
use crate::invalidation::cloudfront;

/// Largest admin request body (the bound; the old 16 MiB let ten
/// unauthenticated uploads hold 170 MB). CloudFront's 3,000 paths in
/// progress fit if they average under ~330 bytes; batches of longer paths
/// (up to 4,000 characters each) must be split.
pub const MAX_BODY: usize = 1 << 20;

/// Step 1: the head decides.
#[derive(Clone)]
pub struct Gate {
    admin: Arc<Admin>,
}

impl<B: Body> ValidateRequest<B> for Gate {
    type ResponseBody = EdgeBody;

    fn validate(&mut self, req: &mut Request<B>) -> Result<(), Response<EdgeBody>> {
        let path = req.uri().path();
        if super::is_probe(path) {
            return Ok(());
        }
        let cloudfront = path.starts_with(cloudfront::PREFIX);
        let admitted = self
            .admin
            .auth
            .check_head(req.headers(), cloudfront, SystemTime::now())
            .map_err(|denied| unauthorized(&denied, cloudfront))?;
        if admitted == super::auth::Admitted::Tokenless {
            let head = browser::Head {
                method: req.method(),
                uri: req.uri(),
                headers: req.headers(),
                has_body: !req.body().is_end_stream(),
                cloudfront,
            };
            browser::check(&head).map_err(refused)?;
        }
        req.extensions_mut().insert(admitted);
        Ok(())
    }
}

fn refused(why: Refused) -> Response<EdgeBody> {
    text(why.status(), format!("{why}\n"))
}

/// The future the connection polls for each admin request.
pub type Answer = Pin<Box<dyn Future<Output = Response<EdgeBody>> + Send>>;

/// The admin listener's handler for `server::serve`: the stack above
/// around `Admin::handle`, bounded by `timeout`.
pub fn handler(
    admin: Arc<Admin>,
    timeout: Duration,
) -> impl Fn(Request<Incoming>, Peer) -> Answer + Clone + Send + Sync + 'static {
    let handle = admin.clone();
    let service = ServiceBuilder::new()
        .layer(ValidateRequestHeaderLayer::custom(Gate { admin }))
        .map_response(|resp: Response<tower_http::limit::ResponseBody<EdgeBody>>| {
            if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
                return too_large();
            }
            resp.map(|body| EdgeBody::Stream(body.boxed_unsync()))
        })
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(RequestBodyDeadlineLayer::new(timeout))
        .service_fn(move |req| {
            let admin = handle.clone();
            async move { Ok::<_, Infallible>(admin.handle(req).await) }
        });
    move |req: Request<Incoming>, _peer: Peer| -> Answer {
        let h1 = req.version() < Version::HTTP_2;
        let service = service.clone();
        Box::pin(async move {
            let mut resp = match service.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            // Refused before its body was read (or while it was): the rest
            // of an HTTP/1 body is not read to find the next request.
            if h1 && closes(resp.status()) {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            resp
        })
    }
}

pub(super) fn too_large() -> Response<EdgeBody> {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body over {} bytes\n", MAX_BODY),
    )
}

fn closes(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::REQUEST_TIMEOUT
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
    )
}
