//! `server.send_timeout`: a client that takes no bytes of a response for
//! that long loses it (HTTP/1: the connection closes; HTTP/2: GOAWAY and
//! close), while a slow reader that keeps taking bytes is served whole.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wire::{byte, h2_requests, h2_tiny_window, read_to_end_counting};
use super::{ATTACK, BIG, edge_with, held_request};
use crate::support::TestEdge;

const SHORT: &str = "send_timeout = \"1s\"\nmax_connections = 1";

/// Fills the object on a connection that closes after it.
async fn fill(edge: &TestEdge) {
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    let req = "GET /media/big.bin HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n";
    s.write_all(req.as_bytes()).await.unwrap();
    assert!(read_to_end_counting(&mut s).await > BIG);
}

#[tokio::test]
async fn an_h1_client_that_stops_reading_loses_its_connection_after_send_timeout() {
    let (_origin, edge) = edge_with(SHORT, BIG).await;
    fill(&edge).await;
    for range in ["bytes=0-", ATTACK] {
        let (mut stalled, head) = held_request(&edge, range).await;
        assert!(head.starts_with("HTTP/1.1 206"), "{head}");
        let since = Instant::now();
        // One connection at a time: the next is served only once the edge
        // gave up on the stalled one.
        let (mut next, head) = held_request(&edge, "bytes=0-9").await;
        assert!(head.starts_with("HTTP/1.1 206"), "{head}");
        let waited = since.elapsed();
        assert!(waited >= Duration::from_millis(900), "cut off early: {waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        let got = read_to_end_counting(&mut stalled).await;
        assert!(got < BIG, "{range}: the stalled response was aborted, {got} bytes");
        drop(next.shutdown().await);
        drop(next);
    }
}

#[tokio::test]
async fn an_h2_client_with_a_closed_window_loses_its_streams_after_send_timeout() {
    let (_origin, edge) = edge_with("send_timeout = \"1s\"", BIG).await;
    fill(&edge).await;
    let (client, conn) = h2_tiny_window(&edge).await;
    let mut streams = Vec::new();
    for range in ["bytes=0-", ATTACK] {
        for resp in h2_requests(&client, range, 8).await {
            let resp = tokio::time::timeout(Duration::from_secs(10), resp)
                .await
                .expect("a response head")
                .unwrap();
            assert_eq!(resp.status(), 206);
            streams.push(resp.into_body());
        }
    }
    let since = Instant::now();
    // The client keeps its connection task running (it answers PINGs); the
    // edge ends the connection.
    let ended = tokio::time::timeout(Duration::from_secs(10), conn).await;
    assert!(ended.is_ok(), "connection still open after 10 s");
    let waited = since.elapsed();
    assert!(waited >= Duration::from_millis(900), "cut off early: {waited:?}");
    for mut body in streams {
        let mut got = 0;
        let end = loop {
            match body.data().await {
                Some(Ok(data)) => got += data.len(),
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        assert!(
            end.is_some() && got <= 1,
            "stream aborted, not finished: {got} bytes, {end:?}"
        );
    }
}

/// Reads one response body at about 2.5 MiB/s, checking every byte.
async fn read_slowly(s: &mut TcpStream, from: usize, len: usize) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut at = 0;
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    while at < len {
        pace.tick().await;
        let want = buf.len().min(len - at);
        s.read_exact(&mut buf[..want]).await.unwrap();
        assert!(buf[..want].iter().enumerate().all(|(i, b)| *b == byte(from + at + i)));
        at += want;
    }
}

const SLOW_LEN: usize = 8 * 1024 * 1024;

#[tokio::test]
async fn a_slow_h1_reader_that_keeps_reading_is_served_whole() {
    let (_origin, edge) = edge_with("send_timeout = \"1s\"", SLOW_LEN).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    let mut s = socket.connect(edge.addr).await.unwrap();
    for _ in 0..2 {
        // The fill, then a hit: both streamed to a reader ~3 s long.
        s.write_all(b"GET /media/big.bin HTTP/1.1\r\nHost: e\r\n\r\n")
            .await
            .unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(s.read_u8().await.unwrap());
        }
        assert!(head.starts_with(b"HTTP/1.1 200"));
        tokio::time::timeout(Duration::from_secs(30), read_slowly(&mut s, 0, SLOW_LEN))
            .await
            .expect("served within 30 s");
    }
}

#[tokio::test]
async fn a_slow_h2_reader_that_keeps_reading_is_served_whole() {
    let (_origin, edge) = edge_with("send_timeout = \"1s\"", SLOW_LEN).await;
    let tcp = TcpStream::connect(edge.addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    let conn = tokio::spawn(conn);
    for _ in 0..2 {
        let resp = h2_requests(&client, "bytes=0-", 1).await.pop().unwrap();
        let mut body = resp.await.unwrap().into_body();
        let mut pace = tokio::time::interval(Duration::from_millis(100));
        let (mut at, mut since_tick) = (0, 0);
        let read = async {
            while let Some(data) = body.data().await {
                let data = data.unwrap();
                assert!(data.iter().enumerate().all(|(i, b)| *b == byte(at + i)));
                at += data.len();
                since_tick += data.len();
                body.flow_control().release_capacity(data.len()).unwrap();
                if since_tick >= 256 * 1024 {
                    since_tick = 0;
                    pace.tick().await;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), read)
            .await
            .expect("served within 30 s");
        assert_eq!(at, SLOW_LEN);
    }
    assert!(!conn.is_finished(), "the connection carries on");
}

#[test]
fn send_timeout_must_be_a_positive_duration() {
    let base =
        "[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/\"\norigin = \"o\"\n";
    for (value, why) in [("0s", "more than 0s"), ("soon", "soon")] {
        let toml = format!("[server]\nsend_timeout = \"{value}\"\n\n{base}");
        let err = cachefront::config::Config::parse(&toml, std::path::Path::new("."))
            .expect_err(value)
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("server.send_timeout") && err.contains(why),
            "{err}"
        );
    }
    let toml = format!("[server]\nsend_timeout = \"90s\"\n\n{base}");
    let config = cachefront::config::Config::parse(&toml, std::path::Path::new(".")).unwrap();
    assert_eq!(config.server.limits.send_timeout, Duration::from_secs(90));
    let default = cachefront::config::Config::parse(base, std::path::Path::new(".")).unwrap();
    assert_eq!(default.server.limits.send_timeout, Duration::from_secs(60));
}
