//! A client for the admin listener: requests with bodies and credentials.

use std::net::SocketAddr;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::client::Reply;

#[derive(Clone)]
pub struct AdminClient {
    addr: SocketAddr,
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl AdminClient {
    pub fn new(addr: SocketAddr) -> AdminClient {
        AdminClient {
            addr,
            inner: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = self
            .inner
            .request(b.body(Full::new(Bytes::from(body.to_string()))).unwrap())
            .await
            .expect("admin request");
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], "").await
    }

    /// `POST /invalidations`; returns the reply (JSON).
    pub async fn invalidate(&self, paths: &[&str]) -> Reply {
        let body = serde_json::json!({ "paths": paths }).to_string();
        self.send("POST", "/invalidations", &[("content-type", "application/json")], &body)
            .await
    }

    /// One unlabelled counter or gauge from `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let prefix = format!("{name} ");
        let lines = self.metrics().await;
        let value = lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{name} is exported"));
        value.parse().unwrap()
    }

    /// Waits until an unlabelled counter or gauge reaches `n` (bounded:
    /// 10 s). Each poll is a round trip to the admin listener, no sleep.
    pub async fn wait_for_metric(&self, name: &str, n: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let value = self.metric(name).await;
            if value >= n {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} is {value}, not {n}, after 10 s"
            );
            tokio::task::yield_now().await;
        }
    }

    /// `/metrics`, as `name{labels} value` lines (no comments).
    pub async fn metrics(&self) -> Vec<String> {
        let r = self.get("/metrics").await;
        assert_eq!(r.status, 200);
        String::from_utf8(r.body.to_vec())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }
}

/// What a client writing bytes by hand saw.
#[derive(Debug)]
pub struct Seen {
    /// 0: no status line arrived.
    pub status: u16,
    /// HTTP/1: the whole response text; HTTP/2: the body.
    pub text: String,
    /// The server closed the connection (HTTP/1) within the wait.
    pub closed: bool,
}

/// HTTP/1.1 by hand: writes `bytes` (a head, perhaps part of a body),
/// then sends nothing more and reads whatever comes within `within` (until
/// the server closes, or the wait ends).
pub async fn h1_stalled(addr: SocketAddr, bytes: &[u8], within: std::time::Duration) -> Seen {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before taking it all.
    let _ = s.write_all(bytes).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(within, read).await.unwrap_or(false);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Seen { status, text, closed }
}

/// HTTP/2 (h2c, prior knowledge) with the `h2` crate: one request with
/// `headers` and `body`, the stream ended only if `end`; the answer's
/// status and body within `within` (status 0: none came).
pub async fn h2_send(
    addr: SocketAddr,
    request: http::request::Builder,
    body: &[u8],
    end: bool,
    within: std::time::Duration,
) -> Seen {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut client = client.ready().await.unwrap();
    let req = request.version(http::Version::HTTP_2).body(()).unwrap();
    let (response, mut stream) = client.send_request(req, body.is_empty() && end).unwrap();
    if !body.is_empty() {
        stream.send_data(Bytes::copy_from_slice(body), end).unwrap();
    }
    let answer = async {
        let resp = response.await.ok()?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut text = Vec::new();
        while let Some(Ok(chunk)) = body.data().await {
            let _ = body.flow_control().release_capacity(chunk.len());
            text.extend_from_slice(&chunk);
        }
        Some((status, text))
    };
    let seen = tokio::time::timeout(within, answer).await.ok().flatten();
    drop(stream);
    task.abort();
    let (status, text) = seen.unwrap_or((0, Vec::new()));
    Seen {
        status,
        text: String::from_utf8_lossy(&text).into_owned(),
        closed: false,
    }
}
