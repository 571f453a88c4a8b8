//! Answers the edge gives itself rather than from the cache: signature
//! refusals, CORS preflights, CloudFront-style custom error pages and fill
//! errors.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};

use super::Edge;
use crate::body::EdgeBody;
use crate::client_addr::ClientAddr;
use crate::config::ErrorPage;
use crate::cors::{Cors, Preflight};
use crate::fill::FillError;
use crate::response::X_CACHE;
use crate::route::Route;
use crate::signed;

impl Edge {
    /// On a `signed` route: verifies the CloudFront signature and strips its
    /// parameters from the request (cache key, origin request).
    #[allow(clippy::result_large_err)]
    pub(super) fn check_signature<B>(
        &self,
        route: &Route,
        req: &mut Request<B>,
        client: ClientAddr,
    ) -> Result<(), Response<EdgeBody>> {
        let Some(keys) = &route.policy.signed else {
            return Ok(());
        };
        let facts = signed::Request {
            uri: req.uri(),
            headers: req.headers(),
            scheme: client.scheme,
            client: client.ip,
            hostnames: &route.hostnames,
            host_is_sent: route.origin.preserves_host(),
        };
        match keys.verify(&facts, std::time::SystemTime::now()) {
            Ok(uri) => {
                *req.uri_mut() = uri;
                Ok(())
            }
            Err(e) => {
                tracing::debug!(error = %e, "signature refused");
                let mut resp = self.identity.error_with(
                    StatusCode::FORBIDDEN,
                    Bytes::from_static(e.body().as_bytes()),
                    HeaderValue::from_static("text/xml"),
                );
                resp.headers_mut()
                    .insert(header::SERVER, HeaderValue::from_static("CloudFront"));
                Err(resp)
            }
        }
    }

    /// CloudFront's custom error response: the page's body (fetched through
    /// the edge, so cached like any object) with the configured status; the
    /// original error stands when the page itself cannot be had.
    pub(super) async fn error_page(
        self: &Arc<Self>,
        page: &ErrorPage,
        error: Response<EdgeBody>,
        client: ClientAddr,
    ) -> Response<EdgeBody> {
        let Ok(mut req) = Request::get(page.path.as_str()).body(http_body_util::Empty::<Bytes>::new()) else {
            return error;
        };
        let route = self.router.route(&page.path);
        let found = self.respond(&mut req, route, client);
        let found = self.resolve(found, req, client).await;
        if found.status() != StatusCode::OK {
            tracing::warn!(page = %page.path, status = found.status().as_u16(), "error page unavailable");
            return error;
        }
        let (mut parts, body) = found.into_parts();
        parts.status = page.status;
        // What clients may keep is the error's, not the page object's.
        if let Some(cc) = error.headers().get(header::CACHE_CONTROL) {
            parts.headers.insert(header::CACHE_CONTROL, cc.clone());
        }
        if let Some(x_cache) = error.headers().get(&X_CACHE) {
            parts.headers.insert(X_CACHE.clone(), x_cache.clone());
        }
        parts.headers.remove(header::AGE);
        Response::from_parts(parts, body)
    }

    /// A CORS preflight, answered at the edge.
    pub(super) fn preflight(&self, cors: &Cors, origin: &HeaderValue, request: &http::HeaderMap) -> Response<EdgeBody> {
        match cors.preflight(origin, request) {
            Preflight::Allowed(headers) => {
                let mut resp = Response::new(EdgeBody::empty());
                *resp.status_mut() = StatusCode::NO_CONTENT;
                *resp.headers_mut() = headers;
                resp.headers_mut().insert(header::VIA, self.identity.via());
                resp
            }
            Preflight::Denied => self.identity.error(StatusCode::FORBIDDEN, "CORS preflight denied"),
        }
    }

    pub(crate) fn fill_error(&self, e: &FillError) -> Response<EdgeBody> {
        if let FillError::Upstream { response, .. } = e {
            return self.identity.upstream_error(response);
        }
        let status = e.status();
        self.identity
            .error(status, status.canonical_reason().unwrap_or("Error"))
    }
}
