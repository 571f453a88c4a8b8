//! A route's `headers = {…}` and `cors = {…}` (response headers policy).

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use toml::Spanned;

use super::raw::{RawCors, RawRoute};
use super::validate::Checker;
use crate::cors::{AllowHeaders, AllowOrigins, Cors};

/// Headers the edge owns: a route may not set them.
const RESERVED: [&str; 8] = [
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "age",
    "x-cache",
    "via",
    "vary",
];

pub(super) fn headers(
    c: &mut Checker<'_>,
    key: &dyn Fn(&str) -> String,
    raw: &RawRoute,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for (name, value) in raw.headers.iter().flatten() {
        let k = key(&format!("headers.{name}"));
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            c.err::<()>(&k, "not a valid header name", value.span());
            continue;
        };
        if RESERVED.contains(&header.as_str()) || header.as_str().starts_with("access-control-") {
            c.err::<()>(&k, "is set by the edge (use `cors` for Access-Control-*)", value.span());
            continue;
        }
        match HeaderValue::from_str(value.get_ref()) {
            Ok(v) => out.push((header, v)),
            Err(_) => c.err::<()>(&k, "not a valid header value", value.span()).unwrap_or(()),
        }
    }
    out
}

fn list(c: &mut Checker<'_>, key: &str, items: &Option<Vec<Spanned<String>>>) -> Option<HeaderValue> {
    let items = items.as_ref()?;
    if items.is_empty() {
        return None;
    }
    let joined = items
        .iter()
        .map(|s| s.get_ref().as_str())
        .collect::<Vec<_>>()
        .join(", ");
    for item in items {
        if HeaderName::from_bytes(item.get_ref().as_bytes()).is_err() && item.get_ref() != "*" {
            c.err::<()>(key, format!("{:?} is not a header name", item.get_ref()), item.span());
        }
    }
    HeaderValue::from_str(&joined).ok()
}

pub(super) fn cors(c: &mut Checker<'_>, key: &dyn Fn(&str) -> String, raw: &Spanned<RawCors>) -> Option<Cors> {
    let r = raw.get_ref();
    let k = |f: &str| key(&format!("cors.{f}"));
    let origins = if r.allow_origins.iter().any(|o| o.get_ref() == "*") {
        AllowOrigins::Any
    } else {
        for o in &r.allow_origins {
            let uri = o.get_ref().parse::<http::Uri>();
            let ok = uri.is_ok_and(|u| {
                u.scheme().is_some() && u.host().is_some() && u.path() == "/" && !o.get_ref().ends_with('/')
            });
            if !ok {
                c.err::<()>(
                    &k("allow_origins"),
                    format!(
                        "{:?} is not an origin; use e.g. \"https://www.example.com\"",
                        o.get_ref()
                    ),
                    o.span(),
                );
            }
        }
        AllowOrigins::List(
            r.allow_origins
                .iter()
                .map(|o| o.get_ref().to_ascii_lowercase())
                .collect(),
        )
    };
    if r.allow_origins.is_empty() {
        c.err::<()>(
            &k("allow_origins"),
            "must list at least one origin (or \"*\")",
            raw.span(),
        );
    }
    let methods = match &r.allow_methods {
        None => vec!["GET".to_string(), "HEAD".to_string()],
        Some(m) => m
            .iter()
            .filter_map(|s| match Method::from_bytes(s.get_ref().as_bytes()) {
                Ok(m) => Some(m.as_str().to_string()),
                Err(_) => c.err(
                    &k("allow_methods"),
                    format!("{:?} is not a method", s.get_ref()),
                    s.span(),
                ),
            })
            .collect(),
    };
    let allow_headers = if r.allow_headers.iter().flatten().any(|h| h.get_ref() == "*") {
        AllowHeaders::Any
    } else {
        AllowHeaders::List(list(c, &k("allow_headers"), &r.allow_headers))
    };
    let expose_headers = list(c, &k("expose_headers"), &r.expose_headers);
    let max_age = r.max_age.as_ref().map(|_| {
        let d = c.duration(&k("max_age"), &r.max_age, Duration::ZERO);
        HeaderValue::from(d.as_secs())
    });
    Some(Cors {
        origins,
        allow_methods: HeaderValue::from_str(&methods.join(", ")).ok()?,
        allow_headers,
        expose_headers,
        max_age,
        allow_credentials: r.allow_credentials.unwrap_or(false),
    })
}
