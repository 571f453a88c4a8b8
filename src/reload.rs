//! Live reload: one config version is a `Site` (routes with their origins
//! and policies, trusted proxies, the node's name), held behind an
//! `ArcSwap` that each request loads once. A reload builds a new `Site`
//! beside the old one and swaps it in; connections stay open and requests
//! in flight finish on the `Site` they started with.
//!
//! The cache survives a reload. A route keeps its cache id (part of every
//! cache key) while its definition, its origin's and the node name are
//! unchanged; otherwise its objects, whose headers were rendered by the old
//! policy at fill time, would be served on. A removed or changed route's
//! entries are dropped. Unchanged origins are reused with their connection
//! pools. An invalid config changes nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arc_swap::ArcSwap;
use thiserror::Error;

use crate::StartError;
use crate::access_log::AccessLog;
use crate::cache::Store;
use crate::client_addr::TrustedProxies;
use crate::config::{Config, ConfigErrors, OriginConfig, OriginKind};
use crate::edge::Edge;
use crate::metrics::Metrics;
use crate::origin::metered::MeteredOrigin;
use crate::origin::{self, Origin};
use crate::response::Identity;
use crate::route::{Route, Router};
use crate::signed::Verifier;
use crate::tls::{self, TlsError};

/// What one config version serves.
pub struct Site {
    pub edge: Arc<Edge>,
    pub trusted: TrustedProxies,
    pub config: Config,
    origins: HashMap<String, Arc<MeteredOrigin>>,
    /// Route fingerprint -> cache id.
    route_ids: HashMap<String, u32>,
}

#[derive(Debug, Error)]
pub enum ReloadError {
    #[error("the config was not read from a file; nothing to reload")]
    NoSource,
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
}

/// What a successful reload changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub routes: usize,
    /// Routes whose cache entries were dropped (removed or redefined).
    pub dropped_routes: usize,
}

impl Site {
    /// Builds origins (reusing `previous`'s unchanged ones) and routes.
    pub async fn build(
        config: Config,
        store: &Arc<Store>,
        metrics: &Metrics,
        access_log: Option<&AccessLog>,
        previous: Option<&Site>,
        next_id: &mut u32,
    ) -> Result<Site, StartError> {
        let identity = Arc::new(Identity::new(&config.server.name, config.server.cloudfront_compat));
        let mut origins = HashMap::new();
        for (name, cfg) in &config.origins {
            let reused = previous
                .filter(|p| p.config.origins.get(name).is_some_and(|old| same_origin(old, cfg)))
                .and_then(|p| p.origins.get(name).cloned());
            let built = match reused {
                Some(o) => o,
                None => Arc::new(
                    MeteredOrigin::new(build_origin(name, cfg, &identity).await?, metrics.origin(name))
                        .with_max_fills(cfg.max_fills),
                ),
            };
            origins.insert(name.clone(), built);
        }
        // A new config, a new verifier: no signature verified with an old
        // key set stays trusted.
        let verifier = Arc::new(Verifier::new(
            config.trusted_keys.clone(),
            metrics.signature_verifications.clone(),
        ));
        // Ids only after every fallible step: a failed build assigns none.
        let mut route_ids = HashMap::new();
        let mut routes = Vec::new();
        for r in &config.routes {
            // Compat mode changes what fills render (no zstd, S3's 403), so
            // it is part of what a cached entry was made under; an origin's
            // fill limit is not.
            let origin = OriginConfig {
                max_fills: 0,
                ..config.origins[&r.origin].clone()
            };
            let fingerprint = format!(
                "{r:?}|{origin:?}|{}|{}",
                config.server.name, config.server.cloudfront_compat
            );
            let id = previous
                .and_then(|p| p.route_ids.get(&fingerprint).copied())
                .unwrap_or_else(|| {
                    *next_id += 1;
                    *next_id - 1
                });
            tracing::info!(path = %r.path, origin = %r.origin, key_prefix = %r.key_prefix, "route");
            let route_metrics = metrics.route(&r.path);
            routes.push(Arc::new(Route::new(
                id,
                r,
                origins[&r.origin].clone(),
                route_metrics,
                r.signed.then(|| verifier.clone()),
            )));
            route_ids.insert(fingerprint, id);
        }
        let edge = Arc::new(Edge {
            router: Router::new(routes),
            store: store.clone(),
            identity,
            max_object_size: config.cache.max_object_size,
            metrics: metrics.clone(),
            unrouted: metrics.route("none"),
            access_log: access_log.cloned(),
        });
        Ok(Site {
            edge,
            trusted: TrustedProxies::new(config.server.trusted_proxies.clone()),
            config,
            origins,
            route_ids,
        })
    }

