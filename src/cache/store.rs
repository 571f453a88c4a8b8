//! The store: a moka cache bounded in bytes, with per-entry expiry, and
//! request coalescing.
//!
//! Coalescing is ours rather than moka's `try_get_with` because a fill must
//! outlive the client that started it: moka runs the init future inside the
//! first caller, so that caller's disconnect would cancel the fill (and the
//! next waiter would start another). Here the fill runs in a spawned task
//! that stores its own result; callers only await a shared handle to it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use moka::Expiry;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::{RwLock, Semaphore, watch};

use super::key::KeyParts;
use super::purge::{KeyMatcher, Purges};
use super::{CacheKey, CachedObject};
use crate::fill::FillError;

/// How long an object found too large to cache is passed without a fill
/// attempt (Varnish's "hit-for-pass", with its default of two minutes).
pub const PASS_TTL: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub enum Entry {
    Object(Arc<CachedObject>),
    /// Responses with `Vary`: one per secondary key (at most
    /// `MAX_VARIANTS`, most recent first).
    Variants(Arc<Vec<Arc<CachedObject>>>),
    /// The object is not cacheable (too large): stream it from the origin.
    Pass,
}

/// Secondary keys kept per URL: enough for languages or encodings, not for
/// a `Vary: User-Agent` explosion.
pub const MAX_VARIANTS: usize = 16;

impl Entry {
    /// The stored response usable for a request with these headers.
    pub fn select(&self, request: &http::HeaderMap) -> Option<&Arc<CachedObject>> {
        match self {
            Entry::Object(o) => Some(o),
            Entry::Variants(list) => list.iter().find(|o| o.usable_for(request)),
            Entry::Pass => None,
        }
    }

    /// Distinguishes fills of different secondary keys of one URL.
    pub fn discriminator(&self, request: &http::HeaderMap) -> u64 {
        match self {
            Entry::Variants(list) => list
                .first()
                .and_then(|o| o.secondary.as_ref())
                .map_or(0, |s| s.discriminator(request)),
            _ => 0,
        }
    }
}

/// The outcome of one fill, shared by every request that waited for it.
#[derive(Debug, Clone)]
pub enum FillResult {
    /// Stored in the cache.
    Stored(Arc<CachedObject>),
    /// A stale entry revalidated by a 304: stored with refreshed headers.
    Refreshed(Arc<CachedObject>),
    /// A complete response that must not be stored (e.g. `no-store`).
    Uncached(Arc<CachedObject>),
    /// Too large to hold whole: stored as slices; the object's entry and
    /// the slice this fill fetched.
    Sliced {
        meta: Arc<CachedObject>,
        index: u64,
        slice: Arc<CachedObject>,
    },
    /// Too large to hold: each waiter streams it from the origin.
    Pass,
    Failed(FillError),
}

type SharedFill = Shared<BoxFuture<'static, FillResult>>;

pub struct Store {
    /// foldhash, not std's SipHash: hashing the key was 370 of a 1 KiB
    /// hit's ~18k instructions with SipHash (callgrind). The seed is random
    /// per process, so keys that collide cannot be chosen from outside.
    cache: Cache<CacheKey, Entry, foldhash::quality::RandomState>,
    inflight: Mutex<HashMap<(CacheKey, u64), SharedFill>>,
    /// Background jobs (best-level re-compression) still running.
    background: watch::Sender<usize>,
    /// Bounds CPU-heavy background jobs to one per core, so a burst of new
    /// objects cannot take every core from the hit path.
    pub background_permits: Arc<Semaphore>,
    /// Invalidations: the generation fills check before storing.
    purges: RwLock<Purges>,
    /// `purges`' generation, readable without the lock when a fill starts.
    generation: AtomicU64,
    /// Entries removed for space or expiry (metrics).
    pub evictions: Counter,
    /// Requests that joined a fill already in flight (metrics).
    pub coalesced: Counter,
    /// Bounds origin fills running at once (`cache.max_fills`), and with
    /// `max_object_size` the bytes they buffer; more fills queue.
    fill_permits: Arc<Semaphore>,
}

/// Entries stay past freshness for revalidation and stale serving: for
/// `cache.keep` or the longest stale window, whichever is longer.
struct EntryExpiry {
    keep: Duration,
}

