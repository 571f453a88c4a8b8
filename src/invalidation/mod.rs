//! Invalidations: a batch of paths (CloudFront's rules, see `paths`)
//! removes what it covers from the cache — every variant and slice — and
//! bumps the store's generation so fills in flight cannot store the old
//! object again. Batches are kept (most recent `HISTORY`) so that their
//! status can be asked for, by the JSON API and the CloudFront API alike.

pub mod cloudfront;
pub mod paths;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::cache::Store;
use crate::cache::purge::KeyMatcher;
use crate::route::Router;
pub use paths::PathRuleError;

/// CloudFront's limits on paths of invalidations in progress.
pub const MAX_EXACT_IN_PROGRESS: usize = 3000;
pub const MAX_WILDCARD_IN_PROGRESS: usize = 15;
/// Batches remembered for status queries and listing.
const HISTORY: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Completed => "Completed",
        }
    }
}

/// One batch, as reported.
#[derive(Debug, Clone)]
pub struct Invalidation {
    pub id: String,
    pub status: Status,
    pub created: SystemTime,
    pub caller_reference: String,
    pub paths: Vec<String>,
}

/// The batches of this node.
#[derive(Default)]
pub struct Invalidations {
    next: AtomicU64,
    batches: Mutex<VecDeque<Invalidation>>,
}

impl Invalidations {
    /// Validates `paths`, records the batch, purges and completes it.
    /// A `caller_reference` seen before returns that batch (CloudFront's
    /// idempotency), without purging again.
    pub async fn create(
        &self,
        router: &Router,
        store: &Store,
        paths: Vec<String>,
        caller_reference: Option<String>,
    ) -> Result<Invalidation, PathRuleError> {
        if paths.is_empty() {
            return Err(PathRuleError::Empty);
        }
        let mut matchers: Vec<KeyMatcher> = Vec::new();
        for p in &paths {
            paths::check(p)?;
            matchers.extend(paths::matchers(router, p)?);
        }
        let batch = {
            let mut batches = self.batches.lock().expect("invalidations lock");
            if let Some(reference) = &caller_reference
                && let Some(seen) = batches.iter().find(|b| &b.caller_reference == reference)
            {
                return Ok(seen.clone());
            }
            let (mut exact, mut wildcard) = count(paths.iter());
            for b in batches.iter().filter(|b| b.status == Status::InProgress) {
                let (e, w) = count(b.paths.iter());
                exact += e;
                wildcard += w;
            }
            if exact > MAX_EXACT_IN_PROGRESS || wildcard > MAX_WILDCARD_IN_PROGRESS {
                return Err(PathRuleError::TooManyInProgress { exact, wildcard });
            }
            let id = self.new_id();
            let batch = Invalidation {
                caller_reference: caller_reference.unwrap_or_else(|| id.clone()),
                id,
                status: Status::InProgress,
                created: SystemTime::now(),
                paths,
            };
            batches.push_front(batch.clone());
            batches.truncate(HISTORY);
            batch
        };
        let removed = store.purge(Arc::from(matchers)).await;
        tracing::info!(id = %batch.id, paths = ?batch.paths, removed, "invalidated");
        let mut batches = self.batches.lock().expect("invalidations lock");
        if let Some(b) = batches.iter_mut().find(|b| b.id == batch.id) {
            b.status = Status::Completed;
        }
        Ok(Invalidation {
            status: Status::Completed,
            ..batch
        })
    }

    pub fn get(&self, id: &str) -> Option<Invalidation> {
        let batches = self.batches.lock().expect("invalidations lock");
        batches.iter().find(|b| b.id == id).cloned()
    }

    /// Most recent first.
    pub fn list(&self) -> Vec<Invalidation> {
        self.batches
            .lock()
            .expect("invalidations lock")
            .iter()
            .cloned()
            .collect()
    }

    /// CloudFront-style: `I` and 13 upper-case letters and digits.
    fn new_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut x = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut id = String::from("I");
        for _ in 0..9 {
            id.push(char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(x % 36) as usize]));
            x /= 36;
        }
        // The counter last, so ids never repeat within a process.
        id.push_str(&format!("{:04}", n % 10_000));
        id
    }
}

fn count<'a>(paths: impl Iterator<Item = &'a String>) -> (usize, usize) {
    paths.fold(
        (0, 0),
        |(e, w), p| {
            if paths::is_wildcard(p) { (e, w + 1) } else { (e + 1, w) }
        },
    )
}
