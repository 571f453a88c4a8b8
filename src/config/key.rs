//! Validation of a route's `key = { query, headers, cookies }`: what of a
//! request is part of the cache key and forwarded to the origin (see
//! `route::key`). S3 routes key the object key alone; HTTP routes default
//! to the path and the whole query.

use http::HeaderName;
use toml::Spanned;

use super::raw::{RawQueryKey, RawRoute};
use super::validate::Checker;
use crate::route::{KeyRule, QueryKey};

/// Request headers a route may not key: the edge owns them (framing,
/// connection, its conditionals and ranges, `Host` — see `preserve_host`,
/// `Accept-Encoding` — normalised by the edge), or they have their own list
/// (`Cookie`: `key.cookies`).
const NOT_KEYABLE: [&str; 21] = [
    "content-length",
    "transfer-encoding",
    "te",
    "trailer",
    "expect",
    "upgrade",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "host",
    "cookie",
    "accept-encoding",
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "via",
];

pub(super) fn key_rule(c: &mut Checker<'_>, key: &dyn Fn(&str) -> String, raw: &RawRoute, s3: bool) -> KeyRule {
    let default = if s3 { KeyRule::s3() } else { KeyRule::http() };
    let Some(k) = &raw.key else {
        return default;
    };
    let k_raw = k.get_ref();
    let query = match &k_raw.query {
        None => default.query,
        Some(q) => query_key(c, &key("key.query"), q),
    };
    let headers = header_names(c, &key("key.headers"), k_raw.headers.as_deref().unwrap_or_default());
    let cookies = cookie_names(c, &key("key.cookies"), k_raw.cookies.as_deref().unwrap_or_default());
    let rule = KeyRule {
        query,
        headers,
        cookies,
    };
    if s3 && rule != KeyRule::s3() {
        c.err::<()>(
            &key("key"),
            "S3 routes key the object key alone (query \"none\", no headers or cookies)",
            k.span(),
        );
    }
    rule
}

fn query_key(c: &mut Checker<'_>, key: &str, q: &Spanned<RawQueryKey>) -> QueryKey {
    match q.get_ref() {
        RawQueryKey::Mode(m) if m == "all" => QueryKey::All,
        RawQueryKey::Mode(m) if m == "none" => QueryKey::None,
        RawQueryKey::Mode(m) => {
            c.err::<()>(
                key,
                format!("unknown {m:?}; use \"all\", \"none\" or a list of names"),
                q.span(),
            );
            QueryKey::All
        }
        RawQueryKey::Names(names) => {
            if names
                .iter()
                .any(|n| n.is_empty() || n.contains(['&', '=', '#', '?', ' ']))
            {
                c.err::<()>(
                    key,
                    "parameter names are non-empty and hold no '&', '=', '#', '?' or space",
                    q.span(),
                );
            }
            let mut names: Vec<Box<str>> = names.iter().map(|n| n.as_str().into()).collect();
            names.sort();
            names.dedup();
            QueryKey::Names(names.into())
        }
    }
}

fn header_names(c: &mut Checker<'_>, key: &str, names: &[Spanned<String>]) -> Box<[HeaderName]> {
    let mut out = Vec::new();
    for n in names {
        match HeaderName::from_bytes(n.get_ref().as_bytes()) {
            Ok(name) if NOT_KEYABLE.contains(&name.as_str()) => {
                c.err::<()>(
                    key,
                    format!("{:?} is the edge's own (cookies: use key.cookies)", n.get_ref()),
                    n.span(),
                );
            }
            Ok(name) => out.push(name),
            Err(_) => {
                c.err::<()>(key, format!("{:?} is not a header name", n.get_ref()), n.span());
            }
        }
    }
    out.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    out.dedup();
    out.into()
}

fn cookie_names(c: &mut Checker<'_>, key: &str, names: &[Spanned<String>]) -> Box<[Box<str>]> {
    let mut out: Vec<Box<str>> = Vec::new();
    for n in names {
        let name = n.get_ref();
        // RFC 6265 §4.1.1: a cookie name is an RFC 9110 token.
        if HeaderName::from_bytes(name.as_bytes()).is_err() || name.is_empty() {
            c.err::<()>(key, format!("{name:?} is not a cookie name"), n.span());
        } else {
            out.push(name.as_str().into());
        }
    }
    out.sort();
    out.dedup();
    out.into()
}
