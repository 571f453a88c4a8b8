//! cachefront: a CDN edge node in one binary.
//!
//! `start` takes a validated `Config` and already-bound listeners (so tests
//! and the CLI bind where they like, ephemeral ports included) and returns a
//! `Running` node; `run` is `start` plus reloading on SIGHUP and draining
//! when the shutdown future completes.

pub mod access_log;
pub mod admin;
pub mod body;
pub mod cache;
pub mod client_addr;
pub mod cloudfront;
pub mod conditional;
pub mod config;
pub mod connection;
pub mod cors;
pub mod drain;
pub mod edge;
pub mod encoding;
pub mod fill;
pub mod forward;
pub mod gated;
pub mod headers;
pub mod host;
pub mod idle;
pub mod immutable;
pub mod invalidation;
pub mod metrics;
pub mod origin;
pub mod probe;
pub mod proxy_protocol;
pub mod range;
pub mod reload;
pub mod response;
pub mod route;
pub mod sending;
pub mod server;
pub mod signed;
pub mod slice;
pub mod telemetry;
pub mod tls;
pub mod via;
pub mod warm;
pub mod zerocopy;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::access_log::AccessLog;
use crate::admin::Admin;
use crate::admin::auth::AdminAuth;
use crate::cache::Store;
use crate::cache::store::Usage;
use crate::config::Config;
use crate::drain::Drain;
use crate::metrics::Metrics;
use crate::reload::{ReloadError, Reloaded, Reloader, Site};
use crate::server::Listener;

/// The sockets a node serves on.
pub struct Listeners {
    pub edge: TcpListener,
    /// The TLS listener; needs `server.tls` in the config.
    pub tls: Option<TcpListener>,
    pub admin: Option<TcpListener>,
    /// Runtimes that serve edge connections; empty: the caller's runtime.
    pub workers: server::Workers,
}

impl Listeners {
    /// Binds the addresses the config names; an error names the key and
    /// the address that failed (a second node on one machine collides on
    /// `admin_listen`, not on `listen`).
    pub async fn bind(config: &Config) -> Result<Listeners, BindError> {
        let failed = |key: &'static str, addr: SocketAddr| move |source| BindError { key, addr, source };
        let s = &config.server;
        let edge = server::bind(s.listen).map_err(failed("server.listen", s.listen))?;
        let tls = match s.tls_listen {
            Some(addr) => Some(server::bind(addr).map_err(failed("server.tls_listen", addr))?),
            None => None,
        };
        let admin = match s.admin_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(failed("server.admin_listen", addr))?,
            ),
            None => None,
        };
        Ok(Listeners {
            edge,
            tls,
            admin,
            workers: server::Workers::default(),
        })
    }
}

