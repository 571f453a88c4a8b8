//! Everything but a plain fresh hit: slices, stale serving, coalesced
//! fills and passes. Kept apart (and boxed by the caller) so the hit
//! path's future stays small.

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response, header};

use super::{Edge, Phase};
use crate::body::EdgeBody;
use crate::cache::freshness::RequestFacts;
use crate::cache::{CacheKey, CachedObject, FillResult};
use crate::client_addr::ClientAddr;
use crate::fill::{self, FillError, FillJob};
use crate::forward;
use crate::origin::OriginRequest;
use crate::response::RequestView;
use crate::route::Route;
use crate::slice::fill::SliceFill;
use crate::slice::respond::Slices;

impl Edge {
    /// The answer for everything but a plain fresh hit: slices, stale
    /// serving, fills, passes.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn beyond_hit<B>(
        &self,
        route: &Arc<Route>,
        cache_key: CacheKey,
        req: &Request<B>,
        client: ClientAddr,
        phase: Phase,
        discriminator: u64,
        view: &RequestView<'_>,
        now: Instant,
    ) -> Response<EdgeBody> {
        let head = view.head;
        let stale = match phase {
            Phase::Fresh(obj) if obj.sliced.is_some() => {
                let slices = self.slices(route, &cache_key, &obj, req, client);
                let mut resp = slices.respond(&obj, view).await;
                self.identity.stamp(&mut resp, true, Some(obj.age(now)));
                return resp;
            }
            Phase::Fresh(obj) => return self.identity.hit(&obj, view, now),
            Phase::StaleServable(obj) => {
                // Revalidate behind the response; the fill is detached, so
                // dropping its handle does not cancel it.
                let job = self.job(route, &cache_key, req, client, Some(obj.clone()));
                let permits = route.origin.fill_permits();
                drop(
                    self.store
                        .fill(cache_key, discriminator, permits, move || fill::fill(job)),
                );
                return self.identity.hit(&obj, view, now);
            }
            Phase::Pass => {
                let request = forward::origin_request(route, &cache_key, req, client);
                return self.pass(route, &request, head).await;
            }
            Phase::Stale(obj) => Some(obj),
            Phase::HitForMiss => {
                let job = self.job(route, &cache_key, req, client, None);
                let permits = route.origin.fill_permits();
                let result = self.store.fill_alone(cache_key.clone(), permits, fill::fill(job)).await;
                return self
                    .answer(route, &cache_key, req, client, view, None, (result, false))
                    .await;
            }
            Phase::Miss => None,
        };
        let result = self
            .coalesced(route, &cache_key, req, client, discriminator, stale.clone())
            .await;
        self.answer(route, &cache_key, req, client, view, stale, result).await
    }

    /// The fill this request waits on, and if it was another request's and
    /// its answer may not be shared with this one, this request's own
    /// (RFC 9111 §4: requests collapse only onto a response reusable for
    /// each of them). With it, whether the answer was another request's.
    async fn coalesced<B>(
        &self,
        route: &Arc<Route>,
        cache_key: &CacheKey,
        req: &Request<B>,
        client: ClientAddr,
        discriminator: u64,
        stale: Option<Arc<CachedObject>>,
    ) -> (FillResult, bool) {
        let permits = route.origin.fill_permits();
        let job = self.job(route, cache_key, req, client, stale.clone());
        let filling = self
            .store
            .fill(cache_key.clone(), discriminator, permits, move || fill::fill(job));
        let mut joined = filling.joined;
        let mut result = filling.await;
        // A coalesced fill may have fetched another secondary key's response
        // (`Vary`): then this request needs its own.
        if let FillResult::Stored(obj) | FillResult::Uncached(obj) = &result
            && let Some(secondary) = obj.secondary.as_ref().filter(|s| !s.matches(req.headers()))
        {
            let discriminator = secondary.discriminator(req.headers());
            let job = self.job(route, cache_key, req, client, None);
            let filling = self
                .store
                .fill(cache_key.clone(), discriminator, permits, move || fill::fill(job));
            joined = filling.joined;
            result = filling.await;
        }
        if joined && !result.shared_with_waiters() {
            let job = self.job(route, cache_key, req, client, stale);
            result = self.store.fill_alone(cache_key.clone(), permits, fill::fill(job)).await;
            joined = false;
        }
        (result, joined)
    }

    /// The answer from a fill's result, and whether that fill was another
    /// request's: then the fields the response keeps from a shared cache
    /// (`private="Set-Cookie"`, `no-cache="..."`: `omit_on_hit`) are not
    /// this client's, and it gets what a hit would get.
    #[allow(clippy::too_many_arguments)]
    async fn answer<B>(
        &self,
        route: &Arc<Route>,
        cache_key: &CacheKey,
        req: &Request<B>,
        client: ClientAddr,
        view: &RequestView<'_>,
        stale: Option<Arc<CachedObject>>,
        (result, shared): (FillResult, bool),
    ) -> Response<EdgeBody> {
        let head = view.head;
        match result {
            FillResult::Sliced { meta, .. } => self.sliced_miss(route, cache_key, &meta, req, client, view).await,
            FillResult::Stored(meta) if meta.sliced.is_some() => {
                self.sliced_miss(route, cache_key, &meta, req, client, view).await
            }
            FillResult::Stored(obj)
            | FillResult::Uncached(obj)
            | FillResult::Unstorable(obj)
            | FillResult::Authorized(obj) => {
                let resp = self.identity.miss(&obj, view);
                without_private_fields(resp, &obj, shared)
            }
            FillResult::Refreshed(obj) => {
                let resp = self.identity.refresh_hit(&obj, view);
                without_private_fields(resp, &obj, shared)
            }
            FillResult::Pass | FillResult::PassAlone => {
                let request = forward::origin_request(route, cache_key, req, client);
                self.pass(route, &request, head).await
            }
            // The origin failed: a stale copy may stand in, within
            // stale-if-error, or (RFC 9111 §4.2.4) whenever the origin
            // cannot be reached and the response allows stale use.
            FillResult::Failed(e) if stale.as_ref().is_some_and(|s| may_serve_stale(s, &e)) => {
                let stale = stale.expect("checked");
                self.identity.hit(&stale, view, Instant::now())
            }
            FillResult::Failed(e) => match &e {
                // The origin's own error, shared: without Alice's fields too.
                FillError::Upstream { response, .. } => without_private_fields(self.fill_error(&e), response, shared),
                _ => self.fill_error(&e),
            },
        }
    }

    fn job<B>(
        &self,
        route: &Arc<Route>,
        key: &CacheKey,
        req: &Request<B>,
        client: ClientAddr,
        stale: Option<Arc<CachedObject>>,
    ) -> FillJob {
        FillJob {
            route: route.clone(),
            request: forward::origin_request(route, key, req, client),
            facts: RequestFacts {
                authorization: req.headers().contains_key(header::AUTHORIZATION),
            },
            max_object_size: self.max_object_size,
            identity: self.identity.clone(),
            stale,
            slice: route.policy.slice.map(|size| SliceFill {
                size,
                index: first_slice(req.headers(), size),
                expect: None,
            }),
        }
    }

    async fn sliced_miss<B>(
        &self,
        route: &Arc<Route>,
        key: &CacheKey,
        meta: &CachedObject,
        req: &Request<B>,
        client: ClientAddr,
        view: &RequestView<'_>,
    ) -> Response<EdgeBody> {
        let mut resp = self.slices(route, key, meta, req, client).respond(meta, view).await;
        self.identity.stamp(&mut resp, false, None);
        resp
    }

    fn slices<B>(
        &self,
        route: &Arc<Route>,
        key: &CacheKey,
        meta: &CachedObject,
        req: &Request<B>,
        client: ClientAddr,
    ) -> Slices {
        Slices {
            store: self.store.clone(),
            route: route.clone(),
            identity: self.identity.clone(),
            key: key.clone(),
            info: meta.sliced.expect("a sliced object"),
            request: forward::origin_request(route, key, req, client),
            max_object_size: self.max_object_size,
        }
    }

    /// Streams an object that is not cached (too large) from the origin.
    async fn pass(&self, route: &Arc<Route>, request: &OriginRequest, head: bool) -> Response<EdgeBody> {
        match route.origin.get(request).await {
            Ok(origin) => self.identity.pass(origin, &route.policy.for_key(&request.key), head),
            Err(e) => self.fill_error(&FillError::from(e)),
        }
    }
}

/// A fill's answer for a request that waited on it (`shared`): without
/// the fields the response keeps from a shared cache (`omit_on_hit`), as
/// a hit gets it. They were the filling request's.
fn without_private_fields(mut resp: Response<EdgeBody>, obj: &CachedObject, shared: bool) -> Response<EdgeBody> {
    if shared {
        for name in &obj.omit_on_hit {
            resp.headers_mut().remove(name);
        }
    }
    resp
}

/// The slice a cold request needs first: where its range starts.
fn first_slice(headers: &http::HeaderMap, size: u64) -> u64 {
    headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
        .and_then(|v| v.split([',', '-']).next())
        .and_then(|start| start.trim().parse::<u64>().ok())
        .map_or(0, |start| start / size)
}

fn may_serve_stale(stale: &CachedObject, error: &FillError) -> bool {
    let unreachable = matches!(error, FillError::Origin(_) | FillError::Truncated { .. });
    stale.within_sie(Instant::now()) || (unreachable && !stale.timing.must_revalidate)
}
