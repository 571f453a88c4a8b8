//! One accepted connection, from the first byte to close: an optional PROXY
//! protocol header, an optional TLS handshake, then hyper-util's auto builder
//! (HTTP/1.1, or HTTP/2 by ALPN or prior knowledge), following the drain
//! phases (`drain`), the client limits (`ClientLimits`, `idle`), and
//! answering 500 when a request's task panics.

use std::future::Ready;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::FutureExt;
use futures_util::future::{CatchUnwind, Either};
use http::{HeaderValue, Request, Response, StatusCode, Version, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::body::EdgeBody;
use crate::client_addr::Peer;
use crate::config::ClientLimits;
use crate::drain::{ConnectionGuard, Drain, Phase};
use crate::gated::Gated;
use crate::idle::{Activity, InFlight, Quiet, Watched};
use crate::proxy_protocol;
use crate::sending::Sending;

/// A client that has not finished its PROXY header or TLS handshake by
/// then is dropped: it holds a socket and a task and has asked for nothing.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Request line plus headers, in all (HTTP/1): larger heads are answered
/// 431 by hyper. nginx allows 1 KiB + 4 x 8 KiB; browsers send far less.
pub const MAX_REQUEST_HEAD: usize = 20 * 1024;

/// How a listener's connections are set up; shared by its connections.
pub struct ConnSetup {
    pub builder: auto::Builder<TokioExecutor>,
    /// The TLS listener's current configuration (swapped on reload).
    pub tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
    pub proxy_protocol: bool,
    pub limits: ClientLimits,
}

impl ConnSetup {
    pub fn new(
        tls: Option<Arc<ArcSwap<rustls::ServerConfig>>>,
        proxy_protocol: bool,
        limits: ClientLimits,
    ) -> ConnSetup {
        ConnSetup {
            builder: builder(),
            tls,
            proxy_protocol,
            limits,
        }
    }
}

/// HTTP/1.1 and HTTP/2 settings, chosen rather than inherited.
fn builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    // A timer enables the HTTP/2 keep-alive pings below.
    // The header read timeout is the connection watcher's (`idle`), not
    // hyper's: hyper's arms a timer for every request.
    b.http1()
        .header_read_timeout(None)
        // hyper answers 431 when a request head outgrows its read buffer.
        .max_buf_size(MAX_REQUEST_HEAD);
    b.http2()
        .timer(TokioTimer::new())
        // nginx's default; browsers open ~100. Bounds one connection's work.
        .max_concurrent_streams(128)
        // Request headers of a browser, cookies included, stay far below
        // this; nginx's large_client_header_buffers allow 4 x 8 KiB.
        .max_header_list_size(32 * 1024)
        // What a client may send before we read it. Clients send GETs; a
        // passed-through upload streams at 256 KiB per stream, 1 MiB in all.
        .initial_stream_window_size(256 * 1024)
        .initial_connection_window_size(1024 * 1024)
        // Response bytes queued per stream beyond the client's window.
        .max_send_buf_size(256 * 1024)
        // Rapid-reset (CVE-2023-44487) and error-storm limits, explicit.
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(256)
        // Finds dead peers behind NATs that dropped the flow silently.
        .keep_alive_interval(Duration::from_secs(60))
        .keep_alive_timeout(Duration::from_secs(20));
    b
}

/// Serves one accepted TCP connection until it closes or the drain ends it.
pub async fn serve<H, F>(
    stream: TcpStream,
    tcp_peer: std::net::SocketAddr,
    setup: Arc<ConnSetup>,
    handler: H,
    drain: Drain,
    guard: ConnectionGuard,
) where
    H: Fn(Request<Incoming>, Peer) -> F + Send + Sync + 'static,
    F: Future<Output = Response<EdgeBody>> + Send + Unpin + 'static,
{
    if !setup.proxy_protocol {
        return tls_then_http(stream, tcp_peer, &setup, handler, drain, guard).await;
    }
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, proxy_protocol::read_header(stream)).await {
        Ok(Ok((source, io))) => {
            let peer = source.unwrap_or(tcp_peer);
            tls_then_http(io, peer, &setup, handler, drain, guard).await;
        }
        Ok(Err(e)) => tracing::debug!(error = %e, peer = %tcp_peer, "PROXY protocol header refused"),
        Err(_) => tracing::debug!(peer = %tcp_peer, "no PROXY protocol header in time"),
    }
}

async fn tls_then_http<I, H, F>(
    io: I,
    addr: std::net::SocketAddr,
    setup: &ConnSetup,
    handler: H,
    drain: Drain,
    guard: ConnectionGuard,
) where
    I: AsyncRead + AsyncWrite + crate::zerocopy::Sink + Unpin + Send + 'static,
    H: Fn(Request<Incoming>, Peer) -> F + Send + Sync + 'static,
    F: Future<Output = Response<EdgeBody>> + Send + Unpin + 'static,
{
    let Some(tls) = &setup.tls else {
        let peer = Peer { addr, tls: false };
        return http(io, peer, setup, handler, drain, guard).await;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.load_full());
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
        Ok(Ok(stream)) => {
            let peer = Peer { addr, tls: true };
            http(stream, peer, setup, handler, drain, guard).await;
        }
        Ok(Err(e)) => tracing::debug!(error = %e, peer = %addr, "TLS handshake failed"),
        Err(_) => tracing::debug!(peer = %addr, "TLS handshake timed out"),
    }
}

