//! Fills: coalesced (one origin request per key however many clients ask
//! at once) or alone, their limits, and what the store keeps of them.
//!
//! Coalescing is ours rather than moka's `try_get_with` because a fill must
//! outlive the client that started it: moka runs the init future inside the
//! first caller, so that caller's disconnect would cancel the fill (and the
//! next waiter would start another). Here the fill runs in a spawned task
//! that stores its own result; callers only await a shared handle to it.
//!
//! A waiter is answered with another request's fill only if a shared cache
//! may reuse that answer for it (RFC 9111 §4 allows collapsing requests on
//! those terms): a response it may store (§3, §3.5). An answer it may not
//! (`FillResult::Unstorable`) goes only to the request it was fetched for;
//! each waiter fills alone, and the URL is marked `Entry::HitForMiss` so
//! later clients do not queue behind one fill at a time either.
//!
//! A fill waits for its origin's permit (`origins.X.max_fills`), then for
//! one of the node's (`cache.max_fills`), in that order: a fill queued on a
//! slow origin holds none of the node's, so other origins' misses go on.
//! Plain tokio semaphores rather than tower's `ConcurrencyLimit`: a permit
//! must be held until the body is read and kept (that is what bounds the
//! bytes buffered), past the response future a tower layer would bound,
//! and origins are not tower services.

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::store::{Entry, Store};
use super::{CacheKey, CachedObject};
use crate::fill::FillError;

/// The outcome of one fill, shared by the requests that waited for it
/// when `shared_with_waiters` says so.
#[derive(Debug, Clone)]
pub enum FillResult {
    /// Stored in the cache.
    Stored(Arc<CachedObject>),
    /// A stale entry revalidated by a 304: stored with refreshed headers.
    Refreshed(Arc<CachedObject>),
    /// A response a shared cache may store, but with neither freshness nor
    /// a validator, so not kept (e.g. `max-age=0`).
    Uncached(Arc<CachedObject>),
    /// A response a shared cache must not store (RFC 9111 §3): only the
    /// request it was fetched for is answered with it.
    Unstorable(Arc<CachedObject>),
    /// A response not stored only because its request carried
    /// `Authorization` (§3.5): answered to that request alone, like
    /// `Unstorable`, but the URL is not marked hit-for-miss and what is
    /// stored stays. A header any client can send says nothing of what
    /// the URL is for the others.
    Authorized(Arc<CachedObject>),
    /// Too large to hold whole: stored as slices; the object's entry and
    /// the slice this fill fetched.
    Sliced {
        meta: Arc<CachedObject>,
        index: u64,
        slice: Arc<CachedObject>,
    },
    /// Too large to hold: each waiter streams it from the origin.
    Pass,
    /// Streamed from the origin for this request alone, nothing kept: a
    /// sliced object's first answer, not storable only because of the
    /// request's `Authorization` (see `Authorized`).
    PassAlone,
    Failed(FillError),
}

impl FillResult {
    /// Whether a request that waited on this fill, started by another, may
    /// be answered with it; if not, it fills alone.
    pub fn shared_with_waiters(&self) -> bool {
        match self {
            FillResult::Unstorable(_) | FillResult::Authorized(_) | FillResult::PassAlone => false,
            FillResult::Failed(FillError::Upstream { shareable, .. }) => *shareable,
            _ => true,
        }
    }
}

pub type SharedFill = Shared<BoxFuture<'static, FillResult>>;

/// A fill this request started or joined; await it for its result.
pub struct Filling {
    /// Another request started it (see `FillResult::shared_with_waiters`).
    pub joined: bool,
    shared: SharedFill,
}

impl IntoFuture for Filling {
    type Output = FillResult;
    type IntoFuture = SharedFill;

    fn into_future(self) -> SharedFill {
        self.shared
    }
}

/// Removes a fill from the in-flight map when its task ends, after the
/// result is stored, so a later lookup finds either the fill or the entry.
struct Registration {
    store: Arc<Store>,
    slot: (CacheKey, u64),
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut inflight) = self.store.inflight.lock() {
            inflight.remove(&self.slot);
        }
    }
}

