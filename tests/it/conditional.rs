//! Conditional requests answered from cache (RFC 9110 §13).

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

async fn edge() -> (S3Origin, TestEdge, String, String) {
    let origin = S3Origin::start().await;
    let body: String = (0..300).map(|i| format!("p{i}{{x:{i}}}\n")).collect();
    origin.put("static/site.css", body);
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    let first = edge.get("/static/site.css").await;
    let (etag, lm) = (
        first.header("etag").to_string(),
        first.header("last-modified").to_string(),
    );
    (origin, edge, etag, lm)
}

#[tokio::test]
async fn if_none_match_gives_304_with_the_right_headers() {
    let (origin, edge, etag, _) = edge().await;
    let weak = format!("W/{etag}");
    for inm in [etag.as_str(), weak.as_str(), "\"other\", ".to_owned().leak(), "*"] {
        let inm = if inm.ends_with(", ") {
            format!("{inm}{etag}")
        } else {
            inm.to_string()
        };
        let r = edge
            .request("GET", "/static/site.css", &[("if-none-match", &inm)])
            .await;
        assert_eq!(r.status, 304, "If-None-Match: {inm}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), etag);
        assert_eq!(r.header("cache-control"), "public, max-age=31536000, immutable");
        assert_eq!(r.header("vary"), "Accept-Encoding");
        assert_eq!(r.x_cache(), "Hit from edge-test");
        assert!(!r.header("date").is_empty() && !r.header("age").is_empty());
        assert!(r.headers.get("content-length").is_none_or(|v| v == "0"));
    }
    // A compressed variant's 304 carries its weak ETag.
    let r = edge
        .request(
            "GET",
            "/static/site.css",
            &[("if-none-match", &etag), ("accept-encoding", "br")],
        )
        .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), weak);

    let r = edge
        .request("GET", "/static/site.css", &[("if-none-match", "\"stale\"")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn if_modified_since_and_invalid_dates() {
    let (_origin, edge, _, lm) = edge().await;
    let r = edge
        .request("GET", "/static/site.css", &[("if-modified-since", &lm)])
        .await;
    assert_eq!(r.status, 304);
    let r = edge
        .request(
            "GET",
            "/static/site.css",
            &[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = edge
        .request("GET", "/static/site.css", &[("if-modified-since", "not a date")])
        .await;
    assert_eq!(r.status, 200, "invalid dates are ignored");
    // If-None-Match wins over If-Modified-Since.
    let r = edge
        .request(
            "GET",
            "/static/site.css",
            &[("if-none-match", "\"nope\""), ("if-modified-since", &lm)],
        )
        .await;
    assert_eq!(r.status, 200);
    // HEAD too.
    let r = edge
        .request("HEAD", "/static/site.css", &[("if-modified-since", &lm)])
        .await;
    assert_eq!(r.status, 304);
}

#[tokio::test]
async fn if_match_and_if_unmodified_since_give_412() {
    let (_origin, edge, etag, lm) = edge().await;
    let r = edge
        .request("GET", "/static/site.css", &[("if-match", "\"other\"")])
        .await;
    assert_eq!(r.status, 412);
    let r = edge.request("GET", "/static/site.css", &[("if-match", &etag)]).await;
    assert_eq!(r.status, 200);
    let r = edge.request("GET", "/static/site.css", &[("if-match", "*")]).await;
    assert_eq!(r.status, 200);
    let r = edge
        .request("GET", "/static/site.css", &[("if-match", &format!("W/{etag}"))])
        .await;
    assert_eq!(r.status, 412, "If-Match compares strongly");
    let r = edge
        .request(
            "GET",
            "/static/site.css",
            &[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
        )
        .await;
    assert_eq!(r.status, 412);
    let r = edge
        .request("GET", "/static/site.css", &[("if-unmodified-since", &lm)])
        .await;
    assert_eq!(r.status, 200);
    let r = edge
        .request("GET", "/static/site.css", &[("if-unmodified-since", "garbage")])
        .await;
    assert_eq!(r.status, 200);
}
