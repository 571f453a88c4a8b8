//! Large media: objects over `max_object_size` cached in slices, so seeks
//! hit the edge; and streamed whole when slicing is off.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::support::http_origin::{Seen, ranged};
use crate::support::{HttpOrigin, S3Origin, TestEdge};

const MIB: usize = 1 << 20;

fn video(len: usize, seed: u32) -> Bytes {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    Bytes::from(
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect::<Vec<u8>>(),
    )
}

/// A range-capable origin over a replaceable object.
async fn origin(body: Bytes) -> (HttpOrigin, Arc<Mutex<(Bytes, String)>>) {
    let object = Arc::new(Mutex::new((body, "\"v1\"".to_string())));
    let o = object.clone();
    let origin = HttpOrigin::start(move |seen: &Seen| {
        let (body, etag) = o.lock().unwrap().clone();
        ranged(seen, &body, &etag)
    })
    .await;
    (origin, object)
}

fn config(origin: &HttpOrigin, slice: &str) -> String {
    format!(
        "[cache]\nmax_object_size = \"1MiB\"\ncapacity = \"256MiB\"\n{}\nslice = \"{slice}\"",
        origin.config("")
    )
    .replacen("[server]", "[server]", 1)
}

/// The ranges the origin was asked for, in order.
fn ranges(origin: &HttpOrigin) -> Vec<String> {
    origin
        .seen()
        .iter()
        .map(|s| {
            s.headers
                .get("range")
                .map_or("-".into(), |v| v.to_str().unwrap().to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_64_mib_object_through_1_mib_slices_is_byte_identical_and_cached() {
    let body = video(64 * MIB, 1);
    let (origin, _) = origin(body.clone()).await;
    let edge = TestEdge::start(&config(&origin, "1MiB")).await;
    let first = edge.get("/video.mp4").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-length"), (64 * MIB).to_string());
    assert_eq!(first.header("accept-ranges"), "bytes");
    assert_eq!(first.header("etag"), "\"v1\"");
    assert!(first.body == body, "byte-identical");
    assert_eq!(
        origin.requests(),
        64,
        "one ranged GET per slice: {:?}",
        &ranges(&origin)[..3]
    );
    assert!(ranges(&origin).iter().all(|r| r.starts_with("bytes=")));

    let second = edge.get("/video.mp4").await;
    assert!(second.body == body);
    assert_eq!(second.x_cache(), "Hit from edge-test");
    assert_eq!(origin.requests(), 64, "every slice from cache");
    let usage = edge.running().cache_usage();
    assert!(usage.bytes >= 64 * MIB as u64 && usage.entries >= 65, "{usage:?}");
}

#[tokio::test]
async fn without_slicing_a_64_mib_object_streams_intact_and_uncached() {
    let body = video(64 * MIB, 2);
    let (origin, _) = origin(body.clone()).await;
    let edge = TestEdge::start(&config(&origin, "off")).await;
    for _ in 0..2 {
        let r = edge.get("/video.mp4").await;
        assert_eq!(r.x_cache(), "Miss from edge-test");
        assert!(r.body == body);
    }
    assert!(edge.running().cache_usage().bytes < MIB as u64);
}

#[tokio::test]
async fn seeks_fetch_only_the_slices_they_need_and_hit_the_second_time() {
    let total = 16 * MIB;
    let body = video(total, 3);
    let (origin, _) = origin(body.clone()).await;
    let edge = TestEdge::start(&config(&origin, "1MiB")).await;
    let mid = 8 * MIB + 123;
    let seeks = [
        (format!("bytes=0-{}", 1000), 0, 1000, 1),
        (format!("bytes={mid}-{}", mid + 10), mid, mid + 10, 1),
        (format!("bytes={}-", total - 1), total - 1, total - 1, 1),
        ("bytes=-5000".to_string(), total - 5000, total - 1, 0), // last slice: already cached
        (
            format!("bytes={}-{}", 3 * MIB - 10, 3 * MIB + 10),
            3 * MIB - 10,
            3 * MIB + 10,
            2,
        ),
    ];
    for (range, a, b, new_requests) in seeks {
        let before = origin.requests();
        let r = edge.request("GET", "/video.mp4", &[("range", &range)]).await;
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.header("content-range"), format!("bytes {a}-{b}/{total}"));
        assert!(r.body == body.slice(a..=b), "{range}");
        assert_eq!(
            origin.requests() - before,
            new_requests,
            "{range}: {:?}",
            ranges(&origin)
        );
        let again = edge.request("GET", "/video.mp4", &[("range", &range)]).await;
        assert_eq!(again.x_cache(), "Hit from edge-test");
        assert!(again.body == body.slice(a..=b));
        assert_eq!(origin.requests() - before, new_requests, "second time from cache");
    }
    let multi = edge
        .request("GET", "/video.mp4", &[("range", "bytes=0-9, 5000000-5000009")])
        .await;
    assert_eq!(multi.status, 206);
    assert!(multi.header("content-type").starts_with("multipart/byteranges"));
    let unsat = edge
        .request("GET", "/video.mp4", &[("range", &format!("bytes={total}-"))])
        .await;
    assert_eq!(unsat.status, 416);
    assert_eq!(unsat.header("content-range"), format!("bytes */{total}"));
}

#[tokio::test]
async fn concurrent_seeks_into_one_cold_slice_make_one_origin_get() {
    let body = video(8 * MIB, 4);
    let (origin, _) = origin(body.clone()).await;
    let edge = TestEdge::start(&config(&origin, "1MiB")).await;
    edge.request("GET", "/video.mp4", &[("range", "bytes=0-0")]).await; // object known
    let before = origin.requests();
    origin.gate.hold();
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let (client, url) = (edge.client.clone(), edge.url("/video.mp4"));
        let start = 5 * MIB as u64 + i * 1000;
        let range = format!("bytes={start}-{}", start + 99);
        tasks.push(tokio::spawn(async move {
            (start, client.request("GET", &url, &[("range", &range)]).await)
        }));
    }
    origin.gate.wait_for_requests(before + 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    origin.gate.release();
    for t in tasks {
        let (start, r) = t.await.unwrap();
        assert_eq!(r.status, 206);
        assert!(r.body == body.slice(start as usize..start as usize + 100));
    }
    assert_eq!(origin.requests() - before, 1, "{:?}", &ranges(&origin)[before..]);
}

#[tokio::test]
async fn an_object_changed_between_slices_never_mixes_bytes() {
    let old = video(4 * MIB, 5);
    let new = video(4 * MIB, 6);
    let (origin, object) = origin(old.clone()).await;
    let edge = TestEdge::start(&config(&origin, "1MiB")).await;
    let head = edge.request("GET", "/video.mp4", &[("range", "bytes=0-9")]).await;
    assert!(head.body == old.slice(0..10));
    *object.lock().unwrap() = (new.clone(), "\"v2\"".into());

    // The cached first slice is v1, the origin's others are v2: the
    // response must not complete with mixed bytes.
    let client = edge.client.clone();
    let url = edge.url("/video.mp4");
    let mixed = tokio::spawn(async move {
        let req = http::Request::get(url)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let resp = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http()
            .request(req)
            .await;
        match resp {
            Ok(r) => http_body_util::BodyExt::collect(r.into_body())
                .await
                .map(|b| b.to_bytes())
                .ok(),
            Err(_) => None,
        }
    });
    let got = mixed.await.unwrap();
    assert!(got.is_none_or(|b| b == old || b == new), "mixed bytes served");
    drop(client);

    // Afterwards the object is fetched afresh, all v2.
    let r = edge.get("/video.mp4").await;
    assert_eq!(r.status, 200);
    assert!(r.body == new);
}

#[tokio::test]
async fn a_short_slice_is_never_stored() {
    let body = video(4 * MIB, 7);
    let truncate = Arc::new(Mutex::new(true));
    let t = truncate.clone();
    let b = body.clone();
    let origin = HttpOrigin::start(move |seen: &Seen| {
        let mut resp = ranged(seen, &b, "\"v1\"");
        let is_second = seen
            .headers
            .get("range")
            .is_some_and(|r| r.to_str().unwrap().starts_with("bytes=1048576-"));
        if *t.lock().unwrap() && is_second {
            // Claims the whole slice, sends 100 bytes.
            *resp.body_mut() = http_body_util::Full::new(b.slice(MIB..MIB + 100));
            resp.headers_mut()
                .insert("content-range", "bytes 1048576-1048675/4194304".parse().unwrap());
        }
        resp
    })
    .await;
    let edge = TestEdge::start(&config(&origin, "1MiB")).await;
    let r = edge
        .request("GET", "/v.mp4", &[("range", "bytes=1048576-1048600")])
        .await;
    assert!(
        r.status.is_server_error() || r.body != body.slice(MIB..MIB + 25),
        "no wrong bytes"
    );
    *truncate.lock().unwrap() = false;
    let r = edge
        .request("GET", "/v.mp4", &[("range", "bytes=1048576-1048600")])
        .await;
    assert_eq!(r.status, 206);
    assert!(r.body == body.slice(MIB..=MIB + 24));
}

#[tokio::test]
async fn s3_objects_are_sliced_with_ranged_get_object() {
    let origin = S3Origin::start().await;
    let body = video(3 * MIB + 5, 8);
    origin.put("media/talk.webm", &body);
    let edge = TestEdge::start(&origin.config(
        "[cache]\nmax_object_size = \"1MiB\"\n\n[[routes]]\npath = \"/media/\"\norigin = \"s3\"\nkey_prefix = \"media/\"\nslice = \"1MiB\"\nttl = { default = \"1h\" }",
    ))
    .await;
    let r = edge
        .request("GET", "/media/talk.webm", &[("range", "bytes=2097152-2097161")])
        .await;
    assert_eq!(r.status, 206);
    assert!(r.body == body.slice(2 * MIB..2 * MIB + 10));
    assert_eq!(origin.requests(), 1, "{:?}", origin.uris());
    let full = edge.get("/media/talk.webm").await;
    assert!(full.body == body);
    assert_eq!(
        origin.requests(),
        4,
        "four slices, each fetched once: {:?}",
        origin.uris()
    );
}

/// A raw origin that streams `total` bytes in 64 KiB writes per
/// connection and reports, per finished connection, how many it managed to
/// write before the connection went away.
async fn streaming_origin(total: usize) -> (std::net::SocketAddr, tokio::sync::watch::Receiver<Vec<usize>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::watch::channel(Vec::new());
    let tx = Arc::new(tx);
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nContent-Type: video/mp4\r\n\r\n");
                let _ = s.write_all(head.as_bytes()).await;
                let chunk = vec![7u8; 64 * 1024];
                let mut written = 0;
                while written < total {
                    match tokio::time::timeout(std::time::Duration::from_secs(5), s.write_all(&chunk)).await {
                        Ok(Ok(())) => written += chunk.len(),
                        _ => break,
                    }
                }
                tx.send_modify(|v| v.push(written));
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn a_client_disconnect_mid_stream_stops_the_origin_transfer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let total = 256 * MIB;
    let (addr, mut finished) = streaming_origin(total).await;
    let config = format!(
        "[server]\nname = \"edge-test\"\n[cache]\nmax_object_size = \"1MiB\"\n[origins.o]\nkind = \"http\"\nurl = \"http://{addr}\"\n[[routes]]\npath = \"/\"\norigin = \"o\"\n"
    );
    let edge = TestEdge::start(&config).await;
    // The fill sees a body over max_object_size and gives up; the request
    // is then streamed through from a second origin connection.
    let mut client = tokio::net::TcpStream::connect(edge.addr).await.unwrap();
    client
        .write_all(b"GET /big.mp4 HTTP/1.1\r\nHost: cdn\r\n\r\n")
        .await
        .unwrap();
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while got < 4 * MIB {
        match tokio::time::timeout(std::time::Duration::from_secs(10), client.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got += n,
            _ => break,
        }
    }
    assert!(got >= 4 * MIB, "the stream flowed ({got} bytes)");
    drop(client);
    let done = tokio::time::timeout(std::time::Duration::from_secs(20), finished.wait_for(|v| v.len() >= 2))
        .await
        .expect("both origin transfers stopped")
        .unwrap()
        .clone();
    let streamed = done.iter().max().copied().unwrap();
    assert!(
        streamed < total / 4,
        "origin wrote {streamed} of {total} bytes after the client left at {got}"
    );
}
