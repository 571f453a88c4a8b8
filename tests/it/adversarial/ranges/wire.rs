//! The client side of the range attacks: the object's bytes computed, not
//! held; responses read without keeping them; an HTTP/2 client that never
//! opens its flow-control window.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::support::TestEdge;

/// Byte `i` of the test object.
pub fn byte(i: usize) -> u8 {
    ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8
}

/// Writes a `len`-byte object at `path`, 64 KiB at a time.
pub fn put_pattern(path: &Path, len: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut chunk = Vec::with_capacity(64 * 1024);
    let mut i = 0;
    while i < len {
        chunk.clear();
        chunk.extend((i..len.min(i + 64 * 1024)).map(byte));
        f.write_all(&chunk).unwrap();
        i += chunk.len();
    }
    f.flush().unwrap();
}

/// Reads up to the end of a response head (and whatever came with it);
/// returns the head.
pub async fn read_head(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("a response head within 10 s")
            .unwrap();
        assert!(n > 0, "closed before a head");
        got.extend_from_slice(&buf[..n]);
        assert!(got.len() < 64 * 1024, "a head of sane size");
    }
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8_lossy(&got[..end]).into_owned()
}

/// Reads until the server closes (or resets); returns the byte count.
pub async fn read_to_end_counting(s: &mut TcpStream) -> usize {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return total,
            Ok(Ok(n)) => total += n,
            Err(_) => panic!("still open after 20 s without a byte"),
        }
    }
}

/// The `multipart/byteranges` body RFC 9110 §14.6 describes for `parts` of
/// the test object, as the edge frames it (CRLF before each delimiter).
pub fn expected_multipart(boundary: &str, content_type: &str, parts: &[(usize, usize)], len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for &(a, b) in parts {
        let head =
            format!("\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {a}-{b}/{len}\r\n\r\n");
        out.extend_from_slice(head.as_bytes());
        out.extend((a..=b).map(byte));
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

/// An h2c connection whose streams open with a one-byte window and are
/// never given more (the client never releases capacity). The connection
/// task keeps answering PINGs; it ends when the edge closes the connection.
pub async fn h2_tiny_window(edge: &TestEdge) -> (SendRequest<Bytes>, JoinHandle<Result<(), h2::Error>>) {
    let tcp = TcpStream::connect(edge.addr).await.unwrap();
    let (client, conn) = h2::client::Builder::new()
        .initial_window_size(1)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    (client, tokio::spawn(conn))
}

/// `n` GETs of the test object with `range`, sent at once.
pub async fn h2_requests(client: &SendRequest<Bytes>, range: &str, n: usize) -> Vec<ResponseFuture> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut c = client.clone().ready().await.unwrap();
        let req = http::Request::get("http://e/media/big.bin")
            .header("range", range)
            .body(())
            .unwrap();
        out.push(c.send_request(req, true).unwrap().0);
    }
    out
}
