//! A misbehaving HTTP origin behind one host name, `origin.test`, that the
//! edge resolves through an injected resolver (no real DNS). The fault in
//! force decides where the name points:
//!
//! - nowhere (unresolvable);
//! - a loopback socket bound but not listening (connection refused);
//! - a loopback listener whose one-slot backlog is full (connect timeout);
//! - a hyper server (500, 503);
//! - a raw TCP server, for what hyper will not send: stalled headers,
//!   stalled, reset or short bodies, endless chunked bodies, garbage.
//!
//! Without a fault the raw server answers a good, revalidatable object
//! (`max-age=0` and an `ETag`), a new version each time. All servers share
//! one port on different loopback addresses, since the connector keeps the
//! URL's port whatever the resolver returns.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cachefront::origin::Resolver;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

pub const HOST: &str = "origin.test";
/// How long a stalling server holds a connection (bounded; far beyond the
/// edge's configured timeouts).
const HOLD: Duration = Duration::from_secs(10);
/// Declared length of the faulty bodies; half of it is sent.
pub const DECLARED: usize = 4000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Refused,
    Unresolvable,
    ConnectTimeout,
    SlowHeaders,
    SlowBody,
    ResetMidBody,
    ShortBody,
    EndlessChunked,
    Status500,
    Status503,
    GarbageStatus,
}

pub struct FaultyOrigin {
    pub port: u16,
    fault: Arc<Mutex<Option<Fault>>>,
    /// Requests that reached a server that reads them.
    requests: Arc<AtomicUsize>,
    version: Arc<AtomicUsize>,
    _refused: TcpSocket,
    _backlog: (TcpListener, Vec<TcpStream>),
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

impl FaultyOrigin {
    pub async fn start() -> FaultyOrigin {
        // Bounded: another process may hold the port on another address.
        for _ in 0..20 {
            if let Some(o) = Self::try_start().await {
                return o;
            }
        }
        panic!("no port free on 127.0.0.1-4");
    }

    async fn try_start() -> Option<FaultyOrigin> {
        let raw = TcpListener::bind("127.0.0.1:0").await.ok()?;
        let port = raw.local_addr().ok()?.port();
        let refused = TcpSocket::new_v4().ok()?;
        refused.bind(SocketAddr::new(loopback(2), port)).ok()?;
        let full = TcpSocket::new_v4().ok()?;
        full.bind(SocketAddr::new(loopback(3), port)).ok()?;
        let full = full.listen(0).ok()?;
        let hyper_listener = TcpListener::bind(SocketAddr::new(loopback(4), port)).await.ok()?;
        let origin = FaultyOrigin {
            port,
            fault: Arc::new(Mutex::new(None)),
            requests: Arc::new(AtomicUsize::new(0)),
            version: Arc::new(AtomicUsize::new(0)),
            _refused: refused,
            _backlog: (full, fill_backlog(SocketAddr::new(loopback(3), port)).await),
        };
        origin.serve_raw(raw);
        origin.serve_hyper(hyper_listener);
        Some(origin)
    }

