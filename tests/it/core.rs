//! The core user story: Miss then Hit with the route's headers.

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

const CSS: &str = "body { color: #123456; }\n";

async fn django_edge() -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    origin.put("static/css/site.4e2a9c1b7d3f.css", CSS);
    origin.put("media/uploads/avatar.png", b"\x89PNG\r\n\x1a\nfake");
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    (origin, edge)
}

#[tokio::test]
async fn miss_then_hit_with_static_headers() {
    let (origin, edge) = django_edge().await;
    let first = edge.get("/static/css/site.4e2a9c1b7d3f.css").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.x_cache(), "Miss from edge-test");
    assert!(first.headers.get("age").is_none(), "a miss from S3 has no age");
    assert_eq!(first.body, CSS);
    assert_eq!(first.header("cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(first.header("content-type"), "text/css; charset=utf-8");
    assert_eq!(first.header("content-length"), CSS.len().to_string());
    assert_eq!(first.header("via"), "1.1 edge-test");
    assert!(!first.header("date").is_empty());
    assert!(first.header("etag").starts_with('"'));
    assert!(!first.header("last-modified").is_empty());

    let second = edge.get("/static/css/site.4e2a9c1b7d3f.css").await;
    assert_eq!(second.status, 200);
    assert_eq!(second.x_cache(), "Hit from edge-test");
    assert_eq!(second.body, CSS);
    assert_eq!(second.header("age"), "0");
    assert_eq!(second.header("cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(second.header("etag"), first.header("etag"));
    assert!(!second.header("date").is_empty());
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn media_gets_a_day() {
    let (_origin, edge) = django_edge().await;
    let r = edge.get("/media/uploads/avatar.png").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), "public, max-age=86400");
    assert_eq!(r.header("content-type"), "image/png");
}

#[tokio::test]
async fn s3_specific_headers_never_reach_clients() {
    let (_origin, edge) = django_edge().await;
    for _ in 0..2 {
        let r = edge.get("/static/css/site.4e2a9c1b7d3f.css").await;
        for h in ["x-amz-request-id", "x-amz-id-2", "server", "x-amz-checksum-crc32"] {
            assert!(r.headers.get(h).is_none(), "{h} leaked: {:?}", r.headers);
        }
    }
}

#[tokio::test]
async fn head_miss_fills_with_get_and_head_hit_has_no_body() {
    let (origin, edge) = django_edge().await;
    let head = edge.head("/static/css/site.4e2a9c1b7d3f.css").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.x_cache(), "Miss from edge-test");
    assert_eq!(head.header("content-length"), CSS.len().to_string());
    assert!(head.body.is_empty());
    assert!(origin.uris().iter().all(|u| !u.contains("x-id=HeadObject")));

    let get = edge.get("/static/css/site.4e2a9c1b7d3f.css").await;
    assert_eq!(get.x_cache(), "Hit from edge-test");
    assert_eq!(get.body, CSS);

    let head = edge.head("/static/css/site.4e2a9c1b7d3f.css").await;
    assert_eq!(head.x_cache(), "Hit from edge-test");
    assert_eq!(head.header("content-length"), CSS.len().to_string());
    assert_eq!(head.header("etag"), get.header("etag"));
    assert!(head.body.is_empty());
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let (origin, edge) = django_edge().await;
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = edge.request(method, "/static/css/site.4e2a9c1b7d3f.css", &[]).await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), "GET, HEAD");
        assert_eq!(r.header("x-cache"), "Error from edge-test");
    }
    assert_eq!(origin.requests(), 0);
}

#[tokio::test]
async fn paths_under_no_route_are_404_without_origin_requests() {
    let (origin, edge) = django_edge().await;
    for path in ["/", "/favicon.ico", "/staticfoo/x.css", "/static", "/admin/"] {
        let r = edge.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.x_cache(), "Error from edge-test");
        assert_eq!(r.header("cache-control"), "no-store");
    }
    assert_eq!(origin.requests(), 0);
}

#[tokio::test]
async fn query_string_is_neither_keyed_nor_sent_to_s3() {
    let (origin, edge) = django_edge().await;
    let a = edge.get("/static/css/site.4e2a9c1b7d3f.css?v=1").await;
    let b = edge.get("/static/css/site.4e2a9c1b7d3f.css?v=2&utm=x").await;
    assert_eq!(a.x_cache(), "Miss from edge-test");
    assert_eq!(b.x_cache(), "Hit from edge-test");
    assert_eq!(origin.requests(), 1);
    let uri = &origin.uris()[0];
    assert!(!uri.contains("v=1"), "query forwarded: {uri}");
}

#[tokio::test]
async fn h2c_prior_knowledge_is_served() {
    let (_origin, edge) = django_edge().await;
    let client = crate::support::client::Client::http2();
    let r = client
        .request("GET", &edge.url("/static/css/site.4e2a9c1b7d3f.css"), &[])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, CSS);
    assert!(!r.header("date").is_empty());
}

#[tokio::test]
async fn admin_answers_health_and_readiness() {
    let (_origin, edge) = django_edge().await;
    let client = crate::support::client::Client::new();
    let health = client
        .request("GET", &format!("http://{}/healthz", edge.admin), &[])
        .await;
    assert_eq!(health.status, 200);
    let ready = client
        .request("GET", &format!("http://{}/readyz", edge.admin), &[])
        .await;
    assert_eq!(ready.status, 200);
}

#[tokio::test]
async fn per_core_worker_runtimes_serve_and_share_one_cache() {
    let origin = S3Origin::start().await;
    origin.put("static/css/site.4e2a9c1b7d3f.css", CSS);
    let mut edge = TestEdge::start_with_workers(&origin.config(DJANGO_ROUTES), 2).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        // A fresh client each: new connections, spread over both workers.
        let client = crate::support::client::Client::new();
        let url = edge.url("/static/css/site.4e2a9c1b7d3f.css");
        tasks.push(tokio::spawn(async move { client.request("GET", &url, &[]).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, CSS);
    }
    assert_eq!(origin.requests(), 1);
    assert_eq!(
        edge.get("/static/css/site.4e2a9c1b7d3f.css").await.x_cache(),
        "Hit from edge-test"
    );
    let running = edge.running.take().unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), running.shutdown())
        .await
        .expect("graceful shutdown with worker runtimes");
}

#[test]
fn the_hit_path_future_stays_small() {
    // Moved and pinned once per request. A hit is answered before any
    // future is built (the request's future is then a ready response:
    // 152 bytes); cold states are boxed. Before: 8,384 bytes, then 2,000.
    let size = cachefront::edge::hit_future_size();
    assert!(size <= 256, "edge request future is {size} bytes");
}
