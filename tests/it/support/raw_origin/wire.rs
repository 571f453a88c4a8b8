//! The raw origin's read side: bytes off one connection, parsed with
//! httparse and framed by hand (see `super`), every byte logged.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::{Log, MAX_BUFFER, MAX_REQUESTS_PER_CONNECTION, RawRequest};

/// One connection's read side: bytes buffered but not yet parsed.
pub(super) struct Wire {
    pub(super) stream: TcpStream,
    pub(super) buf: Vec<u8>,
    pub(super) conn: usize,
    pub(super) log: Arc<Mutex<Log>>,
}

impl Wire {
    /// Reads more bytes; `false` at EOF or error.
    pub(super) async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(n) if n > 0 && self.buf.len() + n <= MAX_BUFFER => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.log.lock().unwrap().bytes[self.conn].extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }

    /// Takes exactly `n` bytes, reading as needed.
    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// Takes one CRLF-terminated line (without the CRLF).
    async fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.drain(..i + 2).take(i).collect();
                return Some(line);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// The body `request`'s head declared (chunked wins over a length, as
    /// RFC 9112 §6.3 says); `None` if the connection ended first.
    pub(super) async fn body(&mut self, request: &RawRequest) -> Option<Vec<u8>> {
        let chunked = request
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        let length = request
            .header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok());
        match (chunked, length) {
            (true, _) => self.chunked().await,
            (false, Some(n)) => self.take(n).await,
            (false, None) => Some(Vec::new()),
        }
    }

    /// A chunked body (RFC 9112 §7.1), trailers skipped. Hand-written:
    /// httparse parses chunk sizes only, and this is a dozen lines.
    async fn chunked(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        for _ in 0..MAX_REQUESTS_PER_CONNECTION {
            let size_line = self.line().await?;
            let size = std::str::from_utf8(&size_line).ok()?;
            let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, up to the empty line.
                for _ in 0..100 {
                    if self.line().await?.is_empty() {
                        return Some(body);
                    }
                }
                return None;
            }
            body.extend(self.take(size).await?);
            self.take(2).await?;
        }
        None
    }
}

/// What the head of a request declared.
pub(super) struct Head {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) len: usize,
}

pub(super) fn parse_head(buf: &[u8]) -> Result<Option<Head>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = req.parse(buf)? else {
        return Ok(None);
    };
    Ok(Some(Head {
        method: req.method.unwrap_or("").to_string(),
        path: req.path.unwrap_or("").to_string(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        len,
    }))
}
