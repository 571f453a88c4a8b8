//! A small HTTP origin: answers with a test-supplied handler, counts and
//! records requests, and can be held.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::gate::Gate;

/// What the origin saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: http::Method,
    pub uri: String,
    pub headers: http::HeaderMap,
}

pub type Handler = Arc<dyn Fn(&Seen) -> Response<Full<Bytes>> + Send + Sync>;

pub struct HttpOrigin {
    pub addr: SocketAddr,
    pub gate: Arc<Gate>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl HttpOrigin {
    pub async fn start(handler: impl Fn(&Seen) -> Response<Full<Bytes>> + Send + Sync + 'static) -> HttpOrigin {
        let handler: Handler = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let gate = Arc::new(Gate::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (g, s) = (gate.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (handler, g, s) = (handler.clone(), g.clone(), s.clone());
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (handler, g, s) = (handler.clone(), g.clone(), s.clone());
                    async move {
                        let seen = Seen {
                            method: req.method().clone(),
                            uri: req.uri().to_string(),
                            headers: req.headers().clone(),
                        };
                        s.lock().unwrap().push(seen.clone());
                        g.pass().await;
                        Ok::<_, Infallible>(handler(&seen))
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        HttpOrigin { addr, gate, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.gate.requests()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// An edge config with one HTTP origin ("app") at this server and one
    /// route `/` to it, plus extra settings.
    pub fn config(&self, route_extra: &str) -> String {
        format!(
            r#"
[server]
name = "edge-test"

[origins.app]
kind = "http"
url = "{}"
connect_timeout = "2s"
response_timeout = "1s"

[[routes]]
path = "/"
origin = "app"
{route_extra}
"#,
            self.url()
        )
    }
}

/// A 200 with a body and extra headers.
pub fn ok(body: &str, headers: &[(&str, &str)]) -> Response<Full<Bytes>> {
    let mut b = Response::builder();
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// A range-capable answer over `body` with `etag` (single ranges, as S3
/// and most servers serve them), for slicing tests.
pub fn ranged(seen: &Seen, body: &bytes::Bytes, etag: &str) -> Response<Full<Bytes>> {
    let total = body.len() as u64;
    let range = seen
        .headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
    let b = Response::builder()
        .header("etag", etag)
        .header("content-type", "video/mp4")
        .header("cache-control", "max-age=3600")
        .header("accept-ranges", "bytes");
    match range {
        Some((first, last)) if first < total => {
            let last = last.min(total - 1);
            b.status(206)
                .header("content-range", format!("bytes {first}-{last}/{total}"))
                .body(Full::new(body.slice(first as usize..=last as usize)))
                .unwrap()
        }
        Some(_) => b
            .status(416)
            .header("content-range", format!("bytes */{total}"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
        None => b.body(Full::new(body.clone())).unwrap(),
    }
}
