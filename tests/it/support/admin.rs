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
