//! Limits on clients: head and URL sizes, header read and keep-alive idle
//! timeouts, connection and fill bounds, request bodies on GET, panics.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::http_origin::{self, HttpOrigin};
use crate::support::{TestEdge, raw_request};

async fn edge_with(server_extra: &str) -> (HttpOrigin, TestEdge) {
    let origin = HttpOrigin::start(|_| http_origin::ok("hello", &[("cache-control", "max-age=60")])).await;
    let config = origin
        .config("")
        .replace("name = \"edge-test\"", &format!("name = \"edge-test\"\n{server_extra}"));
    let edge = TestEdge::start(&config).await;
    (origin, edge)
}

#[tokio::test]
async fn request_heads_over_20_kib_are_431_and_urls_over_8_kib_414() {
    let (_origin, edge) = edge_with("").await;
    let big = "a".repeat(21 * 1024);
    let (status, _) = raw_request(
        edge.addr,
        format!("GET / HTTP/1.1\r\nHost: e\r\nConnection: close\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status, 431);
    let fits = "a".repeat(16 * 1024);
    let req = format!("GET /ok HTTP/1.1\r\nHost: e\r\nX-Big: {fits}\r\nConnection: close\r\n\r\n");
    assert_eq!(raw_request(edge.addr, req.as_bytes()).await.0, 200);

    let long = format!("/{}", "u".repeat(8 * 1024));
    let req = format!("GET {long} HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n");
    assert_eq!(raw_request(edge.addr, req.as_bytes()).await.0, 414);
    let req = format!("GET {} HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n", &long[..8000]);
    assert_eq!(raw_request(edge.addr, req.as_bytes()).await.0, 200);
}

/// Reads until the server closes; returns how long that took.
async fn time_to_close(mut s: TcpStream, trickle: bool) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    for _ in 0..100 {
        if trickle {
            // One header line every 100 ms: never a whole head.
            if s.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return start.elapsed();
            }
        }
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            return start.elapsed();
        }
    }
    panic!("connection still open after 10 s");
}