    pub fn set(&self, fault: Option<Fault>) {
        *self.fault.lock().unwrap() = fault;
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The body the good origin sent last.
    pub fn body(version: usize) -> String {
        format!("object version {version}\n")
    }

    /// Resolves `origin.test` to where the current fault lives.
    pub fn resolver(&self) -> Resolver {
        let fault = self.fault.clone();
        Resolver::new(move |host| {
            let nowhere = || Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such host"));
            if host != HOST {
                return nowhere();
            }
            let last = match *fault.lock().unwrap() {
                Some(Fault::Unresolvable) => return nowhere(),
                Some(Fault::Refused) => 2,
                Some(Fault::ConnectTimeout) => 3,
                Some(Fault::Status500 | Fault::Status503) => 4,
                _ => 1,
            };
            Ok(vec![SocketAddr::new(loopback(last), 0)])
        })
    }

    /// An edge config on this origin (short timeouts), with the resolver.
    pub fn config(&self, server_extra: &str, route_extra: &str) -> cachefront::config::Config {
        let text = format!(
            r#"
[server]
name = "edge-test"
{server_extra}

[origins.app]
kind = "http"
url = "http://{HOST}:{}"
connect_timeout = "300ms"
response_timeout = "300ms"

[[routes]]
path = "/"
origin = "app"
{route_extra}
"#,
            self.port
        );
        let mut config = cachefront::config::Config::parse(&text, std::path::Path::new(".")).unwrap();
        for origin in config.origins.values_mut() {
            if let cachefront::config::OriginKind::Http(h) = &mut origin.kind {
                h.resolver = Some(self.resolver());
            }
        }
        config
    }

    fn serve_raw(&self, listener: TcpListener) {
        let (fault, requests, version) = (self.fault.clone(), self.requests.clone(), self.version.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (fault, requests, version) = (fault.clone(), requests.clone(), version.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(HOLD, answer(stream, fault, requests, version)).await;
                });
            }
        });
    }

    fn serve_hyper(&self, listener: TcpListener) {
        let (fault, requests) = (self.fault.clone(), self.requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (fault, requests) = (fault.clone(), requests.clone());
                let svc = hyper::service::service_fn(move |_req: http::Request<hyper::body::Incoming>| {
                    requests.fetch_add(1, Ordering::SeqCst);
                    let status = match *fault.lock().unwrap() {
                        Some(Fault::Status503) => 503,
                        _ => 500,
                    };
                    let resp = http::Response::builder()
                        .status(status)
                        .header("content-type", "text/plain")
                        .header("connection", "close")
                        .body(Full::new(Bytes::from(format!("origin says {status}\n"))))
                        .unwrap();
                    async move { Ok::<_, std::convert::Infallible>(resp) }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    }
}

/// Connects until the listener's backlog is full: the next connect hangs.
async fn fill_backlog(addr: SocketAddr) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..64 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => held.push(s),
            Ok(Err(e)) => panic!("backlog listener refused: {e}"),
            Err(_) => return held,
        }
    }
    panic!("backlog of the connect-timeout listener never filled");
}

async fn answer(
    mut s: TcpStream,
    fault: Arc<Mutex<Option<Fault>>>,
    requests: Arc<AtomicUsize>,
    version: Arc<AtomicUsize>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let fault = *fault.lock().unwrap();
    let partial = |extra: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: max-age=600\r\n{extra}\r\n{}",
            "x".repeat(DECLARED / 2)
        )
    };
    let declared = format!("Content-Length: {DECLARED}\r\n");
    match fault {
        None => {
            let v = version.fetch_add(1, Ordering::SeqCst) + 1;
            let body = FaultyOrigin::body(v);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: max-age=0\r\nETag: \"v{v}\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        }
        Some(Fault::SlowHeaders) => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n").await;
            tokio::time::sleep(HOLD).await;
        }
        Some(Fault::SlowBody) => {
            let _ = s.write_all(partial(&declared).as_bytes()).await;
            tokio::time::sleep(HOLD).await;
        }
        Some(Fault::ResetMidBody) => {
            let _ = s.write_all(partial(&declared).as_bytes()).await;
            let _ = s.flush().await;
            // Give the edge the partial body, then RST (linger 0).
            tokio::time::sleep(Duration::from_millis(50)).await;
            // Linger 0 makes close send RST; a non-blocking socket does
            // not block in it.
            #[allow(deprecated)]
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
        }
        Some(Fault::ShortBody) => {
            let _ = s.write_all(partial(&declared).as_bytes()).await;
            let _ = s.shutdown().await;
        }
        Some(Fault::EndlessChunked) => {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nCache-Control: max-age=600\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            // Chunks, then never the last one.
            for _ in 0..4 {
                let chunk = format!("{:x}\r\n{}\r\n", DECLARED / 2, "y".repeat(DECLARED / 2));
                if s.write_all(chunk.as_bytes()).await.is_err() {
                    return;
                }
            }
            tokio::time::sleep(HOLD).await;
        }
        Some(Fault::GarbageStatus) => {
            let _ = s.write_all(b"HTTX/9.9 OK-ish \x01\x02 garbage\r\n\r\nbody").await;
            let _ = s.shutdown().await;
        }
        // Answered elsewhere; reaching here means the resolver sent us.
        Some(f) => panic!("{f:?} is not served by the raw origin"),
    }
}
