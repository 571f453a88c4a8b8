//! Raw config -> validated `Config`, collecting every semantic error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use http::Uri;
use toml::Spanned;

use super::origin_files::{ca_certs, origin_max_fills};
use super::raw::{RawCache, RawConfig, RawOrigin};
use super::{
    CacheConfig, Config, ConfigError, ConfigErrors, HttpOriginConfig, OriginConfig, OriginKind, RouteConfig,
    S3Credentials, S3OriginConfig, WarmConfig,
};

/// CloudFront's origin defaults.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Origin fills at once: far above what a healthy origin needs, low enough
/// that 256 x `max_object_size` bounds the memory buffered from origins.
const DEFAULT_MAX_FILLS: usize = 256;
/// Longest `cache.hit_for_miss`: past this a marker only delays coalescing.
const MAX_HIT_FOR_MISS: Duration = Duration::from_secs(3600);
/// moka weighs entries in `u32`, and one object must fit in one weight.
const MAX_OBJECT_SIZE_LIMIT: u64 = 1 << 31;

/// Collects errors while turning raw values into trusted ones.
pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
    pub(super) errors: Vec<ConfigError>,
}

impl Checker<'_> {
    pub(super) fn err<T>(&mut self, key: &str, msg: impl Into<String>, span: std::ops::Range<usize>) -> Option<T> {
        self.errors.push(ConfigError::at(key, msg, span, self.text));
        None
    }

    pub(super) fn duration(&mut self, key: &str, v: &Option<Spanned<String>>, default: Duration) -> Duration {
        match v {
            None => default,
            Some(s) => match humantime::parse_duration(s.get_ref()) {
                Ok(d) => d,
                Err(e) => self
                    .err(
                        key,
                        format!(
                            "invalid duration {:?} ({e}); use e.g. \"10s\", \"5m\", \"1d\"",
                            s.get_ref()
                        ),
                        s.span(),
                    )
                    .unwrap_or(default),
            },
        }
    }

    pub(super) fn size(&mut self, key: &str, v: &Option<Spanned<String>>, default: u64) -> u64 {
        match v {
            None => default,
            Some(s) => match bytesize::ByteSize::from_str(s.get_ref()) {
                Ok(b) => b.as_u64(),
                Err(e) => self
                    .err(
                        key,
                        format!("invalid size {:?} ({e}); use e.g. \"512MiB\"", s.get_ref()),
                        s.span(),
                    )
                    .unwrap_or(default),
            },
        }
    }

    pub(super) fn addr(&mut self, key: &str, v: &Option<Spanned<String>>, default: &str) -> Option<SocketAddr> {
        match v {
            None => Some(default.parse().expect("default address parses")),
            Some(s) => match s.get_ref().parse() {
                Ok(a) => Some(a),
                Err(_) => self.err(
                    key,
                    format!("invalid socket address {:?}; use e.g. \"127.0.0.1:8080\"", s.get_ref()),
                    s.span(),
                ),
            },
        }
    }
}

