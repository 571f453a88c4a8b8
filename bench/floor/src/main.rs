//! The floor: what a hit costs with nothing but hyper in the way.
//!
//! A bare hyper 1.x HTTP/1.1 server that, at start-up, reads the objects the
//! perf harness origin serves (`/tmp/perf-origin`, see
//! `shared/perf/gen-objects.sh`) into a `HashMap<path, (HeaderMap, Bytes)>`
//! with every header pre-built, and answers GETs from it. No cache policy, no
//! origin, no logging: the lower bound cachefront's hit path is compared to.
//!
//! Usage: cachefront-floor [PORT [ROOT]]   (default 8299 /tmp/perf-origin)
//! Env:   FLOOR_RUNTIME=current|multi      (default current: one current-thread
//!        runtime; `multi` = multi-thread runtime with available_parallelism workers)
//!
//! Headers mirror a cachefront hit: Content-Type, Content-Length, the route's
//! Cache-Control (`/static/` vs `/media/`), Via, X-Cache (hyper adds Date).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

type Table = HashMap<String, (HeaderMap, Bytes)>;

const STATIC_CC: &str = "public, max-age=31536000, immutable";
const MEDIA_CC: &str = "public, max-age=86400";

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Table) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &p, out)?;
            continue;
        }
        let rel = p.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
        let url = format!("/{rel}");
        if url.ends_with(".tmp") {
            continue;
        }
        let body = Bytes::from(std::fs::read(&p)?);
        let cc = if url.starts_with("/static/") { STATIC_CC } else { MEDIA_CC };
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&url)));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len() as u64));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cc));
        h.insert(header::VIA, HeaderValue::from_static("1.1 floor"));
        h.insert(HeaderName::from_static("x-cache"), HeaderValue::from_static("Hit from floor"));
        out.insert(url, (h, body));
    }
    Ok(())
}

async fn handle(table: Arc<Table>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return Ok(r);
    }
    Ok(match table.get(req.uri().path()) {
        Some((headers, body)) => {
            let mut r = Response::new(Full::new(if head { Bytes::new() } else { body.clone() }));
            *r.headers_mut() = headers.clone();
            r
        }
        None => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    })
}

async fn serve(addr: SocketAddr, table: Arc<Table>) {
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    println!("floor serving {} objects on http://{addr}", table.len());
    loop {
        let (sock, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        let table = table.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(table.clone(), req));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(sock), svc).await;
        });
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map(|p| p.parse().expect("PORT")).unwrap_or(8299);
    let root = args.next().unwrap_or_else(|| "/tmp/perf-origin".to_string());
    let mut table = Table::new();
    walk(Path::new(&root), Path::new(&root), &mut table).unwrap_or_else(|e| panic!("read {root}: {e}"));
    assert!(!table.is_empty(), "no objects under {root}: run shared/perf/gen-objects.sh");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let rt = match std::env::var("FLOOR_RUNTIME").as_deref() {
        Ok("multi") => tokio::runtime::Builder::new_multi_thread().enable_io().build(),
        _ => tokio::runtime::Builder::new_current_thread().enable_io().build(),
    }
    .expect("tokio runtime");
    rt.block_on(serve(addr, Arc::new(table)));
}
