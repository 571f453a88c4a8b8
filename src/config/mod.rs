//! Configuration: TOML parsed into raw serde structs (`raw`), then validated
//! (`validate`) into the types below, which the rest of the program trusts.
//!
//! Relative paths resolve against the directory of the config file, so a
//! config works the same from any working directory.

mod admin;
mod error;
mod error_pages;
mod immutable;
mod key;
mod origin_files;
mod raw;
mod response_headers;
mod route;
mod server;
mod trusted_keys;
mod validate;
mod watch;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::Uri;

pub use error::{ConfigError, ConfigErrors};
pub use watch::{DEFAULT_ADMIN_KEY_ID, LogFormat};

/// The config bundled with the source tree: serves `examples/s3` through the
/// embedded dev origin.
pub const DEFAULT_PATH: &str = "config/cachefront.toml";

/// Fixed credentials of the embedded S3 dev origin (documented in the README;
/// they protect nothing and are only accepted by the dev origin).
pub const DEV_ACCESS_KEY: &str = "cachefront-dev";
pub const DEV_SECRET_KEY: &str = "cachefront-dev-secret";

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub cache: CacheConfig,
    pub origins: BTreeMap<String, OriginConfig>,
    pub routes: Vec<RouteConfig>,
    /// `[trusted_keys]`: what `signed = true` routes accept.
    pub trusted_keys: crate::signed::TrustedKeys,
    /// Warm-up at start-up (`[warm]`).
    pub warm: Option<WarmConfig>,
    /// The file this config was read from: what a reload reads again.
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub admin_listen: Option<SocketAddr>,
    /// Appears in `X-Cache: ... from <name>` and `Via: 1.1 <name>`.
    pub name: String,
    /// Runtime worker threads; `None`: one per core available to us.
    pub workers: Option<usize>,
    /// HTTPS listener (HTTP/1.1 and h2 by ALPN); needs `tls`.
    pub tls_listen: Option<SocketAddr>,
    pub tls: Option<TlsConfig>,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Expect a PROXY protocol (v1 or v2) header on `listen` / `tls_listen`.
    pub proxy_protocol: bool,
    pub tls_proxy_protocol: bool,
    /// After a shutdown signal: how long the listeners keep accepting while
    /// `/readyz` answers 503 (for load balancers to notice).
    pub drain_delay: Duration,
    /// Then: how long in-flight requests may take to finish.
    pub drain_timeout: Duration,
    /// CloudFront-format access log; `None`: off.
    pub access_log: Option<crate::access_log::Destination>,
    /// Access-log lines queued for the writer before new ones are dropped.
    pub access_log_buffer: usize,
    /// The access key id SigV4 requests to the admin API must use.
    pub admin_key_id: String,
    /// An admin request's head, then its body, must arrive within this.
    pub admin_timeout: Duration,
    /// The regions a SigV4 credential scope may name (default us-east-1).
    pub admin_regions: Vec<String>,
    pub log_format: LogFormat,
    /// The admin token (env `CACHEFRONT_ADMIN_TOKEN`, never the file):
    /// set by the CLI, or by whoever builds the config.
    pub admin_token: Option<String>,
    /// What one client may hold; read at start (a reload keeps them).
    pub limits: ClientLimits,
    /// Speak exactly like CloudFront (see `cloudfront`).
    pub cloudfront_compat: bool,
    /// `hostnames`: the site's names, what signed URLs and cookies are
    /// checked against; empty: the request's (well-formed) `Host`.
    pub hostnames: Vec<crate::host::Hostname>,
    /// `/readyz` answers 503 `origins` until every S3 origin's start-up
    /// check (`origin::check`) succeeded.
    pub ready_when_origins_ok: bool,
}

/// Bounds on what clients may hold of the node (slowloris, idle keep-alive,
/// connection floods). Request heads are bounded at 20 KiB and URLs at
/// 8 KiB in code (`connection`, `edge`): nginx's and CloudFront's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// An HTTP/1 client must send a whole request head within this.
    pub header_read_timeout: Duration,
    /// A connection with no request in flight and no bytes moving for this
    /// long is closed (HTTP/1 keep-alive and idle HTTP/2).
    pub keepalive_timeout: Duration,
    /// Connections served at once across the edge listeners; beyond it new
    /// connections wait in the listen backlog, existing ones are unaffected.
    pub max_connections: usize,
    /// A response with bytes waiting that the client takes none of for this
    /// long is aborted (nginx's `send_timeout`): HTTP/1 closes the
    /// connection, HTTP/2 sends GOAWAY and closes it.
    pub send_timeout: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            header_read_timeout: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(75),
            max_connections: 65_536,
            send_timeout: Duration::from_secs(60),
        }
    }
}

