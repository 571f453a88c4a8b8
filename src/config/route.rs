//! Validation of `[[routes]]`: path, origin, keys, client and edge
//! caching policy, slicing, and the per-route options other modules check.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use toml::Spanned;

use super::raw::{RawOrigin, RawRoute, RawTtl};
use super::validate::Checker;
use super::{RouteConfig, TtlBounds};
use crate::route::RoutePolicy;

const DEFAULT_ERROR_TTL: Duration = Duration::from_secs(10);

pub(super) fn route_config(
    c: &mut Checker<'_>,
    i: usize,
    r: &Spanned<RawRoute>,
    origins: &BTreeMap<String, Spanned<RawOrigin>>,
    cloudfront_compat: bool,
) -> Option<RouteConfig> {
    let key = |field: &str| format!("routes[{i}].{field}");
    let raw = r.get_ref();
    let path = raw.path.get_ref();
    let path_ok = path.starts_with('/') && path.ends_with('/') && !path.contains(['?', '#', '%', '\\']);
    if !path_ok {
        c.err::<()>(
            &key("path"),
            format!("{path:?} must start and end with '/' and hold no '?', '#', '%' or '\\'"),
            raw.path.span(),
        );
    }
    if !origins.contains_key(raw.origin.get_ref()) {
        c.err::<()>(
            &key("origin"),
            format!("no origin named {:?} in [origins]", raw.origin.get_ref()),
            raw.origin.span(),
        );
    }
    let key_prefix = raw
        .key_prefix
        .as_ref()
        .map_or_else(String::new, |k| k.get_ref().clone());
    if key_prefix.starts_with('/') {
        c.err::<()>(
            &key("key_prefix"),
            "must not start with '/' (S3 keys have no leading slash)",
            raw.key_prefix.as_ref().expect("set").span(),
        );
    }
    let cache_control = match &raw.cache_control {
        None => None,
        Some(cc) => match HeaderValue::from_str(cc.get_ref()) {
            Ok(v) => Some(v),
            Err(_) => c.err(&key("cache_control"), "not a valid header value", cc.span()),
        },
    };
    let ttl = raw.ttl.as_ref().and_then(|t| ttl_bounds(c, &key("ttl"), t));
    // S3 answers 404 without any freshness, and a route with a CDN policy
    // wants a short one; a plain route follows RFC 9111 for 404s too.
    let s3_origin = origins
        .get(raw.origin.get_ref())
        .is_some_and(|o| o.get_ref().kind.get_ref() == "s3");
    let error_ttl = match &raw.error_ttl {
        Some(_) => Some(c.duration(&key("error_ttl"), &raw.error_ttl, DEFAULT_ERROR_TTL)),
        None if s3_origin || ttl.is_some() || cache_control.is_some() => Some(DEFAULT_ERROR_TTL),
        None => None,
    };
    let all_methods = match &raw.methods {
        None => false,
        Some(m) if m.get_ref() == "all" => {
            if s3_origin {
                c.err::<()>(&key("methods"), "\"all\" needs an http origin", m.span());
            }
            true
        }
        Some(m) if m.get_ref() == "get-head" => false,
        Some(m) => {
            c.err::<()>(
                &key("methods"),
                format!("unknown {:?}; use \"all\" or \"get-head\"", m.get_ref()),
                m.span(),
            );
            false
        }
    };
    let stale_while_revalidate = c.duration(
        &key("stale_while_revalidate"),
        &raw.stale_while_revalidate,
        Duration::ZERO,
    );
    let stale_if_error = c.duration(&key("stale_if_error"), &raw.stale_if_error, Duration::ZERO);
    let slice = match &raw.slice {
        None => None,
        Some(s) if s.get_ref() == "off" => None,
        Some(s) => {
            let size = c.size(&key("slice"), &raw.slice, 1 << 20);
            if !(64 << 10..=64 << 20).contains(&size) {
                c.err::<()>(&key("slice"), "must be between 64KiB and 64MiB (or \"off\")", s.span());
            }
            Some(size)
        }
    };
    let immutable = super::immutable::immutable(c, &key, raw, cache_control.as_ref());
    let headers = super::response_headers::headers(c, &key, raw);
    let cors = raw
        .cors
        .as_ref()
        .and_then(|cors| super::response_headers::cors(c, &key, cors));
    let key_rule = super::key::key_rule(c, &key, raw, s3_origin);
    if !path_ok {
        return None;
    }
    let hostnames = super::server::hostnames(c, &key("hostnames"), raw.hostnames.as_ref());
    if let Some(h) = &raw.hostnames
        && !raw.signed.as_ref().is_some_and(|s| *s.get_ref())
    {
        c.err::<()>(
            &key("hostnames"),
            "only signed routes use it; set `signed = true`",
            h.span(),
        );
    }
    Some(RouteConfig {
        hostnames,
        path: path.clone(),
        origin: raw.origin.get_ref().clone(),
        key_prefix,
        key: key_rule,
        signed: raw.signed.as_ref().is_some_and(|s| *s.get_ref()),
        policy: RoutePolicy {
            cache_control,
            ttl,
            error_ttl,
            compress: raw.compress.unwrap_or(true),
            zstd: !cloudfront_compat,
            all_methods,
            store_set_cookie: raw.store_set_cookie.unwrap_or(false),
            stale_while_revalidate,
            stale_if_error,
            slice,
            immutable,
            headers: headers.into(),
            cors: cors.map(Arc::new),
            error_pages: super::error_pages::error_pages(c, &key, raw).into(),
            signed: None,
            ttl_cap: None,
        },
    })
}

fn ttl_bounds(c: &mut Checker<'_>, key: &str, t: &Spanned<RawTtl>) -> Option<TtlBounds> {
    let raw = t.get_ref();
    let min = c.duration(&format!("{key}.min"), &raw.min, Duration::ZERO);
    let max = c.duration(&format!("{key}.max"), &raw.max, Duration::from_secs(365 * 86400));
    let default = c.duration(
        &format!("{key}.default"),
        &raw.default,
        Duration::from_secs(86400).clamp(min, max.max(min)),
    );
    if min > max || default < min || default > max {
        return c.err(key, "needs min <= default <= max", t.span());
    }
    Some(TtlBounds { min, default, max })
}
