//! Purge bookkeeping for the store: which keys an invalidation covers, and
//! the generation counter that stops a fill started before an invalidation
//! from putting the purged object back (DESIGN: "Invalidation bumps a
//! generation").
//!
//! A fill notes the generation when it starts; before it stores, it asks
//! whether any invalidation since then covers its key. Invalidations bump
//! the generation under the write half of a lock that fills hold (read
//! half) across their check-and-insert, so every insert is either before
//! the bump (and then removed by the invalidation's sweep, which starts
//! after it) or after it (and then sees the invalidation and skips).

use std::collections::VecDeque;
use std::sync::Arc;

use super::CacheKey;

/// What one invalidation path covers in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatcher {
    /// One object, with its variants (one entry) and slices (keys derived
    /// from the object key: object key, NUL, …).
    Exact { route: u32, key: String },
    /// Every key of a route starting with `prefix` (a wildcard path).
    Prefix { route: u32, prefix: String },
}

impl KeyMatcher {
    pub fn matches(&self, key: &CacheKey) -> bool {
        match self {
            KeyMatcher::Exact { route, key: k } => {
                key.route() == *route
                    && key
                        .key()
                        .strip_prefix(k.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('\0'))
            }
            KeyMatcher::Prefix { route, prefix } => key.route() == *route && key.key().starts_with(prefix.as_str()),
        }
    }
}

/// How many recent invalidations are remembered for fills in flight; a
/// fill older than all of them is conservatively treated as purged.
const REMEMBERED: usize = 1024;

/// The generation and the matchers of recent invalidations.
#[derive(Debug, Default)]
pub struct Purges {
    generation: u64,
    /// (generation it created, what it covers), oldest first.
    recent: VecDeque<(u64, Arc<[KeyMatcher]>)>,
}

impl Purges {
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Records an invalidation; returns its generation.
    pub fn bump(&mut self, matchers: Arc<[KeyMatcher]>) -> u64 {
        self.generation += 1;
        self.recent.push_back((self.generation, matchers));
        if self.recent.len() > REMEMBERED {
            self.recent.pop_front();
        }
        self.generation
    }

    /// Whether an invalidation after generation `since` covers `key`.
    pub fn purged_since(&self, since: u64, key: &CacheKey) -> bool {
        if since == self.generation {
            return false;
        }
        let oldest_remembered = self.recent.front().map_or(u64::MAX, |(g, _)| *g);
        if since + 1 < oldest_remembered {
            return true;
        }
        self.recent
            .iter()
            .filter(|(g, _)| *g > since)
            .any(|(_, ms)| ms.iter().any(|m| m.matches(key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_covers_slices_not_siblings() {
        let m = KeyMatcher::Exact {
            route: 1,
            key: "static/a.css".into(),
        };
        assert!(m.matches(&CacheKey::new(1, "static/a.css")));
        assert!(m.matches(&CacheKey::new(1, "static/a.css\0abc\x000")));
        assert!(!m.matches(&CacheKey::new(1, "static/a.css.map")));
        assert!(!m.matches(&CacheKey::new(2, "static/a.css")));
        // Every host's copy (`preserve_host` routes key by host).
        assert!(m.matches(&CacheKey::new(1, "static/a.css").with_host(Some("a.example".into()))));
    }

    #[test]
    fn generation_sees_only_later_matching_purges() {
        let mut p = Purges::default();
        let key = CacheKey::new(0, "media/x");
        let start = p.generation();
        assert!(!p.purged_since(start, &key));
        p.bump(Arc::from(vec![KeyMatcher::Prefix {
            route: 0,
            prefix: "static/".into(),
        }]));
        assert!(!p.purged_since(start, &key));
        p.bump(Arc::from(vec![KeyMatcher::Prefix {
            route: 0,
            prefix: "media/".into(),
        }]));
        assert!(p.purged_since(start, &key));
        assert!(!p.purged_since(p.generation(), &key));
    }
}
