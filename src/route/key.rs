//! A route's key rule (`key = { query, headers, cookies }`): what of a
//! request is part of its cache key, and — the same thing — what of it is
//! forwarded to the origin (CloudFront's cache policy, which is also its
//! origin request policy here). An origin can only vary on what it is sent,
//! and it is sent only what is keyed, so no unkeyed input can shape a
//! response stored for everyone.
//!
//! The key of an HTTP route is the keyed path and query, then, after NUL
//! separators (never in a URL; an invalidation's exact key covers every
//! `key\0…`), the keyed header values and cookies. A route keying the whole
//! query and nothing else borrows the request's path and query: a hit
//! allocates no key.

use std::borrow::Cow;

use http::{HeaderMap, HeaderName, HeaderValue, header};

/// Which query parameters are keyed (and forwarded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryKey {
    None,
    All,
    /// Only these parameter names (raw, as sent), sorted.
    Names(Box<[Box<str>]>),
}

/// What of a request is keyed and forwarded, besides its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRule {
    pub query: QueryKey,
    /// Sorted by name.
    pub headers: Box<[HeaderName]>,
    /// Sorted.
    pub cookies: Box<[Box<str>]>,
    /// `origin_headers`: forwarded but not keyed (CloudFront's origin
    /// request policy), an explicit opt-in for headers the origin needs but
    /// does not vary on. Sorted by name.
    pub forward_only: Box<[HeaderName]>,
}

impl KeyRule {
    /// S3 routes: the object key alone.
    pub fn s3() -> KeyRule {
        KeyRule {
            query: QueryKey::None,
            headers: Box::new([]),
            cookies: Box::new([]),
            forward_only: Box::new([]),
        }
    }

    /// HTTP routes by default: path and the whole query.
    pub fn http() -> KeyRule {
        KeyRule {
            query: QueryKey::All,
            ..KeyRule::s3()
        }
    }

    /// The request's own path and query is the key (borrowed on a hit).
    pub fn is_plain(&self) -> bool {
        self.query == QueryKey::All && self.headers.is_empty() && self.cookies.is_empty()
    }

    /// The cache key of an HTTP request: its keyed path and query, then
    /// its keyed headers and cookies.
    pub fn key<'r>(&self, path: &'r str, path_and_query: &'r str, headers: &HeaderMap) -> Cow<'r, str> {
        if self.is_plain() {
            return Cow::Borrowed(path_and_query);
        }
        let mut key = self.path_and_query(path, path_and_query).into_owned();
        for name in &self.headers {
            for value in headers.get_all(name) {
                key.push_str("\0h");
                key.push_str(name.as_str());
                key.push(':');
                // Forwarded as sent, so keyed as sent: bytes that are not
                // visible ASCII as a NUL-marked hex string (never a value),
                // not a lossy text two different values would share.
                match value.to_str() {
                    Ok(v) => key.push_str(v),
                    Err(_) => {
                        key.push_str("\0x");
                        key.push_str(&hex::encode(value.as_bytes()));
                    }
                }
            }
        }
        for (name, value) in self.keyed_cookies(headers) {
            key.push_str("\0c");
            key.push_str(name);
            key.push('=');
            key.push_str(value);
        }
        Cow::Owned(key)
    }

    /// The path and query that is keyed and sent: the whole query, none,
    /// or only the named parameters, sorted by name (a stable order, so
    /// equivalent requests share one key).
    pub fn path_and_query<'r>(&self, path: &'r str, path_and_query: &'r str) -> Cow<'r, str> {
        match &self.query {
            QueryKey::All => Cow::Borrowed(path_and_query),
            QueryKey::None => Cow::Borrowed(path),
            QueryKey::Names(names) => {
                let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
                let mut kept: Vec<&str> = query
                    .split('&')
                    .filter(|p| names.iter().any(|n| **n == *p.split('=').next().unwrap_or("")))
                    .collect();
                if kept.is_empty() {
                    return Cow::Borrowed(path);
                }
                kept.sort_by_key(|p| p.split('=').next().unwrap_or(""));
                Cow::Owned(format!("{path}?{}", kept.join("&")))
            }
        }
    }

    /// Adds to `out` the keyed headers of `request`, exactly as keyed, and
    /// a `Cookie` of the keyed cookies only.
    pub fn forward(&self, request: &HeaderMap, out: &mut HeaderMap) {
        for name in self.headers.iter().chain(&self.forward_only) {
            for value in request.get_all(name) {
                out.append(name.clone(), value.clone());
            }
        }
        let cookies: Vec<String> = self
            .keyed_cookies(request)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if let Ok(v) = HeaderValue::from_str(&cookies.join("; "))
            && !cookies.is_empty()
        {
            out.insert(header::COOKIE, v);
        }
    }

