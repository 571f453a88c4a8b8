//! Zero-copy hits: large cached bodies go out with `sendfile` from a memfd
//! mapping. Whatever path the bytes take, the client must see exactly the
//! origin's bytes: whole, in ranges, and when the socket is slow to drain.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{S3Origin, TestEdge};

const ROUTES: &str = r#"
[[routes]]
path = "/media/"
origin = "s3"
key_prefix = "media/"
# Without it freshness is heuristic: 10% of the just-put object's age,
# so on a loaded machine the hit comes back a RefreshHit.
ttl = { default = "1d" }
"#;

fn pattern(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

async fn zero_copy_bytes(edge: &TestEdge) -> u64 {
    edge.admin_client()
        .metric("cachefront_zero_copy_sent_bytes_total")
        .await
}

#[tokio::test]
async fn large_hits_are_sent_with_sendfile_and_byte_identical() {
    let origin = S3Origin::start().await;
    let body = pattern(700 * 1024 + 13);
    origin.put("media/video.bin", &body);
    let edge = TestEdge::start(&origin.config(ROUTES)).await;

    let miss = edge.get("/media/video.bin").await;
    assert_eq!(miss.x_cache(), "Miss from edge-test");
    assert!(miss.body == body[..]);

    let before = zero_copy_bytes(&edge).await;
    let hit = edge.get("/media/video.bin").await;
    assert_eq!(hit.x_cache(), "Hit from edge-test");
    assert_eq!(hit.header("content-length"), body.len().to_string());
    assert!(hit.body == body[..], "hit body is byte-identical");
    let range = edge
        .request("GET", "/media/video.bin", &[("range", "bytes=100000-612345")])
        .await;
    assert_eq!(range.status, 206);
    assert!(
        range.body == body[100_000..=612_345],
        "range from the middle of the mapping"
    );
    let sent = zero_copy_bytes(&edge).await - before;
    // The counter is process-wide (other tests add to it): at least ours.
    assert!(
        sent >= (body.len() + 512_346) as u64,
        "hit and range went through sendfile: {sent} bytes"
    );
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn a_slow_reader_gets_every_byte_of_pipelined_hits() {
    let origin = S3Origin::start().await;
    let body = pattern(3 * 1024 * 1024 + 7);
    origin.put("media/big.bin", &body);
    let edge = TestEdge::start(&origin.config(ROUTES)).await;
    assert_eq!(edge.get("/media/big.bin").await.status, 200); // fill

    // A tiny receive buffer: the server's sendfile fills the socket again
    // and again, returns short counts and waits for writability.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut conn = socket.connect(edge.addr).await.unwrap();
    let req = "GET /media/big.bin HTTP/1.1\r\nHost: edge\r\n\r\n";
    let last = "GET /media/big.bin HTTP/1.1\r\nHost: edge\r\nRange: bytes=-70000\r\nConnection: close\r\n\r\n";
    conn.write_all(format!("{req}{req}{last}").as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), conn.read_to_end(&mut out))
        .await
        .expect("all three responses within 30 s")
        .unwrap();

    let mut rest = &out[..];
    for (status, expect) in [(200, &body[..]), (200, &body[..]), (206, &body[body.len() - 70_000..])] {
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head") + 4;
        let head = std::str::from_utf8(&rest[..head_end]).unwrap().to_ascii_lowercase();
        assert!(head.starts_with(&format!("http/1.1 {status}")), "{head}");
        assert!(
            head.contains(&format!("content-length: {}\r\n", expect.len())),
            "{head}"
        );
        let (got, tail) = rest[head_end..].split_at(expect.len());
        assert!(got == expect, "body bytes of a {status} are the origin's");
        rest = tail;
    }
    assert!(rest.is_empty(), "nothing after the last response");
}
