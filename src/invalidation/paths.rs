//! Invalidation paths: CloudFront's rules for what a path may be, and the
//! mapping from a path to the cache keys it covers, done exactly as a
//! request maps its path (`Route::request_key`: S3 routes the decoded
//! object key, query ignored; HTTP routes the keyed path and query, and an
//! exact key covers every keyed header and cookie value).

use thiserror::Error;

use crate::cache::purge::KeyMatcher;
use crate::route::{PathError, Router};

/// CloudFront's longest invalidation path.
pub const MAX_PATH_LEN: usize = 4000;

/// A refused path is quoted back up to this many characters (a path may
/// be 1 MiB long: the answer stays short).
const QUOTED: usize = 64;

/// Why a batch is refused (answered 400 with this text).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PathRuleError {
    #[error("no paths given")]
    Empty,
    #[error("path {0:?} does not start with '/'")]
    NoLeadingSlash(String),
    #[error("path {path:?} is {len} characters long; the limit is {MAX_PATH_LEN}")]
    TooLong { path: String, len: usize },
    #[error("path {0:?} has a '*' that is not its last character")]
    InnerWildcard(String),
    #[error("path {path:?}: {source}")]
    Key { path: String, source: PathError },
    #[error(
        "too many invalidations in progress: {exact} exact paths (limit 3000) and {wildcard} wildcard paths (limit 15) with this batch"
    )]
    TooManyInProgress { exact: usize, wildcard: usize },
}

/// Checks one path against CloudFront's rules. Lengths are in characters
/// and nothing is sliced by bytes: any UTF-8 string gets an answer.
pub fn check(path: &str) -> Result<(), PathRuleError> {
    if !path.starts_with('/') {
        return Err(PathRuleError::NoLeadingSlash(quoted(path)));
    }
    let len = path.chars().count();
    if len > MAX_PATH_LEN {
        return Err(PathRuleError::TooLong {
            path: quoted(path),
            len,
        });
    }
    if path.strip_suffix('*').unwrap_or(path).contains('*') {
        return Err(PathRuleError::InnerWildcard(quoted(path)));
    }
    Ok(())
}

/// The first `QUOTED` characters of `path`, and "…" if there were more.
fn quoted(path: &str) -> String {
    match path.char_indices().nth(QUOTED) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_string(),
    }
}

pub fn is_wildcard(path: &str) -> bool {
    path.ends_with('*')
}

/// The cache keys `path` covers under the current routes (none when no
/// route serves it: nothing of it can be cached).
pub fn matchers(router: &Router, path: &str) -> Result<Vec<KeyMatcher>, PathRuleError> {
    let key_error = |source| PathRuleError::Key {
        path: quoted(path),
        source,
    };
    let Some(prefix) = path.strip_suffix('*') else {
        let path_only = path.split_once('?').map_or(path, |(p, _)| p);
        let Some(route) = router.route(path_only) else {
            return Ok(Vec::new());
        };
        // The route's own request -> key rule, as the edge applies it.
        let key = route.invalidation_key(path).map_err(key_error)?;
        return Ok(vec![KeyMatcher::Exact { route: route.id, key }]);
    };
    let mut out = Vec::new();
    for route in router.routes() {
        if route.prefix.starts_with(prefix) {
            // The whole route is under the wildcard.
            out.push(KeyMatcher::Prefix {
                route: route.id,
                prefix: String::new(),
            });
        } else if prefix.starts_with(&route.prefix) {
            if route.origin.keys_query() {
                out.push(KeyMatcher::Prefix {
                    route: route.id,
                    prefix: prefix.to_string(),
                });
            } else if let Some((path_only, _)) = prefix.split_once('?') {
                // S3 routes ignore the query: a wildcard in it covers the object.
                let key = route.object_key(path_only).map_err(key_error)?;
                out.push(KeyMatcher::Exact { route: route.id, key });
            } else {
                let key = route.object_key(prefix).map_err(key_error)?;
                out.push(KeyMatcher::Prefix {
                    route: route.id,
                    prefix: key,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudfront_rules() {
        assert!(check("/static/a.css").is_ok());
        assert!(check("/static/*").is_ok());
        assert!(check("/*").is_ok());
        assert_eq!(check("static/a"), Err(PathRuleError::NoLeadingSlash("static/a".into())));
        assert!(matches!(check("/a*b"), Err(PathRuleError::InnerWildcard(_))));
        assert!(matches!(check("/a**"), Err(PathRuleError::InnerWildcard(_))));
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert!(matches!(check(&long), Err(PathRuleError::TooLong { len: 4001, .. })));
        assert!(check(&long[..MAX_PATH_LEN]).is_ok());
    }

    #[test]
    fn multibyte_paths_are_counted_in_characters() {
        let long = format!("/{}", "é".repeat(MAX_PATH_LEN));
        let Err(e @ PathRuleError::TooLong { len: 4001, .. }) = check(&long) else {
            panic!("4,001 characters")
        };
        assert!(e.to_string().chars().count() < 200, "{e}");
        assert!(check(&long[..long.len() - 2]).is_ok(), "4,000 characters, 7,999 bytes");
        assert!(check("/é").is_ok());
        assert!(check("/é*").is_ok());
        assert!(matches!(check("/é*é"), Err(PathRuleError::InnerWildcard(_))));
        assert!(matches!(check("é"), Err(PathRuleError::NoLeadingSlash(_))));
    }

    proptest::proptest! {
        /// Any string gets an answer, never a panic, and a refusal quotes at
        /// most `QUOTED` characters of it (each escaped to at most 10).
        #[test]
        fn any_string_is_answered_briefly(path in "(?s).{0,5000}", lead in proptest::bool::ANY) {
            let path = if lead { format!("/{path}") } else { path };
            if let Err(e) = check(&path) {
                proptest::prop_assert!(e.to_string().chars().count() <= QUOTED * 10 + 100, "{e}");
            }
            let inner = path.strip_suffix('*').unwrap_or(&path);
            let valid = path.starts_with('/') && path.chars().count() <= MAX_PATH_LEN && !inner.contains('*');
            proptest::prop_assert_eq!(check(&path).is_ok(), valid);
        }
    }
}
