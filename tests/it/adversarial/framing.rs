//! Issue 18 item 1: a client's framing never reaches an origin. A GET or
//! HEAD that carries a body (`Content-Length` + bytes, chunked, or HTTP/2
//! DATA frames) used to be forwarded with the client's `Content-Length` and
//! no body; an origin that answers first and then reads the declared body
//! took the next pooled request's bytes as that body and the rest as a
//! request of the attacker's choice, whose answer was stored under the
//! victim URL. Now such a request is refused (400, `Connection: close` on
//! HTTP/1.1; 403 in `cloudfront_compat`), and fill requests are built from
//! an allow-list, so the origin never sees client framing headers.
//! Passed methods keep their bodies, framed by the edge.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::support::TestEdge;
use crate::support::client::{Reply, raw_request};
use crate::support::raw_origin::{RawAnswer, RawOrigin};

/// Client framing and connection-level headers no origin request may carry.
pub const FRAMING: [&str; 5] = ["content-length", "transfer-encoding", "expect", "te", "upgrade"];

/// The header whose value is the smuggled request line.
const SMUGGLED: &str = "GET /evil HTTP/1.1";

/// One request on a fresh HTTP/2 (prior knowledge) connection, with a body.
pub async fn h2_send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let fut = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut b = Request::builder()
            .method(method)
            .uri(format!("http://edge.test{path}"))
            .version(Version::HTTP_2);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
        let resp = sender.send_request(req).await.expect("h2 response");
        let (parts, body) = resp.into_parts();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.map(|b| b.to_bytes()).unwrap_or_default(),
        }
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("h2 reply within 10 s")
}

/// What one raw HTTP/1.1 connection got back for `request`.
pub struct Exchange {
    pub status: u16,
    pub text: String,
    /// The edge closed the connection (rather than going quiet for 2 s).
    pub closed: bool,
}