pub fn validate(raw: RawConfig, text: &str, base_dir: &Path) -> Result<Config, ConfigErrors> {
    let mut c = Checker {
        text,
        errors: Vec::new(),
    };

    let server = super::server::server_config(&mut c, &raw.server, base_dir);
    let cache = cache_config(&mut c, &raw.cache);

    let mut origins = BTreeMap::new();
    for (name, origin) in &raw.origins {
        if let Some(o) = origin_config(&mut c, name, origin, base_dir, cache.max_fills) {
            origins.insert(name.clone(), o);
        }
    }

    let cloudfront_compat = server.as_ref().is_some_and(|s| s.cloudfront_compat);
    let mut routes: Vec<RouteConfig> = Vec::new();
    for (i, route) in raw.routes.iter().enumerate() {
        if let Some(r) = super::route::route_config(&mut c, i, route, &raw.origins, cloudfront_compat) {
            if routes.iter().any(|other| other.path == r.path) {
                c.err::<()>(
                    &format!("routes[{i}].path"),
                    format!("duplicate route path {:?}", r.path),
                    route.get_ref().path.span(),
                );
            }
            routes.push(r);
        }
    }
    // A route without its own names checks signed URLs against the server's.
    if let Some(server) = &server {
        for r in routes.iter_mut().filter(|r| r.hostnames.is_empty()) {
            r.hostnames = server.hostnames.clone();
        }
    }
    if raw.routes.is_empty() {
        c.errors.push(ConfigError::plain(
            "no [[routes]]: the edge would answer 404 to everything".into(),
        ));
    }

    let trusted_keys = super::trusted_keys::trusted_keys(&mut c, raw.trusted_keys.as_ref(), base_dir);
    for (i, route) in raw.routes.iter().enumerate() {
        if let Some(s) = &route.get_ref().signed
            && *s.get_ref()
            && trusted_keys.keys.is_empty()
        {
            c.err::<()>(
                &format!("routes[{i}].signed"),
                "needs at least one key in [trusted_keys]",
                s.span(),
            );
        }
    }
    let warm = raw.warm.as_ref().map(|w| {
        let r = w.get_ref();
        let manifest = r.manifest.get_ref().clone();
        if !manifest.starts_with('/') || manifest.ends_with('/') {
            c.err::<()>(
                "warm.manifest",
                "must be a URL path such as \"/static/staticfiles.json\"",
                r.manifest.span(),
            );
        } else if !routes.iter().any(|rt| manifest.starts_with(&rt.path)) {
            c.err::<()>("warm.manifest", "no route serves this path", r.manifest.span());
        }
        let concurrency = match &r.concurrency {
            None => crate::warm::DEFAULT_CONCURRENCY,
            Some(n) if (1..=256).contains(n.get_ref()) => *n.get_ref() as usize,
            Some(n) => c
                .err("warm.concurrency", "must be between 1 and 256", n.span())
                .unwrap_or(1),
        };
        WarmConfig {
            manifest,
            concurrency,
            ready_after_warm: r.ready_after_warm.unwrap_or(false),
        }
    });

    if !c.errors.is_empty() {
        return Err(ConfigErrors {
            file: None,
            errors: c.errors,
        });
    }
    Ok(Config {
        server: server.expect("no errors"),
        cache,
        origins,
        routes,
        warm,
        trusted_keys,
        source: None,
    })
}

/// `[cache]`.
fn cache_config(c: &mut Checker<'_>, raw: &RawCache) -> CacheConfig {
    let capacity = c.size("cache.capacity", &raw.capacity, 512 << 20);
    let max_object_size = c.size("cache.max_object_size", &raw.max_object_size, 32 << 20);
    let keep = c.duration("cache.keep", &raw.keep, Duration::from_secs(3600));
    let max_fills = match &raw.max_fills {
        None => DEFAULT_MAX_FILLS,
        Some(n) if (1..=65_536).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => c
            .err("cache.max_fills", "must be between 1 and 65536", n.span())
            .unwrap_or(DEFAULT_MAX_FILLS),
    };
    let hit_for_miss = c.duration(
        "cache.hit_for_miss",
        &raw.hit_for_miss,
        crate::cache::store::HIT_FOR_MISS,
    );
    if let Some(s) = &raw.hit_for_miss
        && hit_for_miss > MAX_HIT_FOR_MISS
    {
        c.err::<()>("cache.hit_for_miss", "must be at most 1h", s.span());
    }
    if let Some(s) = &raw.max_object_size
        && max_object_size >= MAX_OBJECT_SIZE_LIMIT
    {
        c.err::<()>("cache.max_object_size", "must be below 2GiB", s.span());
    }
    CacheConfig {
        capacity,
        max_object_size,
        keep,
        max_fills,
        hit_for_miss,
    }
}

