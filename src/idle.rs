//! Keep-alive idle timeout: a connection with no request in flight and no
//! bytes moving for `keepalive_timeout` is closed.
//!
//! hyper has no idle timeout of its own for HTTP/2, and for HTTP/1 only its
//! header read timeout (which also runs while a keep-alive connection waits
//! for its next request). Rather than re-arm a timer per read, the socket
//! wrapper bumps a counter and a watcher samples it once per period: a
//! connection is closed between one and two periods after it went quiet.
//!
//! The same wrapper hands writes of mapped bodies to `zerocopy`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::zerocopy::{self, Sink};

/// What a connection did: I/O events and requests in flight.
#[derive(Default)]
pub struct Activity {
    io: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    /// Counts a request in flight until the guard drops.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Returns once the connection has been quiet for a whole period.
    pub async fn idle_for(&self, period: Duration) {
        let mut last = self.io.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(period).await;
            let now = self.io.load(Ordering::Relaxed);
            if now == last && self.in_flight.load(Ordering::Relaxed) == 0 {
                return;
            }
            last = now;
        }
    }
}

pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that records its reads and writes in an `Activity`.
pub struct Watched<I> {
    pub io: I,
    pub activity: Arc<Activity>,
}

impl<I> Watched<I> {
    fn bump(&self) {
        self.activity.io.fetch_add(1, Ordering::Relaxed);
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if r.is_ready() {
            self.bump();
        }
        r
    }
}

impl<I: AsyncWrite + Sink + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if r.is_ready() {
            self.bump();
        }
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
        if r.is_ready() {
            self.bump();
        }
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