#[tokio::test]
async fn slowloris_is_cut_off_at_the_configured_header_read_timeout() {
    let (_origin, edge) = edge_with("header_read_timeout = \"500ms\"").await;
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: e\r\n").await.unwrap();
    let took = time_to_close(s, true).await;
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed_at_the_header_read_timeout() {
    // Keep-alive stays at its default (75 s): only the head timeout applies.
    let (_origin, edge) = edge_with("header_read_timeout = \"300ms\"").await;
    let s = TcpStream::connect(edge.addr).await.unwrap();
    let took = time_to_close(s, false).await;
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

/// An origin that answers every connection with a response head, then `n`
/// body bytes 100 ms apart.
async fn trickling_origin(n: usize) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n");
                let _ = s.write_all(head.as_bytes()).await;
                for _ in 0..n {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if s.write_all(b"x").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_response_still_being_written_outlives_the_header_read_timeout() {
    let origin = trickling_origin(10).await;
    let config = format!(
        "[server]\nname = \"edge-test\"\nheader_read_timeout = \"300ms\"\n\n\
         [cache]\nmax_object_size = \"5B\"\n\n\
         [origins.app]\nkind = \"http\"\nurl = \"http://{origin}\"\n\n\
         [[routes]]\npath = \"/\"\norigin = \"app\"\n"
    );
    let edge = TestEdge::start(&config).await;
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: e\r\n\r\n").await.unwrap();
    // Too large to store, so streamed: the head goes out at once and the
    // body takes a second, three head timeouts, to arrive whole.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"xxxxxxxxxx") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("bytes keep coming")
            .unwrap();
        assert!(n > 0, "closed mid-body: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_keepalive_timeout() {
    let (_origin, edge) = edge_with("keepalive_timeout = \"300ms\"").await;
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: e\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let took = time_to_close(s, false).await;
    // Closed between one and two periods after going quiet; hyper's own
    // header read timeout (30 s) would be far later.
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn beyond_max_connections_new_ones_wait_and_open_ones_are_unharmed() {
    let (_origin, edge) = edge_with("max_connections = 2").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(edge.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: e\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 4096];
        assert!(s.read(&mut buf).await.unwrap() > 0);
        held.push(s);
    }
    // The third connects (the kernel's backlog) but is not served.
    let mut third = TcpStream::connect(edge.addr).await.unwrap();
    third.write_all(b"GET / HTTP/1.1\r\nHost: e\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 4096];
    let waited = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
    assert!(waited.is_err(), "served beyond max_connections");
    // Open connections keep working.
    held[0].write_all(b"GET / HTTP/1.1\r\nHost: e\r\n\r\n").await.unwrap();
    assert!(held[0].read(&mut buf).await.unwrap() > 0);
    // One closes: the waiting one is served.
    drop(held.pop());
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot freed")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn fills_beyond_max_fills_wait_their_turn() {
    let origin = HttpOrigin::start(|_| http_origin::ok("x", &[("cache-control", "max-age=60")])).await;
    let config = origin
        .config("")
        .replace("[[routes]]", "[cache]\nmax_fills = 1\n\n[[routes]]");
    let edge = TestEdge::start(&config).await;
    origin.gate.hold();
    let a = tokio::spawn({
        let c = edge.client.clone();
        let url = edge.url("/a");
        async move { c.request("GET", &url, &[]).await }
    });
    let b = tokio::spawn({
        let c = edge.client.clone();
        let url = edge.url("/b");
        async move { c.request("GET", &url, &[]).await }
    });
    origin.gate.wait_for_requests(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(origin.requests(), 1, "the second fill waits for the first");
    origin.gate.release();
    assert_eq!(a.await.unwrap().status, 200);
    assert_eq!(b.await.unwrap().status, 200);
    assert_eq!(origin.requests(), 2);
}

#[tokio::test]
async fn a_get_body_is_not_read_into_memory() {
    let (origin, edge) = edge_with("").await;
    // Declares 1 GB and sends 10 bytes: answered without waiting for them
    // (a GET with a body is refused, and its body never read).
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nHost: e\r\nContent-Length: 1000000000\r\n\r\n0123456789")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("answered")
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert_eq!(origin.requests(), 0, "never forwarded");
}

#[tokio::test]
async fn a_panicking_request_task_answers_500_and_the_node_stays_up() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Both kinds of panic: while the handler is called (a hit's whole work
    // happens there) and while its future is polled.
    let handler = |req: http::Request<hyper::body::Incoming>, _peer: cachefront::client_addr::Peer| {
        if req.uri().path() == "/panic-at-once" {
            panic!("boom in a handler");
        }
        Box::pin(async move {
            if req.uri().path() == "/panic" {
                panic!("boom in a request task");
            }
            http::Response::new(cachefront::body::EdgeBody::bytes("fine".into()))
        })
    };
    tokio::spawn(cachefront::server::serve(
        cachefront::server::Listener::plain(listener),
        handler,
        Default::default(),
        Default::default(),
    ));
    for path in ["/panic", "/panic-at-once"] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n");
        let (status, text) = raw_request(addr, req.as_bytes()).await;
        assert_eq!(status, 500, "{path}");
        assert!(text.contains("no-store"));
    }
    let (status, text) = raw_request(addr, b"GET /ok HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status, 200);
    assert!(text.ends_with("fine"));
}

/// Writes `first` with a normal request pipelined behind it and reads
/// until the edge closes (EOF within 5 s, else the test fails); returns all
/// it answered.
async fn pipelined_after(addr: std::net::SocketAddr, first: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let both = format!("{first}GET /second HTTP/1.1\r\nHost: e\r\n\r\n");
    // The edge may close before reading it all: a failed write is fine.
    let _ = s.write_all(both.as_bytes()).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    for _ in 0..1000 {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return String::from_utf8_lossy(&out).into_owned(),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open 5 s after:\n{}", String::from_utf8_lossy(&out)),
        }
    }
    panic!("endless answer");
}

#[tokio::test]
async fn after_a_414_or_431_the_connection_closes_and_pipelined_requests_get_nothing() {
    let (origin, edge) = edge_with("").await;
    let long_url = format!("/{}", "u".repeat(8 * 1024));
    let cases = [
        (414, format!("GET {long_url} HTTP/1.1\r\nHost: e\r\n\r\n")),
        // Just over 20 KiB (the edge's own check) and far over (hyper's
        // read buffer).
        (
            431,
            format!("GET / HTTP/1.1\r\nHost: e\r\nX-Big: {}\r\n\r\n", "a".repeat(20 * 1024)),
        ),
        (
            431,
            format!("GET / HTTP/1.1\r\nHost: e\r\nX-Big: {}\r\n\r\n", "a".repeat(64 * 1024)),
        ),
    ];
    for (status, first) in cases {
        let answer = pipelined_after(edge.addr, &first).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{answer:.300}");
        assert_eq!(
            answer.matches("HTTP/1.1 ").count(),
            1,
            "the pipelined request was answered:\n{answer}"
        );
        let head = answer.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(head.contains("\r\nconnection: close"), "{head}");
    }
    assert_eq!(origin.requests(), 0);
    // A normal request keeps its connection.
    let answer = tokio::time::timeout(
        Duration::from_millis(500),
        pipelined_after(edge.addr, "GET /first HTTP/1.1\r\nHost: e\r\n\r\n"),
    )
    .await;
    assert!(answer.is_err(), "a normal request closed the connection");
}