/// `node_fills`: `cache.max_fills`, the ceiling of every origin's.
fn origin_config(
    c: &mut Checker<'_>,
    name: &str,
    o: &Spanned<RawOrigin>,
    base_dir: &Path,
    node_fills: usize,
) -> Option<OriginConfig> {
    let key = |field: &str| format!("origins.{name}.{field}");
    let raw = o.get_ref();
    let max_fills = origin_max_fills(c, &key("max_fills"), raw.max_fills.as_ref(), node_fills);
    let connect_timeout = c.duration(&key("connect_timeout"), &raw.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    let response_timeout = c.duration(
        &key("response_timeout"),
        &raw.response_timeout,
        DEFAULT_RESPONSE_TIMEOUT,
    );
    let kind = match raw.kind.get_ref().as_str() {
        "s3" => {
            for (field, v) in [
                ("url", &raw.url),
                ("idle_timeout", &raw.idle_timeout),
                ("ca_file", &raw.ca_file),
            ] {
                if let Some(v) = v {
                    c.err::<()>(&key(field), "not a key of an s3 origin", v.span());
                }
            }
            let bucket = match &raw.bucket {
                Some(b) if !b.get_ref().is_empty() => Some(b.get_ref().clone()),
                Some(b) => c.err(&key("bucket"), "must not be empty", b.span()),
                None => c.err(&key("kind"), "an s3 origin needs `bucket`", o.span()),
            };
            let dev_root = raw.dev_root.as_ref().map(|d| base_dir.join(d.get_ref()));
            if let (Some(root), Some(d), Some(b)) = (&dev_root, &raw.dev_root, &bucket)
                && !root.join(b).is_dir()
            {
                c.err::<()>(
                    &key("dev_root"),
                    format!("{} has no bucket directory {b:?}", root.display()),
                    d.span(),
                );
            }
            let credentials = match &raw.credentials {
                None if dev_root.is_some() => S3Credentials::Dev,
                None => S3Credentials::Chain,
                Some(s) => match s.get_ref().as_str() {
                    "chain" => S3Credentials::Chain,
                    "dev" => S3Credentials::Dev,
                    other => c
                        .err(
                            &key("credentials"),
                            format!("unknown credentials {other:?}; use \"chain\" or \"dev\""),
                            s.span(),
                        )
                        .unwrap_or(S3Credentials::Chain),
                },
            };
            if let Some(e) = &raw.endpoint
                && e.get_ref()
                    .parse::<Uri>()
                    .map_or(true, |u| u.scheme().is_none() || u.host().is_none())
            {
                c.err::<()>(
                    &key("endpoint"),
                    format!("invalid endpoint URL {:?}", e.get_ref()),
                    e.span(),
                );
            }
            OriginKind::S3(S3OriginConfig {
                bucket: bucket?,
                region: raw
                    .region
                    .as_ref()
                    .map_or_else(|| "us-east-1".to_string(), |r| r.get_ref().clone()),
                endpoint: raw.endpoint.as_ref().map(|e| e.get_ref().clone()),
                force_path_style: raw.force_path_style.unwrap_or(dev_root.is_some()),
                dev_root,
                credentials,
            })
        }
        "http" => {
            for (field, v) in [
                ("bucket", &raw.bucket),
                ("region", &raw.region),
                ("endpoint", &raw.endpoint),
                ("dev_root", &raw.dev_root),
                ("credentials", &raw.credentials),
            ] {
                if let Some(v) = v {
                    c.err::<()>(&key(field), "not a key of an http origin", v.span());
                }
            }
            let url = match &raw.url {
                None => c.err(&key("kind"), "an http origin needs `url`", o.span()),
                Some(u) => match u.get_ref().parse::<Uri>() {
                    Ok(uri)
                        if matches!(uri.scheme_str(), Some("http" | "https"))
                            && uri.host().is_some()
                            && uri.query().is_none() =>
                    {
                        Some(uri)
                    }
                    _ => c.err(
                        &key("url"),
                        format!(
                            "invalid origin URL {:?}; use e.g. \"http://127.0.0.1:8000\"",
                            u.get_ref()
                        ),
                        u.span(),
                    ),
                },
            };
            let idle_timeout = c.duration(&key("idle_timeout"), &raw.idle_timeout, Duration::from_secs(60));
            // Checked before `url?` returns, so both errors are reported.
            let ca_certs = match &raw.ca_file {
                Some(f) => ca_certs(c, &key("ca_file"), f, base_dir),
                None => Some(Vec::new()),
            };
            OriginKind::Http(HttpOriginConfig {
                url: url?,
                ca_certs: ca_certs?,
                preserve_host: raw.preserve_host.unwrap_or(false),
                idle_timeout,
                resolver: None,
            })
        }
        other => {
            return c.err(
                &key("kind"),
                format!("unknown origin kind {other:?}; use \"s3\" or \"http\""),
                raw.kind.span(),
            );
        }
    };
    Some(OriginConfig {
        name: name.to_string(),
        kind,
        connect_timeout,
        response_timeout,
        max_fills,
    })
}
