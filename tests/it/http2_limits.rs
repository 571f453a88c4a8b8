//! HTTP/2 limits, seen from the wire (h2c prior knowledge on the plain
//! listener): the SETTINGS the edge advertises, streams beyond
//! `SETTINGS_MAX_CONCURRENT_STREAMS` refused, never served concurrently, and
//! header lists over the limit answered 431 by the server itself.
//!
//! The stream test writes frames by hand: a client library queues streams
//! beyond the peer's limit itself, so it would never test the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::support::http_origin::{self, HttpOrigin};
use crate::support::{TestEdge, raw_request};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;
const REFUSED_STREAM: u32 = 0x7;
/// What the edge promises (nginx's `http2_max_concurrent_streams` default).
const MAX_STREAMS: u32 = 128;

struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.extend([kind, flags]);
    f.extend(stream.to_be_bytes());
    f.extend(payload);
    f
}

/// A GET for `path` as one HEADERS frame (END_STREAM | END_HEADERS), HPACK
/// without Huffman or indexing: `:method GET`, `:scheme http` (static
/// table), `:authority` and `:path` as literals with indexed names.
fn get(stream: u32, path: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x86];
    for (index, value) in [(1u8, "e"), (4, path)] {
        assert!(value.len() < 127);
        block.extend([index, value.len() as u8]);
        block.extend(value.as_bytes());
    }
    frame(HEADERS, 0x5, stream, &block)
}

async fn read_frame(s: &mut TcpStream) -> Frame {
    let mut head = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut head))
        .await
        .expect("a frame within 5 s")
        .expect("connection open");
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).await.unwrap();
    Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    }
}

fn settings(f: &Frame) -> Vec<(u16, u32)> {
    f.payload
        .chunks(6)
        .map(|c| {
            (
                u16::from_be_bytes([c[0], c[1]]),
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
            )
        })
        .collect()
}

/// A server (the edge's accept loop and connection setup) whose handler
/// holds every request until released, counting how many it holds at once.
struct HeldServer {
    addr: std::net::SocketAddr,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    arrived: Arc<Notify>,
    release: Arc<Notify>,
}

async fn held_server() -> HeldServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let s = HeldServer {
        addr: listener.local_addr().unwrap(),
        in_flight: Arc::default(),
        peak: Arc::default(),
        arrived: Arc::default(),
        release: Arc::default(),
    };
    let (in_flight, peak, arrived, release) = (
        s.in_flight.clone(),
        s.peak.clone(),
        s.arrived.clone(),
        s.release.clone(),
    );
    let handler = move |_req: http::Request<hyper::body::Incoming>, _peer: cachefront::client_addr::Peer| {
        let (in_flight, peak, arrived, release) = (in_flight.clone(), peak.clone(), arrived.clone(), release.clone());
        Box::pin(async move {
            let released = release.notified();
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            arrived.notify_one();
            released.await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            http::Response::new(cachefront::body::EdgeBody::bytes("fine".into()))
        })
    };
    tokio::spawn(cachefront::server::serve(
        cachefront::server::Listener::plain(listener),
        handler,
        Default::default(),
        Default::default(),
    ));
    s
}

