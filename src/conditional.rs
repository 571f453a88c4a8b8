//! Conditional requests answered from cache (RFC 9110 §13.2.2), evaluated
//! in the RFC's order: If-Match, If-Unmodified-Since, If-None-Match,
//! If-Modified-Since. Invalid dates are ignored, as the RFC says.

use std::time::SystemTime;

use headers::{ETag, HeaderMapExt, IfMatch, IfModifiedSince, IfNoneMatch, IfUnmodifiedSince};
use http::{HeaderMap, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Serve the representation (possibly a range of it).
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates a GET/HEAD's preconditions against the stored validators.
pub fn evaluate(h: &HeaderMap, etag: Option<&ETag>, last_modified: Option<SystemTime>) -> Precondition {
    // 1. If-Match (strong comparison); 2. else If-Unmodified-Since.
    if h.contains_key(header::IF_MATCH) {
        let passes = match h.typed_get::<IfMatch>() {
            Some(im) if im.is_any() => true,
            Some(im) => etag.is_some_and(|e| im.precondition_passes(e)),
            None => false,
        };
        if !passes {
            return Precondition::Failed;
        }
    } else if let (Some(ius), Some(lm)) = (h.typed_get::<IfUnmodifiedSince>(), last_modified)
        && !ius.precondition_passes(lm)
    {
        return Precondition::Failed;
    }
    // 3. If-None-Match (weak comparison); 4. else If-Modified-Since.
    if h.contains_key(header::IF_NONE_MATCH) {
        if let Some(inm) = h.typed_get::<IfNoneMatch>() {
            let matched = match etag {
                Some(e) => !inm.precondition_passes(e),
                None => inm == IfNoneMatch::any(),
            };
            if matched {
                return Precondition::NotModified;
            }
        }
    } else if let (Some(ims), Some(lm)) = (h.typed_get::<IfModifiedSince>(), last_modified)
        && !ims.is_modified(lm)
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn eval(pairs: &[(&str, &str)]) -> Precondition {
        let h = crate::headers::map(pairs);
        let etag: ETag = "\"v1\"".parse().unwrap();
        let lm = httpdate::parse_http_date(LM).unwrap();
        evaluate(&h, Some(&etag), Some(lm))
    }

    #[test]
    fn rfc_order_and_outcomes() {
        use Precondition::*;
        let later = httpdate::fmt_http_date(httpdate::parse_http_date(LM).unwrap() + Duration::from_secs(60));
        let earlier = httpdate::fmt_http_date(httpdate::parse_http_date(LM).unwrap() - Duration::from_secs(60));
        let table: Vec<(Vec<(&str, &str)>, Precondition)> = vec![
            (vec![], Proceed),
            (vec![("if-none-match", "\"v1\"")], NotModified),
            (vec![("if-none-match", "W/\"v1\"")], NotModified),
            (vec![("if-none-match", "\"x\", \"v1\"")], NotModified),
            (vec![("if-none-match", "*")], NotModified),
            (vec![("if-none-match", "\"v2\"")], Proceed),
            (vec![("if-modified-since", LM)], NotModified),
            (vec![("if-modified-since", &later)], NotModified),
            (vec![("if-modified-since", &earlier)], Proceed),
            (vec![("if-modified-since", "yesterday")], Proceed),
            // If-None-Match takes precedence over If-Modified-Since.
            (vec![("if-none-match", "\"v2\""), ("if-modified-since", LM)], Proceed),
            (vec![("if-match", "\"v1\"")], Proceed),
            (vec![("if-match", "*")], Proceed),
            (vec![("if-match", "W/\"v1\"")], Failed),
            (vec![("if-match", "\"v2\"")], Failed),
            (vec![("if-unmodified-since", &earlier)], Failed),
            (vec![("if-unmodified-since", LM)], Proceed),
            (vec![("if-unmodified-since", "garbage")], Proceed),
            // If-Match is evaluated before If-None-Match.
            (vec![("if-match", "\"v2\""), ("if-none-match", "\"v1\"")], Failed),
            (vec![("if-match", "\"v1\""), ("if-none-match", "\"v1\"")], NotModified),
            // If-Match present: If-Unmodified-Since is not evaluated.
            (vec![("if-match", "\"v1\""), ("if-unmodified-since", &earlier)], Proceed),
        ];
        for (headers, want) in table {
            assert_eq!(eval(&headers), want, "{headers:?}");
        }
    }
}
