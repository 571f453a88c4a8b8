//! cachefront: a CDN edge node in one binary.
//!
//! `start` takes a validated `Config` and already-bound listeners (so tests
//! and the CLI bind where they like, ephemeral ports included) and returns a
//! `Running` node; `run` is `start` plus waiting for a shutdown signal.

pub mod admin;
pub mod body;
pub mod cache;
pub mod conditional;
pub mod config;
pub mod edge;
pub mod encoding;
pub mod fill;
pub mod forward;
pub mod headers;
pub mod origin;
pub mod probe;
pub mod range;
pub mod response;
pub mod route;
pub mod server;
pub mod slice;
pub mod telemetry;
pub mod via;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::Admin;
use crate::cache::Store;
use crate::cache::store::Usage;
use crate::config::{Config, OriginKind};
use crate::edge::Edge;
use crate::origin::Origin;
use crate::response::Identity;
use crate::route::{Route, Router};

/// The sockets a node serves on.
pub struct Listeners {
    pub edge: TcpListener,
    pub admin: Option<TcpListener>,
    /// Runtimes that serve edge connections; empty: the caller's runtime.
    pub workers: server::Workers,
}

impl Listeners {
    /// Binds the addresses the config names.
    pub async fn bind(config: &Config) -> std::io::Result<Listeners> {
        let edge = TcpListener::bind(config.server.listen).await?;
        let admin = match config.server.admin_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        Ok(Listeners {
            edge,
            admin,
            workers: server::Workers::default(),
        })
    }
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
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A node that is serving.
pub struct Running {
    edge_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    store: Arc<Store>,
    admin: Arc<Admin>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    pub fn edge_addr(&self) -> SocketAddr {
        self.edge_addr
    }

    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Entries and bytes held, after pending evictions ran.
    pub async fn cache_usage(&self) -> Usage {
        self.store.usage().await
    }

    /// Waits until background work (best-level re-compression) is done.
    pub async fn settled(&self) {
        self.store.settled().await;
    }

    /// Stops accepting, finishes in-flight requests (bounded by
    /// `server.shutdown_timeout`), and returns when all listeners closed.
    pub async fn shutdown(self) {
        self.admin.ready.store(false, Ordering::Relaxed);
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("stopped");
    }
}

/// Builds origins and routes and starts serving on `listeners`.
pub async fn start(config: Config, listeners: Listeners) -> Result<Running, StartError> {
    let identity = Arc::new(Identity::new(&config.server.name));

    let mut origins: HashMap<String, Arc<Origin>> = HashMap::new();
    for (name, cfg) in &config.origins {
        let mut dev_endpoint = None;
        if let OriginKind::S3(s3) = &cfg.kind
            && let Some(root) = &s3.dev_root
        {
            let endpoint = origin::dev::spawn_embedded(root)
                .await
                .map_err(|source| StartError::DevOrigin {
                    origin: name.clone(),
                    root: root.display().to_string(),
                    source,
                })?;
            tracing::info!(origin = %name, root = %root.display(), %endpoint, bucket = %s3.bucket, "embedded S3 dev origin listening");
            dev_endpoint = Some(endpoint);
        }
        let built = Origin::build(cfg, dev_endpoint, identity.via())
            .await
            .map_err(|source| StartError::Origin {
                origin: name.clone(),
                source,
            })?;
        origins.insert(name.clone(), Arc::new(built));
    }

    let routes = config
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            tracing::info!(path = %r.path, origin = %r.origin, key_prefix = %r.key_prefix, "route");
            let id = u32::try_from(i).expect("fewer than 2^32 routes");
            Arc::new(Route::new(id, r, origins[&r.origin].clone()))
        })
        .collect();

    let store = Store::new(config.cache.capacity, config.cache.keep);
    let edge = Arc::new(Edge {
        router: Router::new(routes),
        store: store.clone(),
        identity: identity.clone(),
        max_object_size: config.cache.max_object_size,
    });
    let admin = Arc::new(Admin {
        identity,
        ready: AtomicBool::new(true),
    });

    let (shutdown, shutdown_rx) = watch::channel(false);
    let drain = config.server.shutdown_timeout;
    let edge_addr = listeners.edge.local_addr()?;
    tracing::info!(address = %edge_addr, "edge listening");
    let mut tasks = vec![tokio::spawn(server::serve(
        listeners.edge,
        move |req, peer| edge.clone().handle(req, peer),
        listeners.workers,
        shutdown_rx.clone(),
        drain,
    ))];
    let mut admin_addr = None;
    if let Some(listener) = listeners.admin {
        let addr = listener.local_addr()?;
        tracing::info!(address = %addr, "admin listening (/healthz, /readyz)");
        admin_addr = Some(addr);
        let admin = admin.clone();
        tasks.push(tokio::spawn(server::serve(
            listener,
            move |req, _| std::future::ready(admin.handle(&req)),
            server::Workers::default(),
            shutdown_rx,
            drain,
        )));
    }
    Ok(Running {
        edge_addr,
        admin_addr,
        store,
        admin,
        shutdown,
        tasks,
    })
}

/// Serves until `shutdown` completes, then shuts down gracefully.
pub async fn run(config: Config, listeners: Listeners, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let running = start(config, listeners).await?;
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.shutdown().await;
    Ok(())
}
