//! `immutable = "hashed"`: only content-hashed names are immutable.
//!
//! Django's `ManifestStaticFilesStorage` uploads every file twice — the
//! hashed copy (`site.4e2a9c1b7d3f.css`, `HashedFilesMixin.hashed_name`:
//! `<root>.<first 12 hex of md5><ext>`) and the unhashed original
//! (`site.css`) — plus the manifest `staticfiles.json`. A year of
//! `immutable` is right for the first and wrong for the others: a deploy
//! would never reach browsers (or this edge) holding them. So unhashed
//! names get `cache_control_unhashed` towards clients, and their edge
//! freshness is capped at its `max-age`, whatever the object metadata says.
//!
//! The decision is made once per fill (`RoutePolicy::for_key`): a hit never
//! runs the pattern.

use std::time::Duration;

use http::HeaderValue;
use regex::Regex;

/// `HashedFilesMixin`'s names: `<root>.<12 lowercase hex>` followed by the
/// extension `os.path.splitext` split off (possibly none).
pub const DJANGO_HASHED: &str = r"^.+\.[0-9a-f]{12}(\.[^.]*)?$";

/// Django's default `manifest_name`: it changes on every deploy.
pub const MANIFEST_NAME: &str = "staticfiles.json";

pub const DEFAULT_UNHASHED_CACHE_CONTROL: &str = "public, max-age=300, must-revalidate";

/// A route's `immutable` choice.
#[derive(Debug, Clone)]
pub enum Immutable {
    /// Every name gets the route's `cache_control` (the plain behaviour).
    Always,
    /// As `Always`; the config refuses an `immutable` directive in the
    /// route's `cache_control`.
    Never,
    /// Only names matching the pattern get the route's `cache_control`.
    Hashed(HashedNames),
}

/// How a `hashed` route tells names apart, and what unhashed ones get.
#[derive(Debug, Clone)]
pub struct HashedNames {
    /// Matched against the last path segment of the object key.
    pub pattern: Regex,
    pub unhashed_cache_control: HeaderValue,
    /// The `max-age` of `unhashed_cache_control`: the edge TTL cap.
    pub unhashed_max_age: Duration,
}

impl HashedNames {
    /// Whether the object named by `key` (an S3 key, or path and query)
    /// carries a content hash in its name.
    pub fn is_hashed(&self, key: &str) -> bool {
        let path = key.split_once('?').map_or(key, |(p, _)| p);
        let name = path.rsplit('/').next().unwrap_or(path);
        name != MANIFEST_NAME && self.pattern.is_match(name)
    }
}

/// The `max-age` of a Cache-Control value; none: zero (the edge revalidates).
pub fn max_age(cache_control: &str) -> Duration {
    cache_control
        .split(',')
        .filter_map(|d| d.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("max-age"))
        .and_then(|(_, v)| v.trim().trim_matches('"').parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> HashedNames {
        HashedNames {
            pattern: Regex::new(DJANGO_HASHED).unwrap(),
            unhashed_cache_control: HeaderValue::from_static(DEFAULT_UNHASHED_CACHE_CONTROL),
            unhashed_max_age: max_age(DEFAULT_UNHASHED_CACHE_CONTROL),
        }
    }

    #[test]
    fn django_hashed_names_match() {
        let r = rule();
        for key in [
            "static/css/site.a7408308e012.css",
            "static/admin/js/core.20c58e0c9588.js",
            "static/robots.3b3abafb0bdc.txt",
            "static/js/jquery.min.0123456789ab.js",
            "static/archive.tar.0123456789ab.gz",
            "static/LICENSE.0123456789ab",
            "/static/css/site.a7408308e012.css?v=1",
        ] {
            assert!(r.is_hashed(key), "{key}");
        }
    }

    #[test]
    fn originals_and_the_manifest_do_not() {
        let r = rule();
        for key in [
            "static/css/site.css",
            "static/staticfiles.json",
            "static/a7408308e012.css",
            "static/site.A7408308E012.css",
            "static/site.a7408308e01.css",
            "static/site.a7408308e0123.css",
            "static/site-a7408308e012.css",
            "static/dir.a7408308e012/site.css",
        ] {
            assert!(!r.is_hashed(key), "{key}");
        }
    }

    #[test]
    fn max_age_of_cache_control() {
        assert_eq!(
            max_age("public, max-age=300, must-revalidate"),
            Duration::from_secs(300)
        );
        assert_eq!(max_age("no-cache"), Duration::ZERO);
        assert_eq!(max_age("public, s-maxage=5, MAX-AGE=60"), Duration::from_secs(60));
    }
}
