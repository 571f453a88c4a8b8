//! The configuration file exactly as written: serde structs mirroring the TOML.
//!
//! Nothing here is trusted. Every value that needs checking is kept as a
//! `Spanned` string so that `validate` can name the key, line and column of
//! each mistake, and report all of them rather than the first.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub cache: RawCache,
    #[serde(default)]
    pub origins: BTreeMap<String, Spanned<RawOrigin>>,
    #[serde(default)]
    pub routes: Vec<Spanned<RawRoute>>,
    pub warm: Option<Spanned<RawWarm>>,
    /// CloudFront key-pair id -> public key PEM file.
    pub trusted_keys: Option<BTreeMap<String, Spanned<String>>>,
}

/// `[warm]`: fill a Django manifest's hashed paths at start-up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWarm {
    pub manifest: Spanned<String>,
    pub concurrency: Option<Spanned<i64>>,
    pub ready_after_warm: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<Spanned<String>>,
    pub admin_listen: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub workers: Option<Spanned<i64>>,
    // Serving at the edge: TLS, client address, drain (see `config::server`).
    pub tls_listen: Option<Spanned<String>>,
    pub tls_cert: Option<Spanned<String>>,
    pub tls_key: Option<Spanned<String>>,
    pub certs: Option<Vec<Spanned<RawCert>>>,
    pub trusted_proxies: Option<Vec<Spanned<String>>>,
    pub proxy_protocol: Option<bool>,
    pub tls_proxy_protocol: Option<bool>,
    pub drain_delay: Option<Spanned<String>>,
    pub drain_timeout: Option<Spanned<String>>,
    // Watching: access log, admin API key id, log format (see `config::watch`).
    pub access_log: Option<Spanned<String>>,
    pub access_log_buffer: Option<Spanned<i64>>,
    pub admin_key_id: Option<Spanned<String>>,
    // The admin listener's bounds (see `config::admin`).
    pub admin_timeout: Option<Spanned<String>>,
    pub admin_regions: Option<Spanned<Vec<Spanned<String>>>>,
    pub log_format: Option<Spanned<String>>,
    // Limits on clients (see `config::server`).
    pub header_read_timeout: Option<Spanned<String>>,
    pub keepalive_timeout: Option<Spanned<String>>,
    pub max_connections: Option<Spanned<i64>>,
    pub send_timeout: Option<Spanned<String>>,
    pub cloudfront_compat: Option<bool>,
    /// `/readyz` answers 503 until every S3 origin's start-up check passed.
    pub ready_when_origins_ok: Option<bool>,
    /// The site's names: what signed URLs are checked against.
    pub hostnames: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[[server.certs]]`: a certificate chosen by SNI.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCert {
    pub names: Vec<Spanned<String>>,
    pub cert: Spanned<String>,
    pub key: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    pub capacity: Option<Spanned<String>>,
    pub max_object_size: Option<Spanned<String>>,
    pub keep: Option<Spanned<String>>,
    pub max_fills: Option<Spanned<i64>>,
    pub hit_for_miss: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrigin {
    pub kind: Spanned<String>,
    // kind = "s3"
    pub bucket: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub endpoint: Option<Spanned<String>>,
    pub force_path_style: Option<bool>,
    pub dev_root: Option<Spanned<String>>,
    pub credentials: Option<Spanned<String>>,
    // kind = "http"
    pub url: Option<Spanned<String>>,
    pub preserve_host: Option<bool>,
    pub idle_timeout: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    // both
    pub connect_timeout: Option<Spanned<String>>,
    pub response_timeout: Option<Spanned<String>>,
    pub max_fills: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub path: Spanned<String>,
    pub origin: Spanned<String>,
    pub key_prefix: Option<Spanned<String>>,
    pub cache_control: Option<Spanned<String>>,
    pub ttl: Option<Spanned<RawTtl>>,
    pub error_ttl: Option<Spanned<String>>,
    pub compress: Option<bool>,
    pub methods: Option<Spanned<String>>,
    pub store_set_cookie: Option<bool>,
    pub stale_while_revalidate: Option<Spanned<String>>,
    pub stale_if_error: Option<Spanned<String>>,
    pub slice: Option<Spanned<String>>,
    // Django-aware (see `immutable`).
    pub immutable: Option<Spanned<String>>,
    pub cache_control_unhashed: Option<Spanned<String>>,
    pub hashed_pattern: Option<Spanned<String>>,
    // Response headers policy (see `cors`).
    pub headers: Option<BTreeMap<String, Spanned<String>>>,
    pub cors: Option<Spanned<RawCors>>,
    pub signed: Option<Spanned<bool>>,
    /// Replaces `server.hostnames` for this route's signed URLs.
    pub hostnames: Option<Spanned<Vec<Spanned<String>>>>,
    /// Status code -> custom error response (CloudFront's).
    pub error_pages: Option<BTreeMap<String, Spanned<RawErrorPage>>>,
    /// What of a request is keyed and forwarded (see `route::key`).
    pub key: Option<Spanned<RawKey>>,
    /// Request headers forwarded but not keyed (opt-in).
    pub origin_headers: Option<Vec<Spanned<String>>>,
}

/// `key = { query = "all" | "none" | [names], headers = [...], cookies = [...] }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub query: Option<Spanned<RawQueryKey>>,
    pub headers: Option<Vec<Spanned<String>>>,
    pub cookies: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawQueryKey {
    Mode(String),
    Names(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawErrorPage {
    pub path: Spanned<String>,
    pub status: Option<Spanned<i64>>,
    pub ttl: Option<Spanned<String>>,
}

/// `cors = { allow_origins = [...], ... }` of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCors {
    pub allow_origins: Vec<Spanned<String>>,
    pub allow_methods: Option<Vec<Spanned<String>>>,
    pub allow_headers: Option<Vec<Spanned<String>>>,
    pub expose_headers: Option<Vec<Spanned<String>>>,
    pub max_age: Option<Spanned<String>>,
    pub allow_credentials: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTtl {
    pub min: Option<Spanned<String>>,
    pub default: Option<Spanned<String>>,
    pub max: Option<Spanned<String>>,
}
