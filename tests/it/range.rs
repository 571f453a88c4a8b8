//! Range requests answered from cache (RFC 9110 §14).

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

fn body() -> Vec<u8> {
    (0..10_000u32).map(|i| (i % 251) as u8).collect()
}

async fn edge() -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    origin.put("media/clip.bin", body());
    origin.put(
        "static/app.js",
        (0..500).map(|i| format!("var v{i} = {i};\n")).collect::<String>(),
    );
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    (origin, edge)
}

#[tokio::test]
async fn range_on_a_cold_miss_fills_the_whole_object_and_answers_the_range() {
    let (origin, edge) = edge().await;
    let r = edge
        .request("GET", "/media/clip.bin", &[("range", "bytes=100-199")])
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.x_cache(), "Miss from edge-test");
    assert_eq!(r.header("content-range"), "bytes 100-199/10000");
    assert_eq!(r.header("content-length"), "100");
    assert_eq!(r.body.as_ref(), &body()[100..200]);
    let full = edge.get("/media/clip.bin").await;
    assert_eq!(full.x_cache(), "Hit from edge-test");
    assert_eq!(full.header("accept-ranges"), "bytes");
    assert_eq!(full.body.as_ref(), &body()[..]);
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn single_suffix_and_open_ended_ranges() {
    let (_origin, edge) = edge().await;
    let b = body();
    for (range, lo, hi) in [
        ("bytes=0-0", 0, 0),
        ("bytes=9990-", 9990, 9999),
        ("bytes=-10", 9990, 9999),
        ("bytes=5000-20000", 5000, 9999),
    ] {
        let r = edge.request("GET", "/media/clip.bin", &[("range", range)]).await;
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.header("content-range"), format!("bytes {lo}-{hi}/10000"));
        assert_eq!(r.body.as_ref(), &b[lo..=hi], "{range}");
    }
}

#[tokio::test]
async fn multiple_ranges_are_multipart_byteranges() {
    let (_origin, edge) = edge().await;
    let b = body();
    let r = edge
        .request("GET", "/media/clip.bin", &[("range", "bytes=0-9, 5000-5009, -5")])
        .await;
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").to_string();
    let boundary = ct.strip_prefix("multipart/byteranges; boundary=").expect(&ct);
    assert_eq!(r.header("content-length"), r.body.len().to_string());
    // Parse the parts back and compare.
    let text = r.body.to_vec();
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = &text[..];
    while let Some(pos) = find(rest, delim.as_bytes()) {
        rest = &rest[pos + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let cr = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Range: bytes "))
            .unwrap()
            .to_string();
        let (span, _) = cr.split_once('/').unwrap();
        let (lo, hi) = span.split_once('-').unwrap();
        let (lo, hi): (usize, usize) = (lo.parse().unwrap(), hi.parse().unwrap());
        let data = &rest[head_end + 4..head_end + 4 + (hi - lo + 1)];
        assert!(head.contains("Content-Type: application/octet-stream"), "{head}");
        parts.push((lo, hi, data.to_vec()));
    }
    assert_eq!(parts.len(), 3);
    for (lo, hi, data) in parts {
        assert_eq!(&data[..], &b[lo..=hi]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test]
async fn unsatisfiable_is_416_with_star_content_range() {
    let (_origin, edge) = edge().await;
    for range in ["bytes=10000-", "bytes=20000-30000", "bytes=-0"] {
        let r = edge.request("GET", "/media/clip.bin", &[("range", range)]).await;
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("content-range"), "bytes */10000");
    }
}

#[tokio::test]
async fn abusive_or_invalid_ranges_get_the_whole_200() {
    let (_origin, edge) = edge().await;
    let many: Vec<String> = (0..100).map(|i| format!("{}-{}", i * 10, i * 10 + 1)).collect();
    let many = format!("bytes={}", many.join(","));
    for range in [
        many.as_str(),
        "bytes=0-100, 50-150",
        "bytes=0-,0-",
        "bytes=5-1",
        "pages=1-2",
        "bytes=x-y",
    ] {
        let r = edge.request("GET", "/media/clip.bin", &[("range", range)]).await;
        assert_eq!(r.status, 200, "{}", &range[..range.len().min(40)]);
        assert_eq!(r.body.len(), 10_000);
    }
}

#[tokio::test]
async fn range_on_head_is_ignored() {
    let (_origin, edge) = edge().await;
    let r = edge.request("HEAD", "/media/clip.bin", &[("range", "bytes=0-9")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), "10000");
    assert!(r.headers.get("content-range").is_none());
}

#[tokio::test]
async fn if_range_with_etag_or_date() {
    let (_origin, edge) = edge().await;
    let full = edge.get("/media/clip.bin").await;
    let (etag, lm) = (
        full.header("etag").to_string(),
        full.header("last-modified").to_string(),
    );
    let cases = [
        (etag.clone(), 206),
        ("\"changed\"".to_string(), 200),
        (format!("W/{etag}"), 200),
        (lm.clone(), 206),
        ("Sun, 06 Nov 1994 08:49:37 GMT".to_string(), 200),
    ];
    for (if_range, want) in cases {
        let r = edge
            .request(
                "GET",
                "/media/clip.bin",
                &[("range", "bytes=0-9"), ("if-range", &if_range)],
            )
            .await;
        assert_eq!(r.status, want, "If-Range: {if_range}");
    }
}

#[tokio::test]
async fn ranges_of_compressible_objects_come_from_identity_bytes() {
    let (_origin, edge) = edge().await;
    let full = edge.get("/static/app.js").await;
    let r = edge
        .request(
            "GET",
            "/static/app.js",
            &[("range", "bytes=0-99"), ("accept-encoding", "br, gzip")],
        )
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-encoding"), "");
    assert_eq!(r.body.as_ref(), &full.body[..100]);
    assert_eq!(r.header("vary"), "Accept-Encoding");
}
