//! `Vary` (RFC 9111 §4.1): a stored response may be used only for requests
//! whose nominated header fields match those of the request that fetched
//! it. Responses are stored per primary key with their secondary key; the
//! values are normalised (whitespace, case of tokens, `Accept-Encoding` as
//! an ordered set) so that equivalent requests share one response.

use std::hash::{Hash, Hasher};

use http::{HeaderMap, HeaderName, header};

/// The secondary key of a stored response: the nominated request header
/// names and the values they had.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Secondary {
    names: Vec<HeaderName>,
    values: Vec<Option<String>>,
}

impl Secondary {
    /// The secondary key a response's `Vary` gives, against the request
    /// that fetched it; `None` when the response does not vary. With
    /// `ignore_accept_encoding` (routes where the edge compresses itself),
    /// `Accept-Encoding` is ours to handle and not part of the key.
    pub fn of(response: &HeaderMap, request: &HeaderMap, ignore_accept_encoding: bool) -> Option<Secondary> {
        let mut names: Vec<HeaderName> = Vec::new();
        for value in response.get_all(header::VARY) {
            let Ok(text) = value.to_str() else { continue };
            for name in text.split(',').map(str::trim).filter(|n| !n.is_empty() && *n != "*") {
                let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                    continue;
                };
                if (ignore_accept_encoding && name == header::ACCEPT_ENCODING) || names.contains(&name) {
                    continue;
                }
                names.push(name);
            }
        }
        if names.is_empty() {
            return None;
        }
        names.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let values = names.iter().map(|n| normalized(n, request)).collect();
        Some(Secondary { names, values })
    }

    pub fn matches(&self, request: &HeaderMap) -> bool {
        self.names
            .iter()
            .zip(&self.values)
            .all(|(name, value)| normalized(name, request) == *value)
    }

    /// A request's discriminator for these names: requests that would
    /// match different responses get different numbers, so their fills are
    /// not coalesced.
    pub fn discriminator(&self, request: &HeaderMap) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for name in &self.names {
            normalized(name, request).hash(&mut h);
        }
        h.finish() | 1
    }
}

/// A field line as text. A value with bytes that are not visible ASCII
/// (obs-text) is forwarded as sent, so it must select its own variant,
/// never the one of clients without the header: it is a NUL (never in a
/// field value) and the bytes in hex, unlike any other value.
fn text(value: &http::HeaderValue) -> String {
    match value.to_str() {
        Ok(v) => v.to_string(),
        Err(_) => format!("\0{}", hex::encode(value.as_bytes())),
    }
}

/// All field lines of `name` combined, whitespace around commas removed;
/// `Accept-Encoding` reduced to its sorted, lower-cased codings.
fn normalized(name: &HeaderName, request: &HeaderMap) -> Option<String> {
    let lines: Vec<String> = request.get_all(name).iter().map(text).collect();
    if lines.is_empty() {
        return None;
    }
    let mut items: Vec<String> = lines
        .iter()
        .flat_map(|l| l.split(','))
        .map(|i| i.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|i| !i.is_empty())
        .collect();
    if *name == header::ACCEPT_ENCODING {
        items = items.iter().map(|i| i.to_ascii_lowercase().replace(' ', "")).collect();
        items.sort();
        items.dedup();
    }
    Some(items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::headers::map as h;

    #[test]
    fn selects_by_nominated_headers() {
        let resp = h(&[("vary", "Accept-Language, Foo"), ("vary", "bar")]);
        let s = Secondary::of(&resp, &h(&[("accept-language", "en"), ("foo", "1")]), false).unwrap();
        assert!(s.matches(&h(&[("accept-language", "en"), ("foo", "1")])));
        assert!(s.matches(&h(&[("foo", "1"), ("accept-language", "en"), ("other", "x")])));
        assert!(!s.matches(&h(&[("accept-language", "de"), ("foo", "1")])));
        assert!(
            !s.matches(&h(&[("accept-language", "en"), ("foo", "1"), ("bar", "x")])),
            "absent must stay absent"
        );
        assert!(!s.matches(&h(&[("accept-language", "en")])));
    }

    #[test]
    fn normalises_whitespace_and_accept_encoding() {
        let resp = h(&[("vary", "accept-encoding, x")]);
        let s = Secondary::of(&resp, &h(&[("accept-encoding", "gzip, br"), ("x", "a,  b")]), false).unwrap();
        assert!(s.matches(&h(&[("accept-encoding", "br,gzip"), ("x", "a, b")])));
        assert!(s.matches(&h(&[
            ("accept-encoding", "br"),
            ("accept-encoding", "gzip"),
            ("x", "a,b")
        ])));
        assert!(Secondary::of(&h(&[("vary", "Accept-Encoding")]), &HeaderMap::new(), true).is_none());
        assert!(Secondary::of(&HeaderMap::new(), &HeaderMap::new(), false).is_none());
    }
}
