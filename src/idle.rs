//! Client timeouts without a timer per request: keep-alive idle (no
//! request in flight and no bytes moving for `keepalive_timeout`), the
//! request-head timeout (`header_read_timeout`: no request begun or ended,
//! none in flight and nothing written for that long: a slowloris client
//! trickling header bytes, or one that connects and never asks) and the
//! send timeout (`send_timeout`: response bytes waiting and none taken for
//! that long: a client that stops reading, or an HTTP/2 client that never
//! opens its flow-control window; nginx's `send_timeout`).
//!
//! hyper has no idle timeout of its own for HTTP/2, and its HTTP/1 header
//! read timeout arms, polls and drops a timer for every request (about a
//! twelfth of a 1 KiB hit's instructions, callgrind). Here the socket
//! wrapper and the service bump counters and one watcher per connection
//! samples them once per tick: a connection is closed at most one tick
//! after its limit. The same wrapper hands writes of mapped bodies to
//! `zerocopy`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::config::ClientLimits;
use crate::zerocopy::{self, Sink};

/// What a connection did: I/O events, requests begun and ended, requests
/// in flight. The event counters are only compared for change, so a bump
/// is a plain load and store, not a locked add (two racing HTTP/2 streams
/// that lose one bump still show a change).
pub struct Activity {
    /// Reads and writes.
    io: AtomicU64,
    /// Writes alone: a response still going out is not a slow head.
    written: AtomicU64,
    /// Requests begun plus requests ended.
    requests: AtomicU64,
    in_flight: AtomicUsize,
    /// The last write found the socket full (the next one that goes
    /// through clears it).
    blocked: AtomicBool,
    /// HTTP/2 bodies that handed out a piece and wait to be asked for the
    /// next (`sending`): the stream waits on the client.
    waiting: AtomicUsize,
    /// Pieces taken after such a wait: HTTP/2 send progress.
    taken: AtomicU64,
    /// The node's drain flag (`Drain::flag`), read as each response leaves.
    draining: Arc<AtomicBool>,
}

/// Why a connection's watcher gave up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    /// No request in flight and no bytes moving for `keepalive_timeout`.
    Idle,
    /// No whole request head for `header_read_timeout` (HTTP/1 only).
    SlowHead,
    /// Response bytes waiting and none taken for `send_timeout`.
    Stalled,
}

fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

impl Activity {
    pub fn new(draining: Arc<AtomicBool>) -> Activity {
        Activity {
            io: AtomicU64::new(0),
            written: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            blocked: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            taken: AtomicU64::new(0),
            draining,
        }
    }

    /// Counts a request in flight until the guard drops.
    pub fn request(self: &Arc<Self>) -> InFlight {
        bump(&self.requests);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Returns once the connection has been idle for `keepalive_timeout`,
    /// has gone `header_read_timeout` without a request (while `h2` is
    /// unset), or has had response bytes waiting and none taken for
    /// `send_timeout`.
    pub async fn quiet(&self, limits: &ClientLimits, h2: &AtomicBool) -> Quiet {
        let (keepalive, head_timeout) = (limits.keepalive_timeout, limits.header_read_timeout);
        let tick = keepalive.min(head_timeout).min(limits.send_timeout);
        let (mut idle, mut headless, mut stalled) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let sample = || Sample {
            io: self.io.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            taken: self.taken.load(Ordering::Relaxed),
        };
        let mut last = sample();
        loop {
            tokio::time::sleep(tick).await;
            let now = sample();
            let waiting = self.in_flight.load(Ordering::Relaxed) == 0;
            let grow = |d: Duration, quiet: bool| if quiet { d + tick } else { Duration::ZERO };
            idle = grow(idle, waiting && now.io == last.io);
            headless = grow(
                headless,
                waiting && now.written == last.written && now.requests == last.requests,
            );
            stalled = grow(stalled, self.stalled(&now, &last, h2.load(Ordering::Relaxed)));
            if idle >= keepalive {
                return Quiet::Idle;
            }
            if headless >= head_timeout && !h2.load(Ordering::Relaxed) {
                return Quiet::SlowHead;
            }
            if stalled >= limits.send_timeout {
                return Quiet::Stalled;
            }
            last = now;
        }
    }

    /// Nothing sent since `last` though something waits to be: the socket
    /// is full and no write went through, or (HTTP/2) a body waits to be
    /// asked for its next piece and no body was.
    fn stalled(&self, now: &Sample, last: &Sample, h2: bool) -> bool {
        let socket = self.blocked.load(Ordering::Relaxed) && now.written == last.written;
        let streams = h2 && self.waiting.load(Ordering::Relaxed) > 0 && now.taken == last.taken;
        socket || streams
    }
}

/// The counters a watcher compares from one tick to the next.
struct Sample {
    io: u64,
    written: u64,
    requests: u64,
    taken: u64,
}

pub struct InFlight(Arc<Activity>);

impl InFlight {
    /// Whether the node is draining (its responses ask HTTP/1 clients to
    /// reconnect).
    pub fn draining(&self) -> bool {
        self.0.draining.load(Ordering::Relaxed)
    }

    /// An HTTP/2 body handed out a piece and waits to be asked again.
    pub fn waiting(&self) {
        self.0.waiting.fetch_add(1, Ordering::Relaxed);
    }

    /// ... and was asked again (or is gone).
    pub fn taken(&self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
        bump(&self.0.taken);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        bump(&self.0.requests);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that records its reads and writes in an `Activity`.
pub struct Watched<I> {
    pub io: I,
    pub activity: Arc<Activity>,
}

impl<I> Watched<I> {
    fn read(&self) {
        bump(&self.activity.io);
    }

    /// After a write: progress, or (`Pending`) a full socket.
    fn wrote<T>(&self, r: &Poll<T>) {
        let blocked = r.is_pending();
        self.activity.blocked.store(blocked, Ordering::Relaxed);
        if !blocked {
            bump(&self.activity.io);
            bump(&self.activity.written);
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if r.is_ready() {
            self.read();
        }
        r
    }
}

impl<I: AsyncWrite + Sink + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.wrote(&r);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = match zerocopy::poll_write_vectored(&self.io, cx, bufs) {
            Some(r) => r,
            None => Pin::new(&mut self.io).poll_write_vectored(cx, bufs),
        };
        self.wrote(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
