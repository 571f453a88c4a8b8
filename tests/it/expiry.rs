//! Edge freshness in time: entries expire after their TTL.

use std::time::Duration;

use crate::support::{S3Origin, TestEdge};

#[tokio::test]
async fn entry_expires_after_short_ttl_and_is_refilled() {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "v1");
    let edge = TestEdge::start(&origin.config(
        r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
cache_control = "public, max-age=31536000, immutable"
ttl = { min = "0s", default = "1s", max = "1s" }
"#,
    ))
    .await;
    assert_eq!(edge.get("/static/a.css").await.x_cache(), "Miss from edge-test");
    let hit = edge.get("/static/a.css").await;
    assert_eq!(hit.x_cache(), "Hit from edge-test");
    // The route's cache_control is for clients; the edge's TTL is 1 s.
    assert_eq!(hit.header("cache-control"), "public, max-age=31536000, immutable");
    origin.put("static/a.css", "v2");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refilled = edge.get("/static/a.css").await;
    assert_eq!(refilled.x_cache(), "Miss from edge-test");
    assert_eq!(refilled.body, "v2");
    assert_eq!(origin.requests(), 2);
}
