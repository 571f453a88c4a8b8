//! Paths: percent-decoding once, non-ASCII names, and every 400.

use crate::support::{S3Origin, TestEdge, raw_request, s3_origin::DJANGO_ROUTES};

#[tokio::test]
async fn encoded_and_non_ascii_names_reach_their_keys() {
    let origin = S3Origin::start().await;
    origin.put("media/documents/Annual Report – Zürich 2026.pdf", "%PDF-1.4 report");
    origin.put("media/a+b.txt", "plus");
    origin.put("media/a b.txt", "space");
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;

    let pdf = edge
        .get("/media/documents/Annual%20Report%20%E2%80%93%20Z%C3%BCrich%202026.pdf")
        .await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.body, "%PDF-1.4 report");
    assert_eq!(pdf.header("content-type"), "application/pdf");
    // `+` stays `+`; it is not a space in a path.
    assert_eq!(edge.get("/media/a+b.txt").await.body, "plus");
    assert_eq!(edge.get("/media/a%2Bb.txt").await.body, "plus");
    assert_eq!(edge.get("/media/a%20b.txt").await.body, "space");
}

#[tokio::test]
async fn bad_paths_get_400_and_never_reach_the_origin() {
    let origin = S3Origin::start().await;
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    let cases = [
        "/static/../media/x.css",
        "/static/./x.css",
        "/static/a/../../x.css",
        "/static/..",
        "/static/%2e%2e/secret",
        "/static/%2E%2E/secret",
        "/static/a/%2e/b",
        "/static/..%2fmedia%2fx",
        "/static/a%00b.css",
        "/static/a%5cb.css",
        "/static/a\\b.css",
        "/static/%ff%fe.css",
        "/static/%c0%ae%c0%ae/x",
    ];
    for path in cases {
        let req = format!("GET {path} HTTP/1.1\r\nHost: cdn\r\nConnection: close\r\n\r\n");
        let (status, text) = raw_request(edge.addr, req.as_bytes()).await;
        assert_eq!(status, 400, "{path}: {text}");
        assert!(text.len() < 600, "short body");
    }
    assert_eq!(origin.requests(), 0);
}