/// Sends `request` on a fresh connection; reads until the edge closes it
/// or is quiet for 2 s (a keep-alive answer), bounded.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Exchange {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(request).await;
    let (mut out, mut closed, mut buf) = (Vec::new(), false, [0u8; 16 * 1024]);
    for _ in 0..1000 {
        match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            Ok(_) => {
                closed = true;
                break;
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Exchange { status, text, closed }
}

/// The body of a raw HTTP/1.1 response text.
pub fn raw_body(text: &str) -> &str {
    text.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// Asserts that no request the origin parsed carried client framing, and
/// that none asked for the smuggled path.
pub fn assert_origin_clean(origin: &RawOrigin) {
    for r in origin.requests() {
        assert_ne!(
            r.path,
            "/evil",
            "a smuggled request reached the origin on connection {}:\n{}",
            r.conn,
            origin.wire_text()
        );
        if r.method == "GET" || r.method == "HEAD" {
            for name in FRAMING {
                assert!(!r.has(name), "{name} reached the origin:\n{}", origin.wire_text());
            }
            assert!(r.body.is_empty(), "a GET body reached the origin");
        }
    }
}

/// Where, in the bytes the edge sends for `GET /vprobe` with the smuggling
/// header, the header's value starts (what an attacker works out once).
async fn calibrate(edge: &TestEdge, origin: &RawOrigin) -> usize {
    let probe = format!("GET /vprobe HTTP/1.1\r\nHost: edge.test\r\nx-s: {SMUGGLED}\r\nConnection: close\r\n\r\n");
    let (status, _) = raw_request(edge.addr, probe.as_bytes()).await;
    assert_eq!(status, 200);
    let wire = origin.bytes().concat();
    let start = find(&wire, b"GET /vprobe").expect("probe reached the origin");
    // Once fixed, the header is not forwarded at all: any length will do.
    find(&wire[start..], SMUGGLED.as_bytes()).unwrap_or(16)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sets up the attack: an origin with a distinctive `/evil`, an edge, and
/// the length the attacker declares.
async fn attack_setup(server_extra: &str) -> (RawOrigin, TestEdge, usize) {
    let origin = RawOrigin::start().await;
    origin.answer("/evil", RawAnswer::cacheable("EVIL"));
    let edge = TestEdge::start(&origin.config(server_extra, "")).await;
    let n = calibrate(&edge, &origin).await;
    (origin, edge, n)
}

/// The follow-up request whose bytes the origin would split, then what
/// every client of `/victim` gets.
async fn victim_after_attack(edge: &TestEdge, origin: &RawOrigin) {
    let follow = format!("GET /victim HTTP/1.1\r\nHost: edge.test\r\nx-s: {SMUGGLED}\r\nConnection: close\r\n\r\n");
    let (_, text) = raw_request(edge.addr, follow.as_bytes()).await;
    assert_eq!(raw_body(&text), "path=/victim", "the follow-up got:\n{text}");
    for client in [
        crate::support::client::Client::new(),
        crate::support::client::Client::http2(),
    ] {
        let r = client.request("GET", &edge.url("/victim"), &[]).await;
        assert_eq!((r.status.as_u16(), &r.body[..]), (200, &b"path=/victim"[..]));
    }
    assert_origin_clean(origin);
}

/// Before: 200 for the attack, the edge forwarded `Content-Length: N` with
/// no body, and `/victim` was stored (and served as a Hit) with `EVIL`.
#[tokio::test]
async fn h1_get_with_a_body_is_refused_and_cannot_poison_another_url() {
    let (origin, edge, n) = attack_setup("").await;
    let attack = format!(
        "GET /a1 HTTP/1.1\r\nHost: edge.test\r\nContent-Length: {n}\r\n\r\n{}",
        "x".repeat(n)
    );
    let refused = exchange(edge.addr, attack.as_bytes()).await;
    victim_after_attack(&edge, &origin).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert!(refused.closed, "the connection stays open:\n{}", refused.text);
    assert!(refused.text.to_ascii_lowercase().contains("connection: close"));
    assert!(raw_body(&refused.text).len() < 200, "{}", refused.text);
}

/// Before: 200, with `content-length` forwarded (no body); `/victim`
/// poisoned as on HTTP/1.1.
#[tokio::test]
async fn h2_get_with_content_length_and_data_is_refused_and_cannot_poison_another_url() {
    let (origin, edge, n) = attack_setup("").await;
    let len = n.to_string();
    let body = vec![b'x'; n];
    let with_length = h2_send(edge.addr, "GET", "/a1", &[("content-length", &len)], &body).await;
    victim_after_attack(&edge, &origin).await;
    assert_eq!(with_length.status.as_u16(), 400);
    assert!(with_length.body.len() < 200);
    // Without a content-length: DATA frames alone; and HEAD.
    let r = h2_send(edge.addr, "GET", "/a2", &[], b"GET /evil HTTP/1.1\r\n\r\n").await;
    assert_eq!(r.status.as_u16(), 400);
    let r = h2_send(edge.addr, "HEAD", "/a3", &[("content-length", "3")], b"abc").await;
    assert_eq!(r.status.as_u16(), 400);
    victim_after_attack(&edge, &origin).await;
}

/// Before: 200 (the chunked body dropped, the request forwarded).
#[tokio::test]
async fn h1_chunked_get_and_head_with_a_body_are_refused() {
    let (origin, edge, _) = attack_setup("").await;
    let chunked = "GET /c1 HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let head = "HEAD /c2 HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 5\r\n\r\nhello";
    for attack in [chunked, head] {
        let r = exchange(edge.addr, attack.as_bytes()).await;
        assert_eq!(r.status, 400, "{attack:?}:\n{}", r.text);
        assert!(
            r.closed && r.text.to_ascii_lowercase().contains("connection: close"),
            "{}",
            r.text
        );
    }
    let seen: Vec<String> = origin.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(seen, ["/vprobe"], "{}", origin.wire_text());
    victim_after_attack(&edge, &origin).await;
}

/// CloudFront answers 403 to a GET request with a body ("If a viewer
/// GET request includes a body, CloudFront returns an HTTP status code 403
/// (Forbidden) to the viewer": Amazon CloudFront Developer Guide, "Request
/// and response behavior for custom origins", section "Body"). In
/// `cloudfront_compat` the edge does the same. Before: 200.
#[tokio::test]
async fn in_cloudfront_compat_a_get_with_a_body_is_403_as_cloudfront_answers() {
    let (origin, edge, n) = attack_setup("cloudfront_compat = true").await;
    let attack = format!(
        "GET /a1 HTTP/1.1\r\nHost: edge.test\r\nContent-Length: {n}\r\n\r\n{}",
        "x".repeat(n)
    );
    let refused = exchange(edge.addr, attack.as_bytes()).await;
    victim_after_attack(&edge, &origin).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.closed, "{}", refused.text);
    let r = h2_send(edge.addr, "GET", "/a2", &[("content-length", "3")], b"abc").await;
    assert_eq!(r.status.as_u16(), 403);
}

/// Framing headers that may come without a body (`Expect`, `TE`,
/// `Upgrade`, `Content-Length: 0`) are answered normally, never forwarded.
/// Before: `Content-Length: 0` and `Expect` reached the origin.
#[tokio::test]
async fn bodiless_framing_headers_are_never_forwarded_on_a_fill() {
    let origin = RawOrigin::start().await;
    let edge = TestEdge::start(&origin.config("", "")).await;
    let req = "GET /f1 HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 0\r\nExpect: 100-continue\r\nTE: trailers\r\nUpgrade: h2c\r\nConnection: close, Upgrade, TE\r\n\r\n";
    let (status, text) = raw_request(edge.addr, req.as_bytes()).await;
    assert_eq!((status, raw_body(&text)), (200, "path=/f1"), "{text}");
    let r = h2_send(
        edge.addr,
        "GET",
        "/f2",
        &[("content-length", "0"), ("te", "trailers")],
        b"",
    )
    .await;
    assert_eq!((r.status.as_u16(), &r.body[..]), (200, &b"path=/f2"[..]));
    origin.wait_for_requests(2).await;
    assert_eq!(origin.count(), 2);
    assert_origin_clean(&origin);
}
