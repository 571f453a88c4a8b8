//! The store: a moka cache bounded in bytes, with per-entry expiry. Fills
//! and what is kept of them are in `coalesce`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::notification::RemovalCause;
use moka::ops::compute::{CompResult, Op};
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::{RwLock, Semaphore, watch};

use super::coalesce::SharedFill;
use super::key::KeyParts;
use super::purge::{KeyMatcher, Purges};
use super::{CacheKey, CachedObject};

/// How long an object found too large to cache is passed without a fill
/// attempt (Varnish's "hit-for-pass", with its default of two minutes).
pub const PASS_TTL: Duration = Duration::from_secs(120);

/// Default of `cache.hit_for_miss`: how long a URL whose answer could not
/// be shared fills without coalescing. Short, because it only matters
/// while the URL is hot (each unshareable answer renews it), and a
/// storable answer replaces it at once anyway.
pub const HIT_FOR_MISS: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub enum Entry {
    Object(Arc<CachedObject>),
    /// Responses with `Vary`: one per secondary key (at most
    /// `MAX_VARIANTS`, most recent first).
    Variants(Arc<Vec<Arc<CachedObject>>>),
    /// The object is not cacheable (too large): stream it from the origin
    /// (Varnish's hit-for-pass).
    Pass,
    /// The URL's last answer could not be shared (RFC 9111 §3: `private`,
    /// `no-store`, `Set-Cookie`, `Authorization`...): each request fills
    /// on its own, none waits on another's fill, and a storable answer
    /// replaces this (Varnish's hit-for-miss). Lives `cache.hit_for_miss`.
    HitForMiss,
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
            Entry::Pass | Entry::HitForMiss => None,
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

pub struct Store {
    /// foldhash, not std's SipHash: hashing the key was 370 of a 1 KiB
    /// hit's ~18k instructions with SipHash (callgrind). The seed is random
    /// per process, so keys that collide cannot be chosen from outside.
    pub(super) cache: Cache<CacheKey, Entry, foldhash::quality::RandomState>,
    pub(super) inflight: Mutex<HashMap<(CacheKey, u64), SharedFill>>,
    /// Background jobs (best-level re-compression) still running.
    background: watch::Sender<usize>,
    /// Bounds CPU-heavy background jobs to one per core, so a burst of new
    /// objects cannot take every core from the hit path.
    pub background_permits: Arc<Semaphore>,
    /// Invalidations: the generation fills check before storing.
    pub(super) purges: RwLock<Purges>,
    /// `purges`' generation, readable without the lock when a fill starts.
    pub(super) generation: AtomicU64,
    /// Entries removed for space or expiry (metrics).
    pub evictions: Counter,
    /// Requests that joined a fill already in flight (metrics).
    pub coalesced: Counter,
    /// Bounds origin fills running at once (`cache.max_fills`), and with
    /// `max_object_size` the bytes they buffer; more fills queue. Each
    /// origin's own share is taken first (see `coalesce`).
    pub(super) fill_permits: Arc<Semaphore>,
    /// How long `Entry::HitForMiss` lives (`cache.hit_for_miss`); zero: off.
    hit_for_miss: Duration,
}

/// Entries stay past freshness for revalidation and stale serving: for
/// `cache.keep` or the longest stale window, whichever is longer.
struct EntryExpiry {
    keep: Duration,
    hit_for_miss: Duration,
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
            Entry::HitForMiss => self.hit_for_miss,
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
    pub fn new(capacity: u64, keep: Duration, max_fills: usize, hit_for_miss: Duration) -> Arc<Store> {
        let evictions = Counter::default();
        let evicted = evictions.clone();
        let cache = Cache::builder()
            .max_capacity(capacity)
            .weigher(|_: &CacheKey, e: &Entry| match e {
                Entry::Object(o) => o.weight(),
                Entry::Variants(list) => list.iter().map(|o| o.weight()).fold(0u32, u32::saturating_add),
                Entry::Pass | Entry::HitForMiss => 64,
            })
            .expire_after(EntryExpiry { keep, hit_for_miss })
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
            hit_for_miss,
        })
    }

    /// A lookup never waits: moka's sync cache reads without locks, so the
    /// hit path needs no future for it (the async cache's `get` is a
    /// 760-byte future moved per request).
    pub fn get(&self, key: &dyn KeyParts) -> Option<Entry> {
        self.cache.get(key)
    }

    /// Stores a response: alone, or among the `Vary` variants of its URL
    /// (replacing the one with the same secondary key).
    pub(super) fn put(&self, key: CacheKey, object: Arc<CachedObject>) {
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

    /// Marks `key` as uncacheable for `cache.hit_for_miss`. `Vary` variants
    /// stored under it stay: their requests are hits, and the others fill
    /// per secondary key, so they do not queue behind one fill anyway.
    pub(super) fn mark_uncacheable(&self, key: CacheKey) {
        if self.hit_for_miss.is_zero() {
            return;
        }
        self.cache
            .entry(key)
            .and_compute_with(|current| match current.as_ref().map(|e| e.value()) {
                Some(Entry::Variants(_)) => Op::Nop,
                _ => Op::Put(Entry::HitForMiss),
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