    /// The S3 origins, by name, for their start-up check.
    pub fn s3_origins(&self) -> Vec<(String, Arc<MeteredOrigin>)> {
        let mut v: Vec<_> = self
            .origins
            .iter()
            .filter(|(_, o)| matches!(&****o, Origin::S3(_)))
            .map(|(n, o)| (n.clone(), o.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn ids(&self) -> HashSet<u32> {
        self.route_ids.values().copied().collect()
    }
}

/// Origins compare by config; `Debug` covers every field, present and future.
fn same_origin(a: &OriginConfig, b: &OriginConfig) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

async fn build_origin(name: &str, cfg: &OriginConfig, identity: &Identity) -> Result<Origin, StartError> {
    let mut dev = None;
    if let OriginKind::S3(s3) = &cfg.kind
        && let Some(root) = &s3.dev_root
    {
        let embedded = origin::dev::spawn_embedded(root)
            .await
            .map_err(|source| StartError::DevOrigin {
                origin: name.to_string(),
                root: root.display().to_string(),
                source,
            })?;
        tracing::info!(origin = %name, root = %root.display(), endpoint = embedded.endpoint(), bucket = %s3.bucket, "embedded S3 dev origin listening");
        dev = Some(embedded);
    }
    Origin::build(cfg, dev, identity.via())
        .await
        .map_err(|source| StartError::Origin {
            origin: name.to_string(),
            source,
        })
}

/// Swaps in new config versions, one at a time.
pub struct Reloader {
    pub site: Arc<ArcSwap<Site>>,
    /// The TLS listener's configuration, when there is one.
    pub tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    store: Arc<Store>,
    pub metrics: Metrics,
    access_log: Option<AccessLog>,
    /// The next unused route cache id; the lock also serializes reloads.
    next_id: tokio::sync::Mutex<u32>,
}

impl Reloader {
    pub fn new(
        site: Site,
        tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
        store: Arc<Store>,
        metrics: Metrics,
        access_log: Option<AccessLog>,
        next_id: u32,
    ) -> Reloader {
        Reloader {
            site: Arc::new(ArcSwap::from_pointee(site)),
            tls,
            store,
            metrics,
            access_log,
            next_id: tokio::sync::Mutex::new(next_id),
        }
    }

    pub fn current(&self) -> Arc<Site> {
        self.site.load_full()
    }

    /// Reads the config file again and applies it; on error the running
    /// config stays and the error is logged.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let result = async {
            let path = self.current().config.source.clone().ok_or(ReloadError::NoSource)?;
            let config = Config::load(&path)?;
            self.apply(config).await
        }
        .await;
        match &result {
            Ok(r) => tracing::info!(routes = r.routes, dropped_routes = r.dropped_routes, "config reloaded"),
            Err(e) => tracing::error!("reload refused, the running config stays: {e}"),
        }
        result
    }

    /// Applies a validated config.
    pub async fn apply(&self, config: Config) -> Result<Reloaded, ReloadError> {
        let mut next_id = self.next_id.lock().await;
        let old = self.current();
        warn_fixed(&old.config, &config);
        let tls = match (&self.tls, &config.server.tls) {
            (Some(_), Some(t)) => Some(tls::acceptor_config(t)?),
            _ => None,
        };
        let mut id = *next_id;
        let site = Site::build(
            config,
            &self.store,
            &self.metrics,
            self.access_log.as_ref(),
            Some(&old),
            &mut id,
        )
        .await?;
        *next_id = id;
        let kept = site.ids();
        let dropped: Vec<u32> = old.ids().difference(&kept).copied().collect();
        let routes = site.config.routes.len();
        if let (Some(swap), Some(tls)) = (&self.tls, tls) {
            swap.store(tls);
        }
        self.site.store(Arc::new(site));
        if !dropped.is_empty() {
            self.store.remove_routes(&dropped);
        }
        Ok(Reloaded {
            routes,
            dropped_routes: dropped.len(),
        })
    }
}

/// Keys that need a restart: said once, not silently ignored.
fn warn_fixed(old: &Config, new: &Config) {
    let (o, n) = (&old.server, &new.server);
    let fixed = [
        ("server.listen", o.listen != n.listen),
        ("server.tls_listen", o.tls_listen != n.tls_listen),
        ("server.admin_listen", o.admin_listen != n.admin_listen),
        ("server.admin_timeout", o.admin_timeout != n.admin_timeout),
        ("server.admin_regions", o.admin_regions != n.admin_regions),
        ("server.workers", o.workers != n.workers),
        ("server.proxy_protocol", o.proxy_protocol != n.proxy_protocol),
        (
            "server.tls_proxy_protocol",
            o.tls_proxy_protocol != n.tls_proxy_protocol,
        ),
        ("server.access_log", o.access_log != n.access_log),
        ("server.access_log_buffer", o.access_log_buffer != n.access_log_buffer),
        ("cache.capacity", old.cache.capacity != new.cache.capacity),
        ("cache.max_fills", old.cache.max_fills != new.cache.max_fills),
        ("cache.hit_for_miss", old.cache.hit_for_miss != new.cache.hit_for_miss),
        ("server.tls (added or removed)", o.tls.is_some() != n.tls.is_some()),
    ];
    for (key, changed) in fixed {
        if changed {
            tracing::warn!(key, "changed, but takes effect only on restart");
        }
    }
}

#[cfg(unix)]
pub type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
pub type Hangups = Option<()>;

/// SIGHUP's handler, registered now: before the first request can be
/// answered, so that a SIGHUP from then on reloads instead of ending the
/// process.
pub fn hangup_signals() -> Hangups {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::hangup())
            .inspect_err(|e| tracing::warn!(error = %e, "no SIGHUP reload; use POST /reload on the admin listener"))
            .ok()
    }
    #[cfg(not(unix))]
    None
}

/// SIGHUP: reload the config file (errors are logged; the old config stays).
pub async fn reload_on_hangup(hangups: Hangups, reloader: Arc<Reloader>) {
    #[cfg(unix)]
    if let Some(mut hup) = hangups {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the config");
            let _ = reloader.reload().await;
        }
    }
    #[cfg(not(unix))]
    let _ = (hangups, reloader);
}