/// Certificates of the TLS listener: the default one, and others chosen by
/// the SNI name the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    pub default: CertPaths,
    pub sni: Vec<SniCert>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// PEM: the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniCert {
    /// Lower-case host names; `*.example.com` matches one label.
    pub names: Vec<String>,
    pub paths: CertPaths,
}

#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Bytes held: bodies plus headers.
    pub capacity: u64,
    /// Larger objects are streamed to the client and not cached.
    pub max_object_size: u64,
    /// How long past staleness an entry is kept for revalidation.
    pub keep: Duration,
    /// Origin fills running at once; more wait their turn. With
    /// `max_object_size` this bounds the bytes buffered from origins.
    pub max_fills: usize,
    /// How long a URL whose answer could not be shared fills without
    /// coalescing (Varnish's hit-for-miss); zero: never.
    pub hit_for_miss: Duration,
}

#[derive(Debug, Clone)]
pub struct OriginConfig {
    pub name: String,
    pub kind: OriginKind,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// Fills from this origin at once (within `cache.max_fills`).
    pub max_fills: usize,
}

#[derive(Debug, Clone)]
pub enum OriginKind {
    S3(S3OriginConfig),
    Http(HttpOriginConfig),
}

#[derive(Debug, Clone)]
pub struct S3OriginConfig {
    pub bucket: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub force_path_style: bool,
    /// Serve this directory of buckets through an embedded dev origin.
    pub dev_root: Option<PathBuf>,
    pub credentials: S3Credentials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Credentials {
    /// The standard AWS chain: environment, profile, web identity, IMDS.
    Chain,
    /// The fixed dev credentials, for the dev origin (embedded or standalone).
    Dev,
}

#[derive(Debug, Clone)]
pub struct HttpOriginConfig {
    /// `http[s]://host:port[/base]`; the request path is appended to the base.
    pub url: Uri,
    /// Certificates from `ca_file`, trusted for an https origin besides the
    /// system roots (read and checked at config time).
    pub ca_certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// Send the client's `Host` instead of the origin's.
    pub preserve_host: bool,
    /// How long an idle pooled connection to the origin is kept.
    pub idle_timeout: Duration,
    /// Resolves the origin's host name; `None`: the system resolver. Not a
    /// config key: set by programs that embed the node (tests use it to
    /// point names at loopback sockets without DNS).
    pub resolver: Option<crate::origin::Resolver>,
}

#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// URL path prefix, starting and ending with `/`.
    pub path: String,
    pub origin: String,
    /// Prepended to the decoded rest of the path to form the object key.
    pub key_prefix: String,
    /// What of a request is keyed and forwarded (`key = {...}`).
    pub key: crate::route::KeyRule,
    /// Require a CloudFront signed URL or signed cookies; the verifier is
    /// made per config version (see `reload`) and put in the route's policy.
    pub signed: bool,
    /// The caching and response policy, built here once; a route copies it
    /// (its `signed` is `None` until then).
    pub policy: crate::route::RoutePolicy,
    /// The names its signed URLs are checked against: the route's
    /// `hostnames`, else `server.hostnames` (empty: the request's `Host`).
    pub hostnames: Vec<crate::host::Hostname>,
}

/// An origin error status answered with another object's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPage {
    /// The origin's status this page replaces.
    pub code: u16,
    /// URL path of the page, fetched through the edge (and cached).
    pub path: String,
    /// The status clients see.
    pub status: http::StatusCode,
    /// How long the origin's error is cached (CloudFront's error caching
    /// minimum TTL); `None`: the route's `error_ttl`.
    pub ttl: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmConfig {
    /// URL path of Django's `staticfiles.json`, e.g. `/static/staticfiles.json`.
    pub manifest: String,
    pub concurrency: usize,
    /// `/readyz` answers 503 until the start-up warm-up finished.
    pub ready_after_warm: bool,
}

/// Edge freshness bounds of a route (see `cache::freshness`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlBounds {
    pub min: Duration,
    pub default: Duration,
    pub max: Duration,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors::single(ConfigError::plain(format!("cannot read {}: {e}", path.display()))))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config = Config::parse(&text, base).map_err(|e| e.with_file(path))?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses config text; relative paths resolve against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Config, ConfigErrors> {
        let raw: raw::RawConfig =
            toml::from_str(text).map_err(|e| ConfigErrors::single(ConfigError::from_toml(&e, text)))?;
        validate::validate(raw, text, base_dir)
    }
}