impl Expiry<CacheKey, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &CacheKey, entry: &Entry, now: Instant) -> Option<Duration> {
        Some(match entry {
            Entry::Object(o) => retention(o, self.keep, now),
            Entry::Variants(list) => list
                .iter()
                .map(|o| retention(o, self.keep, now))
                .max()
                .unwrap_or_default(),
            Entry::Pass => PASS_TTL,
        })
    }

    fn expire_after_update(
        &self,
        key: &CacheKey,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, entry, now)
    }
}

fn retention(o: &CachedObject, keep: Duration, now: Instant) -> Duration {
    o.time_to_live(now) + keep.max(o.timing.stale_while_revalidate).max(o.timing.stale_if_error)
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

/// Marks a background job as running while alive.
pub struct BackgroundJob {
    store: Arc<Store>,
}

impl Drop for BackgroundJob {
    fn drop(&mut self) {
        self.store.background.send_modify(|n| *n -= 1);
    }
}

/// Cache usage, as `capacity` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub entries: u64,
    pub bytes: u64,
}

impl Store {
    pub fn new(capacity: u64, keep: Duration, max_fills: usize) -> Arc<Store> {
        let evictions = Counter::default();
        let evicted = evictions.clone();
        let cache = Cache::builder()
            .max_capacity(capacity)
            .weigher(|_: &CacheKey, e: &Entry| match e {
                Entry::Object(o) => o.weight(),
                Entry::Variants(list) => list.iter().map(|o| o.weight()).fold(0u32, u32::saturating_add),
                Entry::Pass => 64,
            })
            .expire_after(EntryExpiry { keep })
            // LRU, not TinyLFU: a freshly filled object must never be
            // refused admission, or every request for it would be a miss.
            .eviction_policy(EvictionPolicy::lru())
            .eviction_listener(move |_, _, cause| {
                if matches!(cause, RemovalCause::Size | RemovalCause::Expired) {
                    evicted.inc();
                }
            })
            .build_with_hasher(foldhash::quality::RandomState::default());
        Arc::new(Store {
            cache,
            inflight: Mutex::new(HashMap::new()),
            background: watch::channel(0).0,
            background_permits: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            purges: RwLock::new(Purges::default()),
            generation: AtomicU64::new(0),
            evictions,
            coalesced: Counter::default(),
            fill_permits: Arc::new(Semaphore::new(max_fills)),
        })
    }

    /// A lookup never waits: moka's sync cache reads without locks, so the
    /// hit path needs no future for it (the async cache's `get` is a
    /// 760-byte future moved per request).
    pub fn get(&self, key: &dyn KeyParts) -> Option<Entry> {
        self.cache.get(key)
    }

