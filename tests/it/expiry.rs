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

const SHORT_TTL: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
ttl = { min = "0s", default = "1s", max = "1s" }
stale_if_error = "1h"
"#;

#[tokio::test]
async fn stale_s3_object_is_revalidated_with_a_conditional_get() {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "same bytes");
    let edge = TestEdge::start(&origin.config(SHORT_TTL)).await;
    edge.get("/static/a.css").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = edge.get("/static/a.css").await;
    assert_eq!(
        r.x_cache(),
        "RefreshHit from edge-test",
        "unchanged object: a 304 refreshed it"
    );
    assert_eq!(r.body, "same bytes");
    assert_eq!(origin.requests(), 2);
}

#[tokio::test]
async fn route_stale_if_error_applies_to_s3_objects() {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "kept");
    let edge = TestEdge::start(&origin.config(SHORT_TTL)).await;
    edge.get("/static/a.css").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    origin.misbehave(crate::support::s3_origin::Misbehave::Status(503, "SlowDown"));
    let r = edge.get("/static/a.css").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "kept", "S3 throttling hidden by the route's stale_if_error");
}
