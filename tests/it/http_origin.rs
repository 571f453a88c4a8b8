//! The HTTP origin kind: forwarding, header hygiene, error mapping.

use bytes::Bytes;
use http::Response;
use http_body_util::Full;

use crate::support::http_origin::ok;
use crate::support::{HttpOrigin, TestEdge};

#[tokio::test]
async fn forwards_path_and_query_keys_the_query_and_adds_via_and_xff() {
    let origin =
        HttpOrigin::start(|seen| ok(&format!("you asked {}", seen.uri), &[("cache-control", "max-age=60")])).await;
    let edge = TestEdge::start(&origin.config("")).await;

    let a = edge.get("/page?x=1").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, "you asked /page?x=1");
    assert_eq!(a.x_cache(), "Miss from edge-test");
    assert_eq!(edge.get("/page?x=1").await.x_cache(), "Hit from edge-test");
    let b = edge.get("/page?x=2").await;
    assert_eq!(b.x_cache(), "Miss from edge-test", "HTTP routes key the query");
    assert_eq!(b.body, "you asked /page?x=2");
    assert_eq!(origin.requests(), 2);

    let seen = &origin.seen()[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.headers["via"], "1.1 edge-test");
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen.headers["host"], origin.addr.to_string());
}

#[tokio::test]
async fn hop_by_hop_and_server_headers_are_removed() {
    let origin = HttpOrigin::start(|_| {
        ok(
            "body",
            &[
                ("cache-control", "max-age=60"),
                ("connection", "x-secret"),
                ("x-secret", "hop"),
                ("keep-alive", "timeout=5"),
                ("server", "gunicorn"),
                ("x-app", "end-to-end"),
            ],
        )
    })
    .await;
    let edge = TestEdge::start(&origin.config("")).await;
    for _ in 0..2 {
        let r = edge.get("/x").await;
        assert_eq!(r.status, 200);
        assert!(r.headers.get("x-secret").is_none(), "{:?}", r.headers);
        assert!(r.headers.get("keep-alive").is_none());
        assert_ne!(r.header("server"), "gunicorn");
        assert_eq!(r.header("x-app"), "end-to-end");
    }
}

#[tokio::test]
async fn origin_5xx_is_passed_on_uncached_and_timeout_is_504() {
    let origin = HttpOrigin::start(|seen| {
        let status = if seen.uri.starts_with("/500") { 500 } else { 503 };
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from("boom")))
            .unwrap()
    })
    .await;
    let edge = TestEdge::start(&origin.config("")).await;
    for (path, status) in [("/500", 500), ("/503", 503)] {
        let r = edge.get(path).await;
        assert_eq!(r.status, status, "an app server's own error page is passed on");
        assert_eq!(r.body, "boom");
        assert_eq!(r.header("cache-control"), "no-store");
        assert_eq!(r.x_cache(), "Error from edge-test");
    }
    edge.get("/500").await;
    assert_eq!(origin.requests(), 3, "5xx never cached");

    origin.gate.hold(); // slow headers: response_timeout is 1 s
    let r = edge.get("/slow").await;
    assert_eq!(r.status, 504);
    assert_eq!(r.x_cache(), "Error from edge-test");
    origin.gate.release();
}

#[tokio::test]
async fn uncacheable_responses_are_delivered_but_not_stored() {
    let origin = HttpOrigin::start(|seen| {
        let cc = if seen.uri == "/private" {
            "private, max-age=60"
        } else {
            "no-store"
        };
        ok("personal", &[("cache-control", cc)])
    })
    .await;
    let edge = TestEdge::start(&origin.config("")).await;
    for path in ["/private", "/nostore"] {
        for _ in 0..2 {
            let r = edge.get(path).await;
            assert_eq!(r.status, 200);
            assert_eq!(r.body, "personal");
            assert_eq!(r.x_cache(), "Miss from edge-test");
        }
    }
    assert_eq!(origin.requests(), 4);
}

#[tokio::test]
async fn upstream_age_is_added_to_not_reset() {
    let origin = HttpOrigin::start(|_| ok("aged", &[("cache-control", "max-age=600"), ("age", "100")])).await;
    let edge = TestEdge::start(&origin.config("")).await;
    let miss = edge.get("/a").await;
    assert_eq!(miss.header("age"), "100");
    let hit = edge.get("/a").await;
    assert_eq!(hit.x_cache(), "Hit from edge-test");
    let age: u64 = hit.header("age").parse().unwrap();
    assert!((100..=101).contains(&age), "age {age}");
}
