//! Accept loops: `TCP_NODELAY` on every socket, connections handed to
//! per-core runtimes, at most `max_connections` at once (the rest wait in
//! the listen backlog), accepting until the drain closes the listeners.
//! What happens on a connection is `connection`'s business.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{Request, Response};
use hyper::body::Incoming;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use crate::body::EdgeBody;
use crate::client_addr::Peer;
use crate::config::ClientLimits;
use crate::connection::{self, ConnSetup};
use crate::drain::{Drain, Phase};

/// Runtimes that serve connections: the caller's own (tests, admin), or
/// one current-thread runtime per core, to which the accept loop hands each
/// connection round-robin. A current-thread runtime per core avoids the
/// work-stealing scheduler's extra wake-ups and `epoll_wait`s per request
/// (DESIGN: 0.06 against 0.33 per request, measured here).
#[derive(Clone, Default)]
pub struct Workers {
    handles: Vec<Handle>,
}

impl Workers {
    pub fn new(handles: Vec<Handle>) -> Workers {
        Workers { handles }
    }

    /// Spawns `n` threads, each running a current-thread runtime until the
    /// process exits.
    pub fn spawn(n: usize) -> std::io::Result<Workers> {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            handles.push(rt.handle().clone());
            std::thread::Builder::new()
                .name(format!("cachefront-worker-{i}"))
                .spawn(move || rt.block_on(std::future::pending::<()>()))?;
        }
        Ok(Workers { handles })
    }
}

/// Connections the kernel holds for the accept loop (completed handshakes
/// not yet accepted). tokio's `TcpListener::bind` asks for 1,024: a burst of
/// 10,000 connects (a load test, a reconnect storm after a restart)
/// overflowed it, and an overflowed handshake waits for the client's
/// retransmission, 1 s, 3 s, 7 s… later (bench/SOAK.md). Linux caps the
/// value at `net.core.somaxconn` (4,096 by default since 5.4); nginx asks
/// for 511, HAProxy and Go for `somaxconn`.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds a listening socket with `LISTEN_BACKLOG` (and `SO_REUSEADDR`, as
/// tokio's `bind` sets it, so a restart does not wait out `TIME_WAIT`).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// A listening socket and how its connections are set up.
pub struct Listener {
    pub tcp: TcpListener,
    /// Serve TLS with this (swappable) configuration.
    pub tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    /// Expect a PROXY protocol header first.
    pub proxy_protocol: bool,
    pub limits: ClientLimits,
    /// One permit per open connection, shared by the listeners it bounds.
    pub connections: Arc<Semaphore>,
}

impl Listener {
    pub fn plain(tcp: TcpListener) -> Listener {
        let limits = ClientLimits::default();
        Listener {
            tcp,
            tls: None,
            proxy_protocol: false,
            connections: Arc::new(Semaphore::new(limits.max_connections)),
            limits,
        }
    }
}

/// Serves `handler` on `listener` until the drain closes listeners; each
/// connection follows the drain phases itself (`connection`).
pub async fn serve<H, F>(listener: Listener, handler: H, workers: Workers, drain: Drain)
where
    H: Fn(Request<Incoming>, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<EdgeBody>> + Send + Unpin + 'static,
{
    let setup = Arc::new(ConnSetup::new(listener.tls, listener.proxy_protocol, listener.limits));
    let tcp = listener.tcp;
    let mut next_worker = 0usize;
    let closing = drain.clone();
    let mut stop = std::pin::pin!(closing.reached(Phase::Closing));
    loop {
        // At the limit, stop accepting: new connections wait in the
        // backlog (the kernel refuses them once it is full), open ones
        // are served as before.
        let permit = tokio::select! {
            permit = listener.connections.clone().acquire_owned() => permit.expect("never closed"),
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay failed");
        }
        // Register the socket with the reactor of the runtime that will
        // serve it, then spawn the connection there.
        let worker = (!workers.handles.is_empty()).then(|| {
            next_worker = next_worker.wrapping_add(1);
            &workers.handles[next_worker % workers.handles.len()]
        });
        let stream = match worker {
            Some(handle) => match stream.into_std().and_then(|std| {
                let _entered = handle.enter();
                TcpStream::from_std(std)
            }) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "handing a connection to a worker failed");
                    continue;
                }
            },
            None => stream,
        };
        let conn = connection::serve(
            stream,
            peer,
            setup.clone(),
            handler.clone(),
            drain.clone(),
            drain.connection(),
        );
        let task = async move {
            conn.await;
            drop(permit);
        };
        match worker {
            Some(handle) => drop(handle.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }
}
