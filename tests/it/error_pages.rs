//! CloudFront's custom error responses: `error_pages` answers an origin
//! error with another object's body (cached like any object) and the
//! configured status; `ttl` is how long the origin's error is cached.

use crate::support::{S3Origin, TestEdge};

const ROUTE: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
ttl = { default = "1d" }
error_pages = { 404 = { path = "/static/404.html", status = 404, ttl = "7s" } }

[[routes]]
path = "/app/"
origin = "s3"
key_prefix = "app/"
ttl = { default = "1d" }
error_pages = { 404 = { path = "/app/index.html", status = 200 } }
"#;

#[tokio::test]
async fn a_404_is_answered_with_the_error_page() {
    let origin = S3Origin::start().await;
    origin.put("static/404.html", "<h1>not here</h1>");
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    for _ in 0..2 {
        let r = edge.get("/static/missing.css").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.body, "<h1>not here</h1>");
        assert!(r.header("content-type").starts_with("text/html"));
        assert_eq!(r.header("cache-control"), "max-age=7", "the page's ttl is the error's");
        assert_eq!(r.x_cache(), "Error from edge-test");
    }
    assert_eq!(origin.requests(), 2, "the error and the page, each fetched once");
}

#[tokio::test]
async fn the_status_can_be_replaced() {
    let origin = S3Origin::start().await;
    origin.put("app/index.html", "<div id=app></div>");
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    let r = edge.get("/app/settings/profile").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "<div id=app></div>");
}

#[tokio::test]
async fn a_missing_error_page_leaves_the_error() {
    let origin = S3Origin::start().await;
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    let r = edge.get("/static/missing.css").await;
    assert_eq!(r.status, 404);
    assert_ne!(r.body, "<h1>not here</h1>");
}
