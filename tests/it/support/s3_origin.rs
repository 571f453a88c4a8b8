//! An in-process S3 origin: the project's s3s-fs dev origin over a temp
//! directory, behind a wrapper that counts requests, records their URIs,
//! holds them on demand, and can answer with an injected S3 error.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cachefront::origin::dev::DevOrigin;
use http::{Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::gate::Gate;

pub const BUCKET: &str = "bucket";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehave {
    None,
    /// Answer every request with this S3 error status and code.
    Status(u16, &'static str),
    /// Never answer.
    Stall,
}

pub struct S3Origin {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub gate: Arc<Gate>,
    uris: Arc<Mutex<Vec<String>>>,
    mode: Arc<Mutex<Misbehave>>,
    bucket_requests: Arc<AtomicUsize>,
}

impl S3Origin {
    pub async fn start() -> S3Origin {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(BUCKET)).unwrap();
        let origin = DevOrigin::new(dir.path()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let gate = Arc::new(Gate::default());
        let uris = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(Misbehave::None));
        let bucket_requests = Arc::new(AtomicUsize::new(0));
        let (g, u, m, b) = (gate.clone(), uris.clone(), mode.clone(), bucket_requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (origin, g, u, m, b) = (origin.clone(), g.clone(), u.clone(), m.clone(), b.clone());
                let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (origin, g, u, m, b) = (origin.clone(), g.clone(), u.clone(), m.clone(), b.clone());
                    async move {
                        // Bucket-level requests (the edge's start-up check)
                        // are counted apart: tests count object requests.
                        let path = req.uri().path().trim_end_matches('/');
                        if path == format!("/{BUCKET}") || path.is_empty() {
                            b.fetch_add(1, Ordering::Relaxed);
                        } else {
                            u.lock().unwrap().push(req.uri().to_string());
                            g.pass().await;
                        }
                        let mode = *m.lock().unwrap();
                        match mode {
                            Misbehave::None => origin.call(req).await,
                            Misbehave::Status(status, code) => Ok(s3_error(status, code)),
                            Misbehave::Stall => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                unreachable!()
                            }
                        }
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        S3Origin {
            dir,
            addr,
            gate,
            uris,
            mode,
            bucket_requests,
        }
    }

    /// Requests for the bucket itself (HeadBucket, listings), not counted
    /// by `requests` nor held by the gate.
    pub fn bucket_requests(&self) -> usize {
        self.bucket_requests.load(Ordering::Relaxed)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes an object into the bucket.
    pub fn put(&self, key: &str, body: impl AsRef<[u8]>) {
        let path = self.dir.path().join(BUCKET).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    pub fn requests(&self) -> usize {
        self.gate.requests()
    }

    pub fn uris(&self) -> Vec<String> {
        self.uris.lock().unwrap().clone()
    }

    pub fn misbehave(&self, mode: Misbehave) {
        *self.mode.lock().unwrap() = mode;
    }

    /// An edge config with one S3 origin ("s3") at this server, using the
    /// dev credentials, and the given routes and extra settings.
    pub fn config(&self, extra: &str) -> String {
        format!(
            r#"
[server]
name = "edge-test"
drain_delay = "0s"
drain_timeout = "5s"

[origins.s3]
kind = "s3"
bucket = "{BUCKET}"
endpoint = "{}"
force_path_style = true
credentials = "dev"
connect_timeout = "2s"
response_timeout = "2s"

{extra}
"#,
            self.endpoint()
        )
    }
}

fn s3_error(status: u16, code: &str) -> Response<s3s::Body> {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected</Message><RequestId>test</RequestId></Error>"#
    );
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap())
        .header("content-type", "application/xml")
        .body(s3s::Body::from(body))
        .unwrap()
}

/// The two routes of the default config, on origin "s3".
pub const DJANGO_ROUTES: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
cache_control = "public, max-age=31536000, immutable"
ttl = { min = "0s", default = "1d", max = "365d" }
error_ttl = "10s"

[[routes]]
path = "/media/"
origin = "s3"
key_prefix = "media/"
cache_control = "public, max-age=86400"
ttl = { min = "0s", default = "1d", max = "365d" }
"#;