impl Store {
    /// Joins the fill in flight for `key`, or starts one with `fill`. The
    /// fill runs detached: it completes and stores its result even if every
    /// caller goes away. `discriminator` separates fills of different
    /// `Vary` secondary keys; `origin` holds the route's origin's permits.
    pub fn fill<F, Fut>(
        self: &Arc<Self>,
        key: CacheKey,
        discriminator: u64,
        origin: &Arc<Semaphore>,
        fill: F,
    ) -> Filling
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = FillResult> + Send + 'static,
    {
        let mut inflight = self.inflight.lock().expect("inflight lock poisoned");
        let slot = (key, discriminator);
        if let Some(shared) = inflight.get(&slot) {
            self.coalesced.inc();
            return Filling {
                joined: true,
                shared: shared.clone(),
            };
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let store = self.clone();
        let origin = origin.clone();
        let fut = fill();
        let task_slot = slot.clone();
        let task = tokio::spawn(async move {
            // Deregisters the fill however it ends, panics included.
            let _registered = Registration {
                store: store.clone(),
                slot: task_slot.clone(),
            };
            let key = task_slot.0;
            // A fill that finished between our caller's lookup and our
            // registration has already stored its object: use it.
            let result = match store.cache.get(&key) {
                Some(Entry::Object(o)) if o.is_fresh(Instant::now()) => FillResult::Stored(o),
                _ => {
                    let _permits = store.permits(&origin).await;
                    fut.await
                }
            };
            store.store_result(generation, &key, &result).await;
            result
        });
        let shared = async move {
            task.await
                .unwrap_or_else(|e| FillResult::Failed(FillError::Internal(e.to_string())))
        }
        .boxed()
        .shared();
        inflight.insert(slot, shared.clone());
        Filling { joined: false, shared }
    }

    /// Runs `fill` for this request alone (hit-for-miss, or a waiter whose
    /// fill was not shareable), within the same limits, and keeps its
    /// result as a coalesced fill's. Not detached: it ends with its client.
    pub async fn fill_alone(
        self: &Arc<Self>,
        key: CacheKey,
        origin: &Arc<Semaphore>,
        fill: impl Future<Output = FillResult>,
    ) -> FillResult {
        let generation = self.generation.load(Ordering::SeqCst);
        let result = {
            let _permits = self.permits(origin).await;
            fill.await
        };
        self.store_result(generation, &key, &result).await;
        result
    }

    /// The origin's permit, then the node's (see the module doc). The
    /// semaphores are never closed: `None` cannot happen.
    async fn permits<'a>(&'a self, origin: &'a Semaphore) -> Option<(SemaphorePermit<'a>, SemaphorePermit<'a>)> {
        let own = origin.acquire().await.ok()?;
        let node = self.fill_permits.acquire().await.ok()?;
        Some((own, node))
    }

    /// Stores what a fill started at purge `generation` may store of its
    /// result under `key`.
    async fn store_result(self: &Arc<Self>, generation: u64, key: &CacheKey, result: &FillResult) {
        // Held across the insert: see `purge` for why.
        let purges = self.purges.read().await;
        if purges.purged_since(generation, key) {
            tracing::debug!(key = key.key(), "invalidated during its fill: not stored");
            return;
        }
        match result {
            FillResult::Refreshed(o) => self.put(key.clone(), o.clone()),
            FillResult::Stored(o) => {
                self.put(key.clone(), o.clone());
                if o.compressible && o.secondary.is_none() {
                    crate::fill::recompress_in_background(self, key.clone(), o.clone());
                }
            }
            FillResult::Sliced { meta, index, slice } => {
                if let Some(info) = meta.sliced {
                    let slice_key = info.key(key, *index);
                    self.cache.insert(slice_key, Entry::Object(slice.clone()));
                }
                self.put(key.clone(), meta.clone());
            }
            FillResult::Pass => self.cache.insert(key.clone(), Entry::Pass),
            FillResult::Unstorable(_) => self.mark_uncacheable(key.clone()),
            FillResult::Uncached(_) | FillResult::Authorized(_) | FillResult::PassAlone | FillResult::Failed(_) => {}
        }
    }
}
