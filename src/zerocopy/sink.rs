//! The socket side: a vectored write whose buffers include a mapped body is
//! sent as `sendmsg(MSG_MORE)` for what precedes it, then `sendfile` for the
//! body. Returns how many of the given bytes went out, like any write, so
//! hyper's own partial-write handling carries on unchanged.

use std::io::{self, IoSlice};
use std::os::fd::AsFd;
use std::task::{Context, Poll, ready};

use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::{MIN_BYTES, SENT_BYTES, mapped};

/// A connection's transport: a plain TCP socket can `sendfile`; TLS and
/// wrappers that add bytes of their own cannot.
pub trait Sink {
    fn tcp(&self) -> Option<&TcpStream> {
        None
    }
}

impl Sink for TcpStream {
    fn tcp(&self) -> Option<&TcpStream> {
        Some(self)
    }
}

impl<S> Sink for tokio_rustls::server::TlsStream<S> {}

impl<S: Sink> Sink for crate::proxy_protocol::Prefixed<S> {
    fn tcp(&self) -> Option<&TcpStream> {
        // The PROXY header is only read; writes go straight to the socket.
        self.inner().tcp()
    }
}

/// `Some` when this write went (or is going) through `sendfile`; `None`
/// when nothing in `bufs` is a mapped body, and the caller writes normally.
pub fn poll_write_vectored<S: Sink>(
    io: &S,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Option<Poll<io::Result<usize>>> {
    let tcp = io.tcp()?;
    let (i, (file, offset)) = bufs
        .iter()
        .enumerate()
        .filter(|(_, b)| b.len() >= MIN_BYTES)
        .find_map(|(i, b)| mapped::lookup(b).map(|m| (i, m)))?;
    let body_len = bufs[i].len();
    let prefix = &bufs[..i];
    let prefix_len: usize = prefix.iter().map(|b| b.len()).sum();
    match tcp.poll_write_ready(cx) {
        Poll::Pending => return Some(Poll::Pending),
        Poll::Ready(Err(e)) => return Some(Poll::Ready(Err(e))),
        Poll::Ready(Ok(())) => {}
    }
    let mut sent = 0;
    if prefix_len > 0 {
        let r = tcp.try_io(Interest::WRITABLE, || {
            sendmsg(
                tcp,
                prefix,
                &mut SendAncillaryBuffer::default(),
                SendFlags::MORE | SendFlags::NOSIGNAL,
            )
            .map_err(io::Error::from)
        });
        match r {
            Ok(n) if n < prefix_len => return Some(Poll::Ready(Ok(n))),
            Ok(n) => sent = n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(wait(tcp, cx)),
            Err(e) => return Some(Poll::Ready(Err(e))),
        }
    }
    let mut off = offset;
    let r = tcp.try_io(Interest::WRITABLE, || {
        rustix::fs::sendfile(tcp.as_fd(), file, Some(&mut off), body_len).map_err(io::Error::from)
    });
    match r {
        Ok(n) => {
            SENT_BYTES.inc_by(n as u64);
            Some(Poll::Ready(Ok(sent + n)))
        }
        // The headers went; hyper calls again for the body.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && sent > 0 => Some(Poll::Ready(Ok(sent))),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(wait(tcp, cx)),
        Err(e) => Some(Poll::Ready(Err(e))),
    }
}

/// After `WouldBlock`: readiness was cleared by `try_io`, so polling again
/// registers the waker (or finds the socket writable already, and hyper
/// retries at once).
fn wait(tcp: &TcpStream, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
    ready!(tcp.poll_write_ready(cx))?;
    cx.waker().wake_by_ref();
    Poll::Pending
}