/// A listen address that could not be bound, by its config key.
#[derive(Debug, Error)]
#[error("cannot bind {key} = \"{addr}\": {source}")]
pub struct BindError {
    pub key: &'static str,
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

#[derive(Debug, Error)]
pub enum StartError {
    #[error("dev origin for {origin:?} at {root}: {source}")]
    DevOrigin {
        origin: String,
        root: String,
        source: std::io::Error,
    },
    #[error("origin {origin:?}: {source}")]
    Origin { origin: String, source: origin::BoxError },
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("a TLS listener was given but the config has no tls_cert/tls_key")]
    NoCertificate,
    #[error(transparent)]
    Admin(#[from] admin::ExposureError),
    #[error("access log {0}")]
    AccessLog(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A node that is serving.
pub struct Running {
    edge_addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    store: Arc<Store>,
    admin: Arc<Admin>,
    access_log: Option<AccessLog>,
    reloader: Arc<Reloader>,
    drain: Drain,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn edge_addr(&self) -> SocketAddr {
        self.edge_addr
    }

    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Entries and bytes held, after pending evictions ran.
    pub fn cache_usage(&self) -> Usage {
        self.store.usage()
    }

    /// Waits until background work (best-level re-compression) is done.
    pub async fn settled(&self) {
        self.store.settled().await;
    }

    /// Returns once every access log line of requests answered so far is
    /// written (at once without an access log).
    pub async fn access_log_flushed(&self) {
        if let Some(log) = &self.access_log {
            log.flush().await;
        }
    }

    /// The access log, for a SIGUSR1 handler (reopen after rotation).
    pub fn access_log(&self) -> Option<AccessLog> {
        self.access_log.clone()
    }

    /// Reads the config file again and swaps it in (what SIGHUP does).
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        self.reloader.reload().await
    }

    /// The reloader, for a signal handler that outlives borrows of `self`.
    pub fn reloader(&self) -> Arc<Reloader> {
        self.reloader.clone()
    }

    /// Drains (see `drain`): `/readyz` 503 at once, listeners close after
    /// `server.drain_delay`, in-flight requests get `server.drain_timeout`.
    /// Returns when every listener and connection is closed.
    pub async fn shutdown(self) {
        self.admin.ready.store(false, Ordering::Relaxed);
        let server = self.reloader.current().config.server.clone();
        self.drain.run(server.drain_delay, server.drain_timeout).await;
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("stopped");
    }
}

/// Builds origins and routes and starts serving on `listeners`.
pub async fn start(config: Config, listeners: Listeners) -> Result<Running, StartError> {
    let cache = &config.cache;
    let store = Store::new(cache.capacity, cache.keep, cache.max_fills, cache.hit_for_miss);
    let tls = match (&listeners.tls, &config.server.tls) {
        (Some(_), Some(t)) => Some(Arc::new(ArcSwap::new(tls::acceptor_config(t)?))),
        (Some(_), None) => return Err(StartError::NoCertificate),
        (None, _) => None,
    };
    let server = config.server.clone();
    if let Some(admin) = &listeners.admin {
        admin::check_exposure(admin.local_addr()?, server.admin_token.is_some())?;
    }
    let metrics = Metrics::new(store.clone());
    let access_log = match &server.access_log {
        Some(dest) => Some(
            AccessLog::start(
                dest.clone(),
                server.name.clone(),
                server.access_log_buffer,
                metrics.access_log_dropped.clone(),
            )
            .map_err(|e| StartError::AccessLog(format!("{dest:?}: {e}")))?,
        ),
        None => None,
    };
    let mut next_id = 0;
    let site = Site::build(config, &store, &metrics, access_log.as_ref(), None, &mut next_id).await?;
    let identity = site.edge.identity.clone();
    let reloader = Arc::new(Reloader::new(
        site,
        tls.clone(),
        store.clone(),
        metrics.clone(),
        access_log.clone(),
        next_id,
    ));
    let admin = Arc::new(Admin {
        identity,
        ready: AtomicBool::new(true),
        warming: AtomicBool::new(false),
        origins_ok: AtomicBool::new(!server.ready_when_origins_ok),
        reloader: reloader.clone(),
        store: store.clone(),
        metrics,
        invalidations: Default::default(),
        auth: AdminAuth {
            token: server.admin_token.clone(),
            key_id: server.admin_key_id.clone(),
            regions: server.admin_regions.clone(),
        },
    });
    let drain = Drain::default();

    let sites = reloader.site.clone();
    let edge_handler = move |req: http::Request<hyper::body::Incoming>, peer| {
        let site = sites.load_full();
        let client = site.trusted.client(peer, req.headers());
        site.edge.clone().handle(req, client)
    };
    // Both edge listeners draw on one connection limit.
    let connections = Arc::new(tokio::sync::Semaphore::new(server.limits.max_connections));
    let edge_addr = listeners.edge.local_addr()?;
    tracing::info!(address = %edge_addr, "edge listening (HTTP/1.1, h2c)");
    let plain = Listener {
        tcp: listeners.edge,
        tls: None,
        proxy_protocol: server.proxy_protocol,
        limits: server.limits,
        connections: connections.clone(),
    };
    let mut tasks = vec![tokio::spawn(server::serve(
        plain,
        edge_handler.clone(),
        listeners.workers.clone(),
        drain.clone(),
    ))];
    let mut tls_addr = None;
    if let Some(tcp) = listeners.tls {
        let addr = tcp.local_addr()?;
        tracing::info!(address = %addr, "edge listening (TLS: HTTP/1.1, h2)");
        tls_addr = Some(addr);
        let listener = Listener {
            tcp,
            tls,
            proxy_protocol: server.tls_proxy_protocol,
            limits: server.limits,
            connections,
        };
        tasks.push(tokio::spawn(server::serve(
            listener,
            edge_handler,
            listeners.workers,
            drain.clone(),
        )));
    }
    let mut admin_addr = None;
    if let Some(listener) = listeners.admin {
        let addr = listener.local_addr()?;
        tracing::info!(address = %addr, "admin listening (/healthz, /readyz, /metrics, invalidations, POST /reload)");
        admin_addr = Some(addr);
        // A request head must arrive within admin_timeout (and its body,
        // see admin::stack).
        let mut listener = Listener::plain(listener);
        listener.limits.header_read_timeout = server.admin_timeout;
        tasks.push(tokio::spawn(server::serve(
            listener,
            admin::stack::handler(admin.clone(), server.admin_timeout),
            server::Workers::default(),
            drain.clone(),
        )));
    }
    origin::check::spawn(reloader.current().s3_origins(), admin.clone());
    let current = reloader.current();
    if let Some(w) = current.config.warm.clone() {
        spawn_warm(w, admin.clone(), current.config.cache.capacity);
    }
    Ok(Running {
        edge_addr,
        tls_addr,
        admin_addr,
        store,
        admin,
        access_log,
        reloader,
        drain,
        tasks,
    })
}

/// The start-up warm-up (`[warm]`), detached: shutdown does not wait for
/// it. `/readyz` waits for it when asked to.
fn spawn_warm(w: config::WarmConfig, admin: Arc<Admin>, capacity: u64) {
    if w.ready_after_warm {
        admin.warming.store(true, Ordering::Relaxed);
    }
    let target = warm::Target::Site(admin.reloader.site.clone());
    tokio::spawn(async move {
        tracing::info!(manifest = %w.manifest, "warming");
        match warm::warm(&target, &w.manifest, w.concurrency, capacity, warm::Progress::Lines).await {
            Ok(summary) => {
                for (path, why) in &summary.failures {
                    tracing::warn!(path = %path, error = %why, "warm-up fetch failed");
                }
                tracing::info!(
                    objects = summary.objects,
                    bytes = summary.bytes,
                    failures = summary.failures.len(),
                    skipped = summary.skipped,
                    seconds = summary.seconds,
                    "warm-up done"
                );
            }
            Err(e) => tracing::warn!(error = %e, "warm-up failed"),
        }
        admin.warming.store(false, Ordering::Relaxed);
    });
}

/// Serves until `shutdown` completes, reloading the config on SIGHUP, then
/// drains.
/// `ready` runs once the node serves and every signal it answers has its
/// handler (whoever reads the line it prints may signal at once: a signal
/// without a handler ends the process, or is ignored by a PID 1).
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
    ready: impl FnOnce(),
) -> Result<(), StartError> {
    // Registered before the first request can be answered, so a SIGHUP
    // from then on reloads instead of killing the process.
    let hangups = reload::hangup_signals();
    let running = start(config, listeners).await?;
    let reloads = tokio::spawn(reload::reload_on_hangup(hangups, running.reloader()));
    let reopens = running
        .access_log()
        .map(|log| tokio::spawn(access_log::reopen_on_usr1(log)));
    ready();
    shutdown.await;
    reloads.abort();
    if let Some(r) = reopens {
        r.abort();
    }
    tracing::info!("shutting down: draining");
    running.shutdown().await;
    Ok(())
}
