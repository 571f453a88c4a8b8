//! What a request leaves for later. `respond` decides without waiting and
//! only borrows the request, so a hit's access log line can still read it
//! once the response is built; anything that waits (a fill, a
//! revalidation, a forwarded method) becomes one boxed future that takes
//! the request over.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::{BoxFuture, Either};
use http::{Request, Response};
use http_body::Body;
use tracing::Instrument;

use super::{Edge, HandleFuture, Phase, Scan, view};
use crate::body::EdgeBody;
use crate::cache::CacheKey;
use crate::client_addr::ClientAddr;
use crate::forward;
use crate::origin::BoxError;
use crate::response::X_CACHE;
use crate::route::Route;

/// What `respond` decided without waiting: a response (hits, the edge's own
/// answers) or the work still to do. `respond` only borrows the request, so
/// a hit's access log line reads it after the response is built; `later`
/// takes it over for the rest.
pub(super) enum Handled {
    Now(Response<EdgeBody>),
    Later(Pending),
}

/// The work `respond` left for `later`.
pub(super) enum Pending {
    /// A method other than GET and HEAD, on a route that forwards them.
    Forward(Arc<Route>),
    /// Anything but a fresh whole hit: a miss, a stale or sliced object, a
    /// pass.
    BeyondHit {
        route: Arc<Route>,
        key: CacheKey,
        phase: Phase,
        discriminator: u64,
        head: bool,
        scan: Scan,
        now: Instant,
    },
}

impl Edge {
    /// What `respond` decided, as a future: ready, or the work it left.
    pub(super) fn resolve<B>(self: &Arc<Self>, handled: Handled, req: Request<B>, client: ClientAddr) -> HandleFuture
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        match handled {
            Handled::Now(resp) => Either::Left(std::future::ready(resp)),
            Handled::Later(work) => Either::Right(self.clone().later(work, req, client)),
        }
    }

    /// The work `respond` left, now owning the request.
    fn later<B>(
        self: Arc<Self>,
        work: Pending,
        req: Request<B>,
        client: ClientAddr,
    ) -> BoxFuture<'static, Response<EdgeBody>>
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        match work {
            Pending::Forward(route) => {
                Box::pin(async move { forward::unsafe_request(&self, &route, req, client).await })
            }
            Pending::BeyondHit {
                route,
                key,
                phase,
                discriminator,
                head,
                scan,
                now,
            } => Box::pin(async move {
                let view = view(&req, head, scan);
                self.beyond_hit(&route, key, &req, client, phase, discriminator, &view, now)
                    .await
            }),
        }
    }

    /// `respond` with a span and a completion event per request.
    pub(super) async fn respond_traced<B>(
        self: Arc<Self>,
        mut req: Request<B>,
        route: Option<Arc<Route>>,
        client: ClientAddr,
    ) -> Response<EdgeBody>
    where
        B: Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        let span = tracing::debug_span!(
            "request",
            client = %client.ip,
            method = %req.method(),
            path = %req.uri().path(),
            route = tracing::field::Empty,
        );
        let start = Instant::now();
        let handled = span.in_scope(|| self.respond(&mut req, route.as_ref(), client));
        let resp = self.resolve(handled, req, client).instrument(span.clone()).await;
        let _enter = span.enter();
        tracing::debug!(
            status = resp.status().as_u16(),
            cache = ?resp.headers().get(&X_CACHE),
            micros = start.elapsed().as_micros() as u64,
            "response"
        );
        resp
    }
}