    /// Joins the fill in flight for `key`, or starts one with `fill`. The
    /// fill runs detached: it completes and stores its result even if every
    /// caller goes away.
    /// `discriminator` separates fills of different `Vary` secondary keys.
    pub fn fill<F, Fut>(
        self: &Arc<Self>,
        key: CacheKey,
        discriminator: u64,
        fill: F,
    ) -> impl Future<Output = FillResult> + use<F, Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = FillResult> + Send + 'static,
    {
        let mut inflight = self.inflight.lock().expect("inflight lock poisoned");
        let slot = (key, discriminator);
        if let Some(shared) = inflight.get(&slot) {
            self.coalesced.inc();
            return shared.clone();
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let store = self.clone();
        let fut = fill();
        let task_key = slot.0.clone();
        let task_slot = slot.clone();
        let task = tokio::spawn(async move {
            // Deregisters the fill however it ends, panics included.
            let _registered = Registration {
                store: store.clone(),
                slot: task_slot,
            };
            // A fill that finished between our caller's lookup and our
            // registration has already stored its object: use it.
            let result = match store.cache.get(&task_key) {
                Some(Entry::Object(o)) if o.is_fresh(Instant::now()) => FillResult::Stored(o),
                _ => {
                    // Queued behind `max_fills` others; the semaphore is never closed.
                    let _permit = store.fill_permits.clone().acquire_owned().await;
                    fut.await
                }
            };
            // Held across the insert: see `purge` for why.
            let purges = store.purges.read().await;
            if purges.purged_since(generation, &task_key) {
                tracing::debug!(key = task_key.key(), "invalidated during its fill: not stored");
                return result;
            }
            match &result {
                FillResult::Refreshed(o) => store.put(task_key.clone(), o.clone()),
                FillResult::Stored(o) => {
                    store.put(task_key.clone(), o.clone());
                    if o.compressible && o.secondary.is_none() {
                        crate::fill::recompress_in_background(&store, task_key.clone(), o.clone());
                    }
                }
                FillResult::Sliced { meta, index, slice } => {
                    if let Some(info) = meta.sliced {
                        let slice_key = info.key(&task_key, *index);
                        store.cache.insert(slice_key, Entry::Object(slice.clone()));
                    }
                    store.put(task_key.clone(), meta.clone());
                }
                FillResult::Pass => store.cache.insert(task_key.clone(), Entry::Pass),
                FillResult::Uncached(_) | FillResult::Failed(_) => {}
            }
            drop(purges);
            result
        });
        let shared = async move {
            task.await
                .unwrap_or_else(|e| FillResult::Failed(FillError::Internal(e.to_string())))
        }
        .boxed()
        .shared();
        inflight.insert(slot, shared.clone());
        shared
    }

    /// Stores a response: alone, or among the `Vary` variants of its URL
    /// (replacing the one with the same secondary key).
    fn put(&self, key: CacheKey, object: Arc<CachedObject>) {
        if object.secondary.is_none() {
            self.cache.insert(key, Entry::Object(object));
            return;
        }
        self.cache.entry(key).and_compute_with(|current| {
            let mut list = vec![object.clone()];
            if let Some(Entry::Variants(old)) = current.as_ref().map(|e| e.value()) {
                list.extend(
                    old.iter()
                        .filter(|o| o.secondary != object.secondary)
                        .take(MAX_VARIANTS - 1)
                        .cloned(),
                );
            }
            Op::Put(Entry::Variants(Arc::new(list)))
        });
    }

    /// Removes the entry for `key` (all its variants).
    pub fn invalidate(&self, key: &CacheKey) {
        self.cache.invalidate(key);
    }

    /// Replaces `old` with `new` under `key` only if `old` is still the
    /// stored entry: a refill or removal meanwhile wins.
    pub fn replace(&self, key: CacheKey, old: &Arc<CachedObject>, new: Arc<CachedObject>) -> bool {
        let old = old.clone();
        let result = self.cache.entry(key).and_compute_with(|current| {
            let same = matches!(current.as_ref().map(|e| e.value()), Some(Entry::Object(o)) if Arc::ptr_eq(o, &old));
            if same { Op::Put(Entry::Object(new)) } else { Op::Nop }
        });
        matches!(result, CompResult::ReplacedWith(_))
    }

    /// Counts a background job until the returned guard drops.
    pub fn background_job(self: &Arc<Self>) -> BackgroundJob {
        self.background.send_modify(|n| *n += 1);
        BackgroundJob { store: self.clone() }
    }

    /// Waits until no background job is running.
    pub async fn settled(&self) {
        let mut rx = self.background.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Drops every entry of these routes (removed or redefined by a reload).
    pub fn remove_routes(&self, routes: &[u32]) {
        let doomed: Vec<_> = self
            .cache
            .iter()
            .filter(|(k, _)| routes.contains(&k.route()))
            .map(|(k, _)| k)
            .collect();
        for key in doomed {
            self.cache.invalidate(&*key);
        }
    }

    /// Removes every entry `matchers` cover and stops fills in flight from
    /// storing them again. Returns the number of entries removed.
    pub async fn purge(&self, matchers: Arc<[KeyMatcher]>) -> usize {
        {
            let mut purges = self.purges.write().await;
            let generation = purges.bump(matchers.clone());
            self.generation.store(generation, Ordering::SeqCst);
        }
        let doomed: Vec<_> = self
            .cache
            .iter()
            .filter(|(k, _)| matchers.iter().any(|m| m.matches(k)))
            .map(|(k, _)| k)
            .collect();
        for key in &doomed {
            self.cache.invalidate(&**key);
        }
        doomed.len()
    }

    /// Entry count and weighted size after moka's pending evictions ran.
    pub fn usage(&self) -> Usage {
        self.cache.run_pending_tasks();
        Usage {
            entries: self.cache.entry_count(),
            bytes: self.cache.weighted_size(),
        }
    }
}
