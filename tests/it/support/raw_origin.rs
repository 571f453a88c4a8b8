//! A raw-byte logging HTTP/1.1 origin: a TCP listener that parses requests
//! off keep-alive connections itself (httparse) and logs every byte each
//! connection received, so a test sees exactly what the edge put on the
//! wire — framing headers, bodies, and what a desynchronised connection
//! makes of them.
//!
//! It frames requests as a typical app server does: it answers a request
//! as soon as its head is parsed, and then reads (and discards) the body the
//! head declared (`Content-Length` or chunked) before parsing the next
//! request. So when an edge forwards `Content-Length: N` without a body, the
//! first N bytes of the next request on the pooled connection are taken as
//! that body, and the rest is parsed as a request of its own (smuggling).
//!
//! Answers: by default a cacheable `200` whose body names the path asked
//! for (`path=/x`); a test chooses another answer per path with
//! [`RawOrigin::answer`] or for every path with [`RawOrigin::answer_with`].
//! [`RawOrigin::body_first`] makes it read a body before answering (to
//! answer with what it received, e.g. echo a POST body).
//! hyper is deliberately not used: it would refuse or normalise exactly the
//! bytes these tests need to see.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use self::wire::{Wire, parse_head};

mod wire;

/// Longest a connection is served (bounded; far beyond any test).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// Most requests parsed off one connection.
const MAX_REQUESTS_PER_CONNECTION: usize = 1000;
/// Largest request head or body buffered.
const MAX_BUFFER: usize = 1 << 20;

/// One request as the origin parsed it off the wire.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Which connection (0-based, in accept order) carried it.
    pub conn: usize,
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in wire order.
    pub headers: Vec<(String, String)>,
    /// The body as the head declared it (what was consumed as its body).
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.header(name).is_some()
    }
}

/// An answer: status, extra headers, body (`Content-Length` is added).
#[derive(Debug, Clone)]
pub struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// A 200 cacheable for ten minutes.
    pub fn cacheable(body: impl Into<Vec<u8>>) -> RawAnswer {
        RawAnswer {
            status: 200,
            headers: vec![("Cache-Control".into(), "max-age=600".into())],
            body: body.into(),
        }
    }
}

type Answerer = Arc<dyn Fn(&RawRequest) -> RawAnswer + Send + Sync>;

#[derive(Default)]
struct Log {
    /// Every byte received, per connection.
    bytes: Vec<Vec<u8>>,
    requests: Vec<RawRequest>,
}

pub struct RawOrigin {
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    answers: Arc<Mutex<Vec<(String, RawAnswer)>>>,
    answerer: Arc<Mutex<Answerer>>,
    count: watch::Sender<usize>,
    body_first: Arc<AtomicBool>,
}

