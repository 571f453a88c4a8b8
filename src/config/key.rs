//! Validation of a route's `key = { query, headers, cookies }`: what of a
//! request is part of the cache key and forwarded to the origin (see
//! `route::key`), and of `origin_headers`, forwarded but not keyed. S3 routes key the object key alone; HTTP routes default
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
    let forward_only = header_names(
        c,
        &key("origin_headers"),
        raw.origin_headers.as_deref().unwrap_or_default(),
    );
    if s3 && !forward_only.is_empty() {
        c.err::<()>(
            &key("origin_headers"),
            "S3 origins are sent no client headers",
            raw.path.span(),
        );
    }
    let Some(k) = &raw.key else {
        return KeyRule {
            forward_only,
            ..default
        };
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
        forward_only: Box::new([]),
    };
    if s3 && rule != KeyRule::s3() {
        c.err::<()>(
            &key("key"),
            "S3 routes key the object key alone (query \"none\", no headers or cookies)",
            k.span(),
        );
    }
    for name in raw.origin_headers.as_deref().unwrap_or_default() {
        if rule
            .headers
            .iter()
            .any(|h| h.as_str().eq_ignore_ascii_case(name.get_ref()))
        {
            c.err::<()>(
                &key("origin_headers"),
                format!(
                    "{:?} is keyed (key.headers), and so forwarded already: list it once",
                    name.get_ref()
                ),
                name.span(),
            );
        }
    }
    KeyRule { forward_only, ..rule }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;
    use crate::route::{KeyRule, QueryKey};

    fn config(origin: &str, key: &str) -> String {
        let origin = match origin {
            "s3" => "kind = \"s3\"\nbucket = \"b\"",
            _ => "kind = \"http\"\nurl = \"http://127.0.0.1:1\"",
        };
        format!("[origins.o]\n{origin}\n\n[[routes]]\npath = \"/a/\"\norigin = \"o\"\n{key}\n")
    }

    fn rule(origin: &str, key: &str) -> KeyRule {
        let cfg = Config::parse(&config(origin, key), Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
        cfg.routes[0].key.clone()
    }

    fn errors(origin: &str, key: &str) -> String {
        match Config::parse(&config(origin, key), Path::new(".")) {
            Ok(_) => panic!("accepted: {key}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_and_lists() {
        assert_eq!(rule("s3", ""), KeyRule::s3());
        assert_eq!(rule("http", ""), KeyRule::http());
        let r = rule(
            "http",
            r#"key = { query = ["b", "a", "b"], headers = ["X-B", "x-a"], cookies = ["sid"] }"#,
        );
        assert_eq!(r.query, QueryKey::Names(Box::new(["a".into(), "b".into()])));
        assert_eq!(r.headers.iter().map(|h| h.as_str()).collect::<Vec<_>>(), ["x-a", "x-b"]);
        assert_eq!(&*r.cookies, [Box::<str>::from("sid")]);
        assert_eq!(rule("http", r#"key = { query = "none" }"#).query, QueryKey::None);
        assert_eq!(rule("s3", r#"key = { query = "none" }"#), KeyRule::s3());
        let r = rule("http", r#"origin_headers = ["Req-Num"]"#);
        assert_eq!((r.forward_only.len(), r.headers.len()), (1, 0));
    }

    #[test]
    fn refusals_name_the_key_and_line() {
        let e = errors("http", r#"key = { query = "some" }"#);
        assert!(
            e.contains("routes[0].key.query") && e.contains("line 8, column 17"),
            "{e}"
        );
        for header in ["Cookie", "Content-Length", "Host", "Accept-Encoding", "bad header"] {
            let e = errors("http", &format!("key = {{ headers = [{header:?}] }}"));
            assert!(e.contains("routes[0].key.headers"), "{header}: {e}");
        }
        let e = errors("http", r#"key = { cookies = ["a;b"] }"#);
        assert!(e.contains("routes[0].key.cookies"), "{e}");
        let e = errors("s3", r#"key = { query = "all" }"#);
        assert!(e.contains("routes[0].key") && e.contains("S3 routes"), "{e}");
        let e = errors("http", "key = { headers = [\"X-A\"] }\norigin_headers = [\"x-a\"]");
        assert!(
            e.contains("routes[0].origin_headers") && e.contains("list it once"),
            "{e}"
        );
        let e = errors("http", r#"key = { query = "all", vary = [] }"#);
        assert!(e.contains("vary"), "{e}");
    }
}
