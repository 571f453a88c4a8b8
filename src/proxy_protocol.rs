//! PROXY protocol v1 (text) and v2 (binary) on listeners that sit behind a
//! TCP load balancer (`proxy_protocol = true`): the header names the real
//! source address, which then stands in for the TCP peer.
//!
//! The `ppp` crate parses; this file only frames: it reads until a whole
//! header arrived and hands bytes read past it (the start of the TLS
//! handshake or HTTP request) back in front of the stream (`Prefixed`).
//! A listener configured for the protocol refuses connections without it,
//! as the spec requires (a client could otherwise pose as a balancer).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use ppp::{HeaderResult, PartialResult, v1, v2};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// v1 is at most 107 bytes; v2 is 16 plus its length. Addresses and the
/// TLVs balancers send fit easily; anything longer is refused.
const MAX_HEADER: usize = 4096;

/// Reads a PROXY header from `io`. Returns the source it names (`None` for
/// `LOCAL`/`UNKNOWN`: health checks of the balancer itself) and the stream
/// with any bytes read past the header put back.
pub async fn read_header<S: AsyncRead + Unpin>(mut io: S) -> io::Result<(Option<SocketAddr>, Prefixed<S>)> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Err(invalid("connection closed before a PROXY header"));
        }
        buf.extend_from_slice(&chunk[..n]);
        let parsed = HeaderResult::parse(&buf);
        if parsed.is_incomplete() {
            if buf.len() >= MAX_HEADER {
                return Err(invalid("PROXY header too long"));
            }
            continue;
        }
        let (source, len) = match parsed {
            HeaderResult::V1(Ok(h)) => (v1_source(&h.addresses), h.header.len()),
            HeaderResult::V2(Ok(h)) => (v2_source(&h), h.len()),
            HeaderResult::V1(Err(e)) => return Err(invalid(&format!("bad PROXY v1 header: {e}"))),
            HeaderResult::V2(Err(e)) => return Err(invalid(&format!("bad PROXY v2 header: {e}"))),
        };
        buf.drain(..len);
        return Ok((
            source,
            Prefixed {
                prefix: buf,
                pos: 0,
                io,
            },
        ));
    }
}

fn v1_source(a: &v1::Addresses) -> Option<SocketAddr> {
    match a {
        v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        v1::Addresses::Unknown => None,
    }
}

fn v2_source(h: &v2::Header<'_>) -> Option<SocketAddr> {
    if h.command == v2::Command::Local {
        return None;
    }
    match h.addresses {
        v2::Addresses::IPv4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        v2::Addresses::IPv6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        v2::Addresses::Unspecified | v2::Addresses::Unix(_) => None,
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

/// A stream with bytes already read from it put back in front.
pub struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    io: S,
}

impl<S> Prefixed<S> {
    /// The stream underneath (the socket, for zero-copy writes).
    pub fn inner(&self) -> &S {
        &self.io
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = out.remaining().min(this.prefix.len() - this.pos);
            out.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.prefix.len() {
                this.prefix = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, out)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn v1_header_split_across_reads_keeps_the_request_bytes() {
        let (mut client, server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            client.write_all(b"PROXY TCP4 198.51.100.7 10.0.0.1 ").await.unwrap();
            client.write_all(b"4711 443\r\nGET / HTTP/1.1\r\n").await.unwrap();
            client
        });
        let (source, mut rest) = read_header(server).await.unwrap();
        assert_eq!(source, Some("198.51.100.7:4711".parse().unwrap()));
        let _client = writer.await.unwrap();
        let mut line = [0u8; 16];
        rest.read_exact(&mut line).await.unwrap();
        assert_eq!(&line, b"GET / HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn a_missing_header_is_refused() {
        let (mut client, server) = tokio::io::duplex(64);
        use tokio::io::AsyncWriteExt;
        client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        assert!(read_header(server).await.is_err());
    }
}