async fn http<I, H, F>(io: I, peer: Peer, setup: &ConnSetup, handler: H, drain: Drain, _guard: ConnectionGuard)
where
    I: AsyncRead + AsyncWrite + crate::zerocopy::Sink + Unpin + Send + 'static,
    H: Fn(Request<Incoming>, Peer) -> F + Send + Sync + 'static,
    F: Future<Output = Response<EdgeBody>> + Send + Unpin + 'static,
{
    let h2 = Arc::new(AtomicBool::new(false));
    let activity = Arc::new(Activity::new(drain.flag()));
    let service = service(handler, peer, activity.clone(), h2.clone());
    let io = Watched {
        io,
        activity: activity.clone(),
    };
    let conn = setup.builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    let done = |r: Result<(), Box<dyn std::error::Error + Send + Sync>>| {
        if let Err(e) = r {
            tracing::debug!(error = %e, peer = %peer.addr, "connection ended with an error");
        }
    };
    // Polled only when the drain moves or a watcher tick comes (`gated`).
    let limits = &setup.limits;
    let mut watcher = Gated::new(async {
        tokio::select! {
            () = drain.reached(Phase::Draining) => None,
            quiet = activity.quiet(limits, &h2) => Some(quiet),
        }
    });
    tokio::select! {
        biased;
        r = conn.as_mut() => return done(r),
        why = &mut watcher => match why {
            None => {}
            // A slow head is dropped, as hyper's own timeout did: there is
            // no request to answer.
            Some(Quiet::SlowHead) => return,
            // A client that takes no bytes (`send_timeout`): HTTP/1 closes
            // at once.
            Some(Quiet::Stalled) if !h2.load(Ordering::Relaxed) => return,
            // Idle, or HTTP/2 stalled: GOAWAY first. Stalled streams never
            // finish: after GOAWAY they get `send_timeout` once more.
            Some(quiet) => {
                conn.as_mut().graceful_shutdown();
                let stalled = quiet == Quiet::Stalled;
                tokio::select! {
                    r = conn.as_mut() => return done(r),
                    () = drain.reached(Phase::Forced) => return,
                    () = tokio::time::sleep(limits.send_timeout), if stalled => return,
                }
            }
        }
    }
    if h2.load(Ordering::Relaxed) {
        conn.as_mut().graceful_shutdown(); // GOAWAY; open streams finish
    } else {
        tokio::select! {
            r = conn.as_mut() => return done(r),
            () = drain.reached(Phase::Closing) => conn.as_mut().graceful_shutdown(),
        }
    }
    tokio::select! {
        r = conn.as_mut() => done(r),
        () = drain.reached(Phase::Forced) => {}
    }
}

/// The connection's service. The handler runs in `call`, and the service's
/// future is a combinator, not an async block: a hit's response is ready
/// before hyper polls, and no state machine holding the request is built
/// and moved per request.
fn service<H, F>(
    handler: H,
    peer: Peer,
    requests: Arc<Activity>,
    seen_h2: Arc<AtomicBool>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Sending>,
    Error = std::convert::Infallible,
    Future = Answer<F>,
>
where
    H: Fn(Request<Incoming>, Peer) -> F + Send + Sync + 'static,
    F: Future<Output = Response<EdgeBody>> + Send + Unpin + 'static,
{
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let is_h2 = req.version() == Version::HTTP_2;
        if is_h2 {
            seen_h2.store(true, Ordering::Relaxed);
        }
        let in_flight = requests.request();
        // A panic ends this request only: the client gets a 500, the
        // connection and the node carry on.
        let answer = match std::panic::catch_unwind(AssertUnwindSafe(|| handler(req, peer))) {
            Ok(fut) => Either::Left(AssertUnwindSafe(fut).catch_unwind()),
            Err(panic) => Either::Right(std::future::ready(Err(panic))),
        };
        Answer {
            answer,
            done: Some((in_flight, peer, is_h2)),
        }
    })
}

type Panic = Box<dyn std::any::Any + Send>;

/// The handler's future with its panics caught, or a panic caught at once.
type Caught<F> = Either<CatchUnwind<AssertUnwindSafe<F>>, Ready<Result<Response<EdgeBody>, Panic>>>;

/// The service's future: the handler's answer (or its panic's 500), then
/// what the connection adds on the way out: the body becomes `Sending`,
/// which holds the request in flight until it is sent. A plain struct, not an async
/// block or a closure combinator: small, and `Send` without the
/// higher-ranked lifetime trouble closures over a panic payload hit.
struct Answer<F> {
    answer: Caught<F>,
    /// The request's in-flight guard, its client and whether it is HTTP/2.
    done: Option<(InFlight, Peer, bool)>,
}

impl<F: Future<Output = Response<EdgeBody>> + Unpin> Future for Answer<F> {
    type Output = Result<Response<Sending>, std::convert::Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let answer = ready!(Pin::new(&mut self.answer).poll(cx));
        let (in_flight, peer, is_h2) = self.done.take().expect("polled after completion");
        let mut resp = answer.unwrap_or_else(|panic| panicked(&panic, peer));
        let draining = in_flight.draining();
        // While draining, an HTTP/1 client is told to reconnect. After a
        // 414 or 431 the connection closes, as nginx does: whatever else the
        // client pipelined behind an oversized head is not trusted to start
        // where the head ended.
        if !is_h2 && (draining || closes_connection(resp.status())) {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(resp.map(|body| Sending::new(body, in_flight, is_h2))))
    }
}

/// Statuses after which an HTTP/1 connection is closed.
fn closes_connection(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::URI_TOO_LONG | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    )
}

/// The answer to a request whose task panicked; the panic is logged.
fn panicked(panic: &(dyn std::any::Any + Send), peer: Peer) -> Response<EdgeBody> {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    tracing::error!(panic = message, peer = %peer.addr, "request task panicked; answered 500");
    let body = "Internal Server Error\n";
    let mut resp = Response::new(EdgeBody::bytes(bytes::Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    resp
}