    /// A response's `Vary` reduced to the request headers this route sends
    /// (`http`: an HTTP origin; S3 is sent none): a header the origin never
    /// saw cannot have shaped the response, so every client gets the same
    /// for it, and keeping it would make each value a miss of its own.
    /// `Cookie` goes too: the origin saw only the keyed cookies, which the
    /// primary key holds already (and the client's whole `Cookie` would
    /// never equal what was sent). `Host` too: the origin is sent the
    /// client's only on `preserve_host` routes, where it is in the primary
    /// key already (`CacheKey::with_host`); elsewhere it is sent its own,
    /// and a client's `Host` (or HTTP/2's `:authority`, which is no header)
    /// never equals what the fill request had. Used at fill time to build
    /// the secondary key (`cache::vary`).
    pub fn sent_vary(&self, response: &HeaderMap, http: bool) -> HeaderMap {
        let mut kept: Vec<&str> = Vec::new();
        for value in response.get_all(header::VARY) {
            let Ok(text) = value.to_str() else { continue };
            for name in text.split(',').map(str::trim) {
                let sent = name == "*"
                    || (http
                        && (self
                            .headers
                            .iter()
                            .chain(&self.forward_only)
                            .any(|h| h.as_str().eq_ignore_ascii_case(name))
                            || ["accept-encoding", "via"].iter().any(|n| n.eq_ignore_ascii_case(name))));
                if sent {
                    kept.push(name);
                }
            }
        }
        let mut out = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&kept.join(", "))
            && !kept.is_empty()
        {
            out.insert(header::VARY, v);
        }
        out
    }

    /// The keyed cookies a request carries, in the rule's order (the first
    /// of each name).
    fn keyed_cookies<'h>(&'h self, headers: &'h HeaderMap) -> impl Iterator<Item = (&'h str, &'h str)> {
        let pairs: Vec<(&str, &str)> = if self.cookies.is_empty() {
            Vec::new()
        } else {
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|p| p.trim().split_once('='))
                .collect()
        };
        self.cookies
            .iter()
            .filter_map(move |name| pairs.iter().find(|(n, _)| *n == &**name).map(|(n, v)| (*n, *v)))
    }
}

/// The path and query of an HTTP route's key: what is sent to the origin.
pub fn sent_path_and_query(key: &str) -> &str {
    key.split('\0').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::map;

    fn rule(query: QueryKey, headers: &[&str], cookies: &[&str]) -> KeyRule {
        KeyRule {
            query,
            headers: headers
                .iter()
                .map(|h| HeaderName::from_bytes(h.as_bytes()).unwrap())
                .collect(),
            cookies: cookies.iter().map(|c| Box::from(*c)).collect(),
            forward_only: Box::new([]),
        }
    }

    #[test]
    fn plain_rule_borrows_the_request_target() {
        let k = KeyRule::http().key("/a", "/a?x=1", &map(&[("cookie", "s=1")]));
        assert!(matches!(k, Cow::Borrowed("/a?x=1")));
    }

    #[test]
    fn query_names_keep_only_those_in_a_stable_order() {
        let r = rule(QueryKey::Names(Box::new(["b".into(), "a".into()])), &[], &[]);
        assert_eq!(r.path_and_query("/p", "/p?z=9&b=2&a=1&b=3"), "/p?a=1&b=2&b=3");
        assert_eq!(r.path_and_query("/p", "/p?z=9"), "/p");
        assert_eq!(rule(QueryKey::None, &[], &[]).path_and_query("/p", "/p?a=1"), "/p");
    }

    #[test]
    fn keyed_headers_and_cookies_are_keyed_and_forwarded_alike() {
        let r = rule(QueryKey::All, &["x-v"], &["sid"]);
        let req = map(&[("x-v", "1"), ("cookie", "a=9; sid=abc"), ("x-other", "no")]);
        assert_eq!(r.key("/p", "/p", &req), "/p\0hx-v:1\0csid=abc");
        let mut out = HeaderMap::new();
        r.forward(&req, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out["cookie"], "sid=abc");
        assert_eq!(out["x-v"], "1");
        assert_eq!(r.key("/p", "/p", &HeaderMap::new()), "/p");
        assert_eq!(sent_path_and_query("/p?q\0hx-v:1"), "/p?q");
    }

    #[test]
    fn header_values_that_are_not_text_are_keyed_by_their_bytes() {
        let r = rule(QueryKey::All, &["x-v"], &[]);
        let with = |bytes: &[u8]| {
            let mut h = HeaderMap::new();
            h.insert("x-v", HeaderValue::from_bytes(bytes).unwrap());
            r.key("/p", "/p", &h).into_owned()
        };
        let keys = [with(b"\xff"), with(b"\xfe"), with("\u{fffd}".as_bytes()), with(b"ff")];
        for (i, a) in keys.iter().enumerate() {
            assert!(keys[i + 1..].iter().all(|b| a != b), "{keys:?}");
        }
    }

    #[test]
    fn vary_keeps_only_what_the_origin_was_sent() {
        let r = rule(QueryKey::All, &["x-v"], &[]);
        let resp = map(&[("vary", "Origin, X-V, Host"), ("vary", "Accept-Encoding, Cookie")]);
        assert_eq!(r.sent_vary(&resp, true)["vary"], "X-V, Accept-Encoding");
        assert!(r.sent_vary(&resp, false).is_empty());
        assert_eq!(r.sent_vary(&map(&[("vary", "*")]), false)["vary"], "*");
    }
}
