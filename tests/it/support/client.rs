//! Clients: a hyper client for well-formed requests, and raw TCP for the
//! requests a well-behaved client would never send.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a client saw.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    pub fn x_cache(&self) -> &str {
        self.header("x-cache")
    }
}

#[derive(Clone)]
pub struct Client {
    inner: HyperClient<HttpConnector, Empty<Bytes>>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Client {
        Client {
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn http2() -> Client {
        Client {
            inner: HyperClient::builder(TokioExecutor::new()).http2_only(true).build_http(),
        }
    }

    pub async fn request(&self, method: &str, url: &str, headers: &[(&str, &str)]) -> Reply {
        let mut b = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let fut = async {
            let resp = self
                .inner
                .request(b.body(Empty::new()).unwrap())
                .await
                .expect("request");
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.expect("body").to_bytes();
            Reply {
                status: parts.status,
                headers: parts.headers,
                body,
            }
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("reply within 20 s")
    }
}

/// Sends raw bytes, reads until the server closes; returns the status code
/// and the whole response text.
pub async fn raw_request(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String) {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        (status, text)
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("raw reply within 10 s")
}
