//! Per-route response headers and CORS: fixed headers rendered with the
//! object, CORS answers per request from one cached object, preflights
//! answered at the edge.

use crate::support::{S3Origin, TestEdge};

const ROUTE: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
cache_control = "public, max-age=31536000, immutable"
ttl = { default = "1d" }
headers = { Strict-Transport-Security = "max-age=63072000", X-Content-Type-Options = "nosniff", Timing-Allow-Origin = "*" }
cors = { allow_origins = ["https://www.example.com", "https://admin.example.com"], allow_methods = ["GET", "HEAD"], allow_headers = ["Range"], expose_headers = ["ETag"], max_age = "1h" }
"#;

async fn edge() -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    origin.put("static/font.0123456789ab.woff2", "font bytes");
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    (origin, edge)
}

#[tokio::test]
async fn route_headers_are_on_misses_and_hits() {
    let (_origin, edge) = edge().await;
    for want in ["Miss from edge-test", "Hit from edge-test"] {
        let r = edge.get("/static/font.0123456789ab.woff2").await;
        assert_eq!(r.x_cache(), want);
        assert_eq!(r.header("strict-transport-security"), "max-age=63072000");
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        assert_eq!(r.header("timing-allow-origin"), "*");
        assert!(r.header("vary").contains("Origin"), "vary: {:?}", r.header("vary"));
        assert_eq!(r.header("access-control-allow-origin"), "", "no Origin, no CORS answer");
    }
}

#[tokio::test]
async fn one_cached_object_answers_every_allowed_origin() {
    let (origin, edge) = edge().await;
    for o in ["https://www.example.com", "https://admin.example.com"] {
        let r = edge
            .request("GET", "/static/font.0123456789ab.woff2", &[("origin", o)])
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("access-control-allow-origin"), o);
        assert_eq!(r.header("access-control-expose-headers"), "ETag");
        assert!(r.header("vary").contains("Origin"));
    }
    let other = edge
        .request(
            "GET",
            "/static/font.0123456789ab.woff2",
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.x_cache(), "Hit from edge-test");
    assert_eq!(other.header("access-control-allow-origin"), "");
    assert_eq!(origin.requests(), 1, "the cache does not split by Origin");
}

#[tokio::test]
async fn preflight_is_answered_at_the_edge() {
    let (origin, edge) = edge().await;
    let r = edge
        .request(
            "OPTIONS",
            "/static/font.0123456789ab.woff2",
            &[
                ("origin", "https://www.example.com"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "range"),
            ],
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), "https://www.example.com");
    assert_eq!(r.header("access-control-allow-methods"), "GET, HEAD");
    assert_eq!(r.header("access-control-allow-headers"), "Range");
    assert_eq!(r.header("access-control-max-age"), "3600");
    assert!(r.header("vary").contains("Origin"));
    for (o, m) in [("https://evil.example", "GET"), ("https://www.example.com", "DELETE")] {
        let denied = edge
            .request(
                "OPTIONS",
                "/static/font.0123456789ab.woff2",
                &[("origin", o), ("access-control-request-method", m)],
            )
            .await;
        assert_eq!(denied.status, 403, "{o} {m}");
        assert_eq!(denied.header("access-control-allow-origin"), "");
    }
    assert_eq!(origin.requests(), 0);
}

#[tokio::test]
async fn a_wildcard_origin_answers_star_without_vary() {
    let origin = S3Origin::start().await;
    origin.put("static/a.js", "x");
    let edge = TestEdge::start(&origin.config(
        r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
cors = { allow_origins = ["*"] }
"#,
    ))
    .await;
    let r = edge
        .request("GET", "/static/a.js", &[("origin", "https://any.example")])
        .await;
    assert_eq!(r.header("access-control-allow-origin"), "*");
    assert!(!r.header("vary").contains("Origin"), "vary: {:?}", r.header("vary"));
}