impl RawOrigin {
    pub async fn start() -> RawOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = RawOrigin {
            addr: listener.local_addr().unwrap(),
            log: Arc::default(),
            answers: Arc::default(),
            answerer: Arc::new(Mutex::new(Arc::new(|r: &RawRequest| {
                RawAnswer::cacheable(format!("path={}", r.path))
            }))),
            count: watch::channel(0).0,
            body_first: Arc::default(),
        };
        let server = Server {
            log: origin.log.clone(),
            answers: origin.answers.clone(),
            answerer: origin.answerer.clone(),
            count: origin.count.clone(),
            body_first: origin.body_first.clone(),
        };
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let conn = {
                    let mut log = server.log.lock().unwrap();
                    log.bytes.push(Vec::new());
                    log.bytes.len() - 1
                };
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(CONNECTION_LIFETIME, server.serve(stream, conn)).await;
                });
            }
        });
        origin
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answer requests for `path` (exact, query included) with `answer`.
    pub fn answer(&self, path: &str, answer: RawAnswer) {
        self.answers.lock().unwrap().push((path.to_string(), answer));
    }

    /// Answer every path without its own answer with `f`.
    pub fn answer_with(&self, f: impl Fn(&RawRequest) -> RawAnswer + Send + Sync + 'static) {
        *self.answerer.lock().unwrap() = Arc::new(f);
    }

    /// Read each request's body before answering it (default: answer as
    /// soon as the head is in, then read the body).
    pub fn body_first(&self) {
        self.body_first.store(true, Ordering::SeqCst);
    }

    /// Requests parsed so far, in arrival order.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.log.lock().unwrap().requests.clone()
    }

    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Every byte each connection received, in accept order.
    pub fn bytes(&self) -> Vec<Vec<u8>> {
        self.log.lock().unwrap().bytes.clone()
    }

    /// Everything received, all connections, as (lossy) text.
    pub fn wire_text(&self) -> String {
        self.bytes()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect::<Vec<_>>()
            .join("\n---- next connection ----\n")
    }

    /// Waits until at least `n` requests were parsed (bounded: 10 s).
    pub async fn wait_for_requests(&self, n: usize) {
        let mut count = self.count.subscribe();
        tokio::time::timeout(Duration::from_secs(10), count.wait_for(|c| *c >= n))
            .await
            .expect("origin requests did not arrive within 10 s")
            .expect("origin alive");
    }

    /// An edge config with this origin as "app" and one route `/` to it.
    pub fn config(&self, server_extra: &str, route_extra: &str) -> String {
        format!(
            r#"
[server]
name = "edge-test"
{server_extra}

[origins.app]
kind = "http"
url = "{}"
connect_timeout = "2s"
response_timeout = "2s"

[[routes]]
path = "/"
origin = "app"
{route_extra}
"#,
            self.url()
        )
    }
}

#[derive(Clone)]
struct Server {
    log: Arc<Mutex<Log>>,
    answers: Arc<Mutex<Vec<(String, RawAnswer)>>>,
    answerer: Arc<Mutex<Answerer>>,
    count: watch::Sender<usize>,
    body_first: Arc<AtomicBool>,
}

impl Server {
    async fn serve(self, stream: TcpStream, conn: usize) {
        let mut wire = Wire {
            stream,
            buf: Vec::new(),
            conn,
            log: self.log.clone(),
        };
        for _ in 0..MAX_REQUESTS_PER_CONNECTION {
            let head = loop {
                match parse_head(&wire.buf) {
                    Ok(Some(head)) => break head,
                    Ok(None) if wire.fill().await => continue,
                    Ok(None) => return,
                    Err(_) => {
                        let _ = wire
                            .stream
                            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                }
            };
            wire.buf.drain(..head.len);
            let mut request = RawRequest {
                conn,
                method: head.method,
                path: head.path,
                headers: head.headers,
                body: Vec::new(),
            };
            let body_first = self.body_first.load(Ordering::SeqCst);
            if !body_first && !self.respond(&mut wire, &request).await {
                return;
            }
            let body = wire.body(&request).await;
            let complete = body.is_some();
            request.body = body.unwrap_or_default();
            if complete && body_first && !self.respond(&mut wire, &request).await {
                return;
            }
            self.log.lock().unwrap().requests.push(request);
            self.count.send_modify(|c| *c += 1);
            if !complete {
                return;
            }
        }
    }

    /// Writes the answer for `request`; `false` if the connection is gone.
    async fn respond(&self, wire: &mut Wire, request: &RawRequest) -> bool {
        let answer = self.answer_for(request);
        wire.stream.write_all(&render(&answer, &request.method)).await.is_ok()
    }

    fn answer_for(&self, request: &RawRequest) -> RawAnswer {
        let chosen = self
            .answers
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(p, _)| *p == request.path)
            .map(|(_, a)| a.clone());
        chosen.unwrap_or_else(|| {
            let f = self.answerer.lock().unwrap().clone();
            f(request)
        })
    }
}

fn render(answer: &RawAnswer, method: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\n",
        answer.status,
        answer.body.len()
    )
    .into_bytes();
    for (name, value) in &answer.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if method != "HEAD" {
        out.extend_from_slice(&answer.body);
    }
    out
}