#[tokio::test]
async fn streams_beyond_max_concurrent_streams_are_refused_and_never_served_at_once() {
    let server = held_server().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // Preface, empty SETTINGS, then 200 requests at once: written before
    // the server's SETTINGS could have been read, as a hostile client would.
    let total = 200u32;
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    for i in 0..total {
        out.extend(get(1 + 2 * i, &format!("/s{i}")));
    }
    s.write_all(&out).await.unwrap();

    let first = read_frame(&mut s).await;
    assert_eq!(
        (first.kind, first.flags),
        (SETTINGS, 0),
        "the server's SETTINGS come first"
    );
    let advertised = settings(&first);
    assert!(
        advertised.contains(&(SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS)),
        "{advertised:?}"
    );
    s.write_all(&frame(SETTINGS, 0x1, 0, &[])).await.unwrap(); // ACK

    // While the first 128 are held, the other 72 are reset REFUSED_STREAM
    // (safe for a client to retry: RFC 9113 §8.7).
    let mut refused = Vec::new();
    for _ in 0..1000 {
        if refused.len() == (total - MAX_STREAMS) as usize {
            break;
        }
        let f = read_frame(&mut s).await;
        match f.kind {
            RST_STREAM => {
                let code = u32::from_be_bytes(f.payload[..4].try_into().unwrap());
                assert_eq!(code, REFUSED_STREAM, "stream {}", f.stream);
                refused.push(f.stream);
            }
            SETTINGS | 0x8 /* WINDOW_UPDATE */ | 0x6 /* PING */ => {}
            other => panic!("unexpected frame type {other} on stream {} while held", f.stream),
        }
    }
    let expected: Vec<u32> = (MAX_STREAMS..total).map(|i| 1 + 2 * i).collect();
    assert_eq!(refused, expected, "exactly the streams beyond the limit are refused");
    for _ in 0..100 {
        if server.in_flight.load(Ordering::SeqCst) == MAX_STREAMS as usize {
            break;
        }
        tokio::time::timeout(Duration::from_secs(5), server.arrived.notified())
            .await
            .expect("held requests arrive");
    }
    assert_eq!(server.in_flight.load(Ordering::SeqCst), MAX_STREAMS as usize);

    // Released, every accepted stream is answered; none was ever served
    // beyond the limit.
    server.release.notify_waiters();
    let mut answered = std::collections::BTreeSet::new();
    let mut ended = 0;
    for _ in 0..10_000 {
        if ended == MAX_STREAMS {
            break;
        }
        let f = read_frame(&mut s).await;
        match f.kind {
            HEADERS => {
                answered.insert(f.stream);
            }
            DATA if f.flags & 0x1 != 0 => ended += 1,
            GOAWAY | RST_STREAM => panic!("frame {} on stream {} after release", f.kind, f.stream),
            _ => {}
        }
    }
    assert_eq!(answered.len(), MAX_STREAMS as usize);
    assert!(answered.iter().all(|id| *id < 1 + 2 * MAX_STREAMS));
    assert_eq!(server.peak.load(Ordering::SeqCst), MAX_STREAMS as usize);
}

/// The edge advertises its header-list limit; the h2 client here allows
/// itself far more, so the request reaches the server and the answer is the
/// server's own.
#[tokio::test]
async fn http2_header_lists_over_the_limit_are_answered_431_by_the_server() {
    let origin = HttpOrigin::start(|_| http_origin::ok("hello", &[("cache-control", "max-age=60")])).await;
    let edge = TestEdge::start(&origin.config("")).await;

    // The SETTINGS frame, read raw.
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    s.write_all(&out).await.unwrap();
    let first = read_frame(&mut s).await;
    assert_eq!(first.kind, SETTINGS);
    let advertised = settings(&first);
    assert!(
        advertised.contains(&(SETTINGS_MAX_HEADER_LIST_SIZE, 32 * 1024)),
        "{advertised:?}"
    );
    assert!(
        advertised.contains(&(SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS)),
        "{advertised:?}"
    );
    drop(s);

    let tcp = TcpStream::connect(edge.addr).await.unwrap();
    let (client, conn) = h2::client::Builder::new()
        .max_header_list_size(1 << 20)
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(conn);
    let send = |headers: Vec<(&'static str, String)>| {
        let client = client.clone();
        async move {
            let mut b = http::Request::get("http://e/h2");
            for (k, v) in headers {
                b = b.header(k, v);
            }
            let mut client = client.ready().await.unwrap();
            let (resp, _) = client.send_request(b.body(()).unwrap(), true).unwrap();
            tokio::time::timeout(Duration::from_secs(5), resp)
                .await
                .expect("answered")
        }
    };
    // A normal request first: the client has then acknowledged the
    // server's SETTINGS, so the advertised limit is in force.
    let ok = send(vec![("x-a", "b".into())]).await.unwrap();
    assert_eq!(ok.status(), 200);

    // Over the edge's 20 KiB head rule, under the HTTP/2 layer's cap: the
    // edge answers 431 like HTTP/1.1 and the connection carries on.
    let r = send(vec![("x-big", "b".repeat(24 * 1024))]).await.unwrap();
    assert_eq!(r.status(), 431);

    // Over the advertised SETTINGS_MAX_HEADER_LIST_SIZE: hyper's h2 answers
    // 431 itself and resets the stream; the client sees the 431, or the
    // reset if it came first.
    match send(vec![("x-big", "b".repeat(40 * 1024))]).await {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => assert!(
            e.is_remote() && e.reason() == Some(h2::Reason::PROTOCOL_ERROR),
            "not the server's answer: {e:?}"
        ),
    }
    // Same connection, still serving.
    let again = send(vec![]).await.unwrap();
    assert_eq!(again.status(), 200);
    // HTTP/1.1 keeps its 20 KiB rule too.
    let big = "a".repeat(21 * 1024);
    let req = format!("GET / HTTP/1.1\r\nHost: e\r\nConnection: close\r\nX-Big: {big}\r\n\r\n");
    assert_eq!(raw_request(edge.addr, req.as_bytes()).await.0, 431);
}
