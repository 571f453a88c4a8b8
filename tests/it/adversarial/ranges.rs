//! Issue 18 item 5: what one response, or one connection, may hold. A
//! multipart range of a large cached object must not copy the object per
//! client, and a client that stops taking bytes must not hold its
//! response (or its connection) for longer than `send_timeout`.
//!
//! The RSS tests run alone in a child process (this test binary, filtered to
//! the one test): other tests running in parallel would move this process's
//! RSS. They warm everything first, allocate nothing large while measuring,
//! and compare resident pages before and after.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::client::Client;
use crate::support::s3_origin::BUCKET;
use crate::support::{S3Origin, TestEdge};

mod send_timeout;
mod wire;

use wire::{expected_multipart, put_pattern, read_head, read_to_end_counting};

/// 30 MiB: below the default `max_object_size`, so cached whole.
const BIG: usize = 30 * 1024 * 1024;
/// The attack: a one-byte part and the rest of the object, 2 parts.
const ATTACK: &str = "bytes=0-0,2-31457279";
/// The growth allowed for all the held responses together.
const BUDGET: u64 = 16 * 1024 * 1024;

const ROUTES: &str = r#"
[[routes]]
path = "/media/"
origin = "s3"
key_prefix = "media/"
ttl = { default = "1d" }
"#;

pub async fn edge_with(server_extra: &str, len: usize) -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    put_pattern(&origin.dir.path().join(BUCKET).join("media/big.bin"), len);
    let config = origin
        .config(ROUTES)
        .replacen("[server]", &format!("[server]\n{server_extra}"), 1);
    let edge = TestEdge::start(&config).await;
    (origin, edge)
}

/// Resident bytes of this process.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64
}

/// True in the child that runs `name` alone; in the parent, runs that child
/// and checks it passed.
async fn alone(name: &str) -> bool {
    const VAR: &str = "CACHEFRONT_TEST_ALONE";
    if std::env::var(VAR).as_deref() == Ok(name) {
        return true;
    }
    let child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(VAR, name)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the child test ends within 120 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(out.status.success(), "{name} failed alone:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{name} did not run:\n{stdout}");
    false
}

/// A GET with `range` on a fresh connection, read to the end of its head.
pub async fn held_request(edge: &TestEdge, range: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    let req = format!("GET /media/big.bin HTTP/1.1\r\nHost: e\r\nRange: {range}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let head = read_head(&mut s).await;
    (s, head)
}

/// Fills the object and runs one multipart answer through, read whole.
async fn warm(edge: &TestEdge) {
    let (s, head) = held_request(edge, "bytes=0-").await;
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    drop(s);
    let req = format!("GET /media/big.bin HTTP/1.1\r\nHost: e\r\nRange: {ATTACK}\r\nConnection: close\r\n\r\n");
    let mut s = TcpStream::connect(edge.addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let n = read_to_end_counting(&mut s).await;
    assert!(n > BIG - 2, "the whole multipart answer: {n} bytes");
}

#[tokio::test]
async fn eight_h1_clients_not_reading_a_multipart_range_hold_no_copy() {
    if !alone("adversarial::ranges::eight_h1_clients_not_reading_a_multipart_range_hold_no_copy").await {
        return;
    }
    let test = async {
        let (_origin, edge) = edge_with("", BIG).await;
        warm(&edge).await;
        let before = rss();
        let mut held = Vec::new();
        for _ in 0..8 {
            let (s, head) = held_request(&edge, ATTACK).await;
            assert!(head.starts_with("HTTP/1.1 206"), "{head}");
            assert!(head.contains("multipart/byteranges"), "{head}");
            held.push(s);
        }
        let grown = rss().saturating_sub(before);
        eprintln!("RSS growth, 8 h1 multipart clients not reading: {} KiB", grown / 1024);
        assert!(grown < BUDGET, "RSS grew by {} MiB", grown >> 20);
    };
    tokio::time::timeout(Duration::from_secs(90), test)
        .await
        .expect("bounded");
}

#[tokio::test]
async fn one_h2_connection_with_a_closed_window_and_16_streams_holds_no_copy() {
    if !alone("adversarial::ranges::one_h2_connection_with_a_closed_window_and_16_streams_holds_no_copy").await {
        return;
    }
    let test = async {
        let (_origin, edge) = edge_with("", BIG).await;
        warm(&edge).await;
        let (client, mut conn) = wire::h2_tiny_window(&edge).await;
        let before = rss();
        let mut held = Vec::new();
        for resp in wire::h2_requests(&client, ATTACK, 16).await {
            let resp = tokio::select! {
                r = resp => r.unwrap(),
                _ = &mut conn => panic!("connection closed"),
            };
            assert_eq!(resp.status(), 206);
            held.push(resp);
        }
        let grown = rss().saturating_sub(before);
        eprintln!("RSS growth, 16 h2 multipart streams, window 1: {} KiB", grown / 1024);
        assert!(grown < BUDGET, "RSS grew by {} MiB", grown >> 20);
        conn.abort();
    };
    tokio::time::timeout(Duration::from_secs(90), test)
        .await
        .expect("bounded");
}

/// Ranges of a mapped object (over 64 KiB), in request order, two adjacent
/// to the object's ends.
const PARTS: &str = "bytes=150000-, 0-0, 2-99, 70000-140000";

fn check_multipart(reply: &crate::support::client::Reply, len: usize) {
    assert_eq!(reply.status, 206);
    let ct = reply.header("content-type");
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("{ct}"));
    let want = expected_multipart(
        boundary,
        "application/octet-stream",
        &[(150_000, len - 1), (0, 0), (2, 99), (70_000, 140_000)],
        len,
    );
    assert_eq!(reply.header("content-length"), want.len().to_string());
    assert!(reply.body == want, "multipart body is byte-exact");
}

#[tokio::test]
async fn multipart_bodies_are_byte_exact_on_h1_and_h2() {
    let len = 200_000;
    let (_origin, edge) = edge_with("", len).await;
    let url = edge.url("/media/big.bin");
    for client in [Client::new(), Client::http2()] {
        let reply = client.request("GET", &url, &[("range", PARTS)]).await;
        check_multipart(&reply, len);
        // A hit as well as the fill.
        let reply = client.request("GET", &url, &[("range", PARTS)]).await;
        assert_eq!(reply.x_cache(), "Hit from edge-test");
        check_multipart(&reply, len);
    }
}
