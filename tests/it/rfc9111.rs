//! RFC 9111 behaviour on a plain route (no `ttl`, `cache_control` or
//! `error_ttl`): freshness, storage, Vary, revalidation, stale serving and
//! invalidation, against a scripted HTTP origin that counts requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::Full;

use crate::support::http_origin::{Seen, ok};
use crate::support::{HttpOrigin, TestEdge};

/// A plain RFC 9111 route with all methods forwarded.
const PLAIN: &str = "methods = \"all\"\ncompress = false";

fn expire_soon() -> Duration {
    Duration::from_millis(1100)
}

#[tokio::test]
async fn freshness_from_each_header() {
    let past = httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(10 * 86400));
    let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3600));
    let table: Vec<(Vec<(&str, String)>, bool)> = vec![
        (vec![("cache-control", "max-age=60".into())], true),
        (vec![("cache-control", "max-age=0".into())], false),
        (vec![("cache-control", "max-age=0, s-maxage=60".into())], true),
        (vec![("expires", future.clone())], true),
        (vec![("expires", "0".into())], false),
        (
            vec![
                ("cdn-cache-control", "max-age=60".into()),
                ("cache-control", "no-store".into()),
            ],
            true,
        ),
        (
            vec![
                ("cdn-cache-control", "max-age=\"60\"".into()),
                ("cache-control", "no-store".into()),
            ],
            false,
        ),
        (vec![("last-modified", past.clone())], true),
        (vec![], false),
        (vec![("cache-control", "max-age=60, private".into())], false),
        (vec![("cache-control", "max-age=60, no-store".into())], false),
        (
            vec![("cache-control", "max-age=60".into()), ("set-cookie", "sid=1".into())],
            false,
        ),
        (
            vec![("cache-control", "max-age=60".into()), ("vary", "*".into())],
            false,
        ),
    ];
    for (headers, cached) in table {
        let h = headers.clone();
        let origin = HttpOrigin::start(move |_| {
            let pairs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ok("body", &pairs)
        })
        .await;
        let edge = TestEdge::start(&origin.config(PLAIN)).await;
        edge.get("/x").await;
        let second = edge.get("/x").await;
        assert_eq!(second.x_cache() == "Hit from edge-test", cached, "{headers:?}");
        assert_eq!(origin.requests(), if cached { 1 } else { 2 }, "{headers:?}");
    }
}

#[tokio::test]
async fn set_cookie_responses_are_stored_only_when_the_route_allows() {
    let origin = HttpOrigin::start(|_| ok("c", &[("cache-control", "max-age=60"), ("set-cookie", "sid=1")])).await;
    let edge = TestEdge::start(&origin.config("store_set_cookie = true")).await;
    edge.get("/c").await;
    assert_eq!(edge.get("/c").await.x_cache(), "Hit from edge-test");
}

#[tokio::test]
async fn requests_with_authorization_are_stored_only_if_the_response_allows() {
    let origin = HttpOrigin::start(|seen: &Seen| {
        let cc = if seen.uri == "/public" {
            "public, max-age=60"
        } else {
            "max-age=60"
        };
        ok("secret", &[("cache-control", cc)])
    })
    .await;
    let edge = TestEdge::start(&origin.config(PLAIN)).await;
    for path in ["/private", "/public"] {
        edge.request("GET", path, &[("authorization", "Bearer x")]).await;
    }
    assert_eq!(edge.get("/private").await.x_cache(), "Miss from edge-test");
    assert_eq!(edge.get("/public").await.x_cache(), "Hit from edge-test");
}

#[tokio::test]
async fn vary_selects_by_the_nominated_request_headers() {
    let origin = HttpOrigin::start(|seen: &Seen| {
        let lang = seen
            .headers
            .get("accept-language")
            .map_or("none", |v| v.to_str().unwrap())
            .to_string();
        ok(
            &format!("lang={lang}"),
            &[("cache-control", "max-age=60"), ("vary", "Accept-Language")],
        )
    })
    .await;
    // The origin is sent (and can vary on) only what the route keys.
    let keyed = format!("{PLAIN}\nkey = {{ headers = [\"Accept-Language\"] }}");
    let edge = TestEdge::start(&origin.config(&keyed)).await;
    let en = edge.request("GET", "/v", &[("accept-language", "en")]).await;
    let de = edge.request("GET", "/v", &[("accept-language", "de")]).await;
    assert_eq!((en.body.as_ref(), de.body.as_ref()), (&b"lang=en"[..], &b"lang=de"[..]));
    let en2 = edge.request("GET", "/v", &[("accept-language", "en")]).await;
    assert_eq!(en2.x_cache(), "Hit from edge-test");
    assert_eq!(en2.body, "lang=en");
    let none = edge.get("/v").await;
    assert_eq!(none.body, "lang=none", "an absent header is a value of its own");
    assert_eq!(origin.requests(), 3);
}

#[tokio::test]
async fn stale_entry_is_revalidated_and_a_304_is_a_refresh_hit() {
    let origin = HttpOrigin::start(|seen: &Seen| {
        if seen.headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
            return Response::builder()
                .status(304)
                .header("etag", "\"v1\"")
                .header("cache-control", "max-age=60")
                .header("x-refreshed", "yes")
                .body(Full::new(Bytes::new()))
                .unwrap();
        }
        ok("the body", &[("cache-control", "max-age=1"), ("etag", "\"v1\"")])
    })
    .await;
    let edge = TestEdge::start(&origin.config(PLAIN)).await;
    edge.get("/r").await;
    tokio::time::sleep(expire_soon()).await;
    let refreshed = edge.get("/r").await;
    assert_eq!(refreshed.status, 200);
    assert_eq!(refreshed.x_cache(), "RefreshHit from edge-test");
    assert_eq!(refreshed.body, "the body");
    assert_eq!(
        refreshed.header("x-refreshed"),
        "yes",
        "stored headers updated from the 304"
    );
    assert_eq!(refreshed.header("cache-control"), "max-age=60");
    let seen = origin.seen();
    assert_eq!(seen[1].headers["if-none-match"], "\"v1\"");
    assert_eq!(
        edge.get("/r").await.x_cache(),
        "Hit from edge-test",
        "fresh again for 60 s"
    );
    assert_eq!(origin.requests(), 2);
}

#[tokio::test]
async fn stale_while_revalidate_serves_stale_and_refreshes_once_behind() {
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    let origin = HttpOrigin::start(move |_| {
        let v = c.fetch_add(1, Ordering::SeqCst) + 1;
        let cc = if v == 1 {
            "max-age=1, stale-while-revalidate=60"
        } else {
            "max-age=60"
        };
        ok(&format!("v{v}"), &[("cache-control", cc)])
    })
    .await;
    let edge = TestEdge::start(&origin.config(PLAIN)).await;
    assert_eq!(edge.get("/s").await.body, "v1");
    tokio::time::sleep(expire_soon()).await;
    origin.gate.hold(); // the background revalidation waits at the origin
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (client, url) = (edge.client.clone(), edge.url("/s"));
        tasks.push(tokio::spawn(async move { client.request("GET", &url, &[]).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.body, "v1", "stale served at once");
        assert_eq!(r.x_cache(), "Hit from edge-test");
    }
    origin.gate.wait_for_requests(2).await;
    origin.gate.release();
    // The one background revalidation lands; then the new body is served.
    let mut body = Bytes::new();
    for _ in 0..100 {
        body = edge.get("/s").await.body;
        if body == "v2" {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(body, "v2");
    assert_eq!(origin.requests(), 2, "exactly one background revalidation");
}

#[tokio::test]
async fn stale_if_error_serves_stale_when_the_origin_fails_or_is_down() {
    let fail = Arc::new(AtomicUsize::new(0));
    let f = fail.clone();
    let origin = HttpOrigin::start(move |_| {
        if f.load(Ordering::SeqCst) == 1 {
            return Response::builder()
                .status(503)
                .body(Full::new(Bytes::from("down")))
                .unwrap();
        }
        ok("good", &[("cache-control", "max-age=1, stale-if-error=60")])
    })
    .await;
    let edge = TestEdge::start(&origin.config(PLAIN)).await;
    edge.get("/e").await;
    tokio::time::sleep(expire_soon()).await;
    fail.store(1, Ordering::SeqCst);
    let r = edge.get("/e").await;
    assert_eq!(
        (r.status.as_u16(), r.body.as_ref()),
        (200, &b"good"[..]),
        "503 hidden by stale-if-error"
    );

    // must-revalidate forbids it.
    fail.store(0, Ordering::SeqCst);
    let strict = HttpOrigin::start(|_| ok("strict", &[("cache-control", "max-age=1, must-revalidate")])).await;
    let edge2 = TestEdge::start(&strict.config(PLAIN)).await;
    edge2.get("/m").await;
    tokio::time::sleep(expire_soon()).await;
    strict.gate.hold(); // slower than response_timeout (1 s): a 504
    assert_eq!(edge2.get("/m").await.status, 504);
    strict.gate.release();
}

#[tokio::test]
async fn unsafe_methods_are_forwarded_and_invalidate_the_url_and_location() {
    let origin = HttpOrigin::start(|seen: &Seen| match seen.method.as_str() {
        "POST" => Response::builder()
            .status(201)
            .header("location", "/b")
            .body(Full::new(Bytes::from("created")))
            .unwrap(),
        _ => ok(&format!("get {}", seen.uri), &[("cache-control", "max-age=60")]),
    })
    .await;
    let edge = TestEdge::start(&origin.config(PLAIN)).await;
    for path in ["/a", "/b", "/a", "/b"] {
        edge.get(path).await;
    }
    assert_eq!(origin.requests(), 2);
    let post = edge.request("POST", "/a", &[]).await;
    assert_eq!(post.status, 201);
    assert_eq!(post.body, "created");
    assert_eq!(edge.get("/a").await.x_cache(), "Miss from edge-test");
    assert_eq!(
        edge.get("/b").await.x_cache(),
        "Miss from edge-test",
        "Location invalidated"
    );
    assert_eq!(origin.seen()[2].method, "POST");
}

#[tokio::test]
async fn request_hop_by_hop_headers_are_not_forwarded_and_forwarding_headers_are_added() {
    let origin = HttpOrigin::start(|_| ok("x", &[])).await;
    // End-to-end headers reach the origin when the route keys them.
    let keyed = format!("{PLAIN}\nkey = {{ headers = [\"X-App\"] }}");
    let edge = TestEdge::start(&origin.config(&keyed)).await;
    edge.request(
        "GET",
        "/h",
        &[
            ("connection", "x-private"),
            ("x-private", "1"),
            ("x-app", "2"),
            ("x-other", "3"),
        ],
    )
    .await;
    let seen = &origin.seen()[0];
    assert!(seen.headers.get("x-private").is_none());
    assert!(seen.headers.get("x-other").is_none(), "not keyed, not forwarded");
    assert_eq!(seen.headers["x-app"], "2");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["host"], origin.addr.to_string());

    let preserving = TestEdge::start(
        &origin
            .config(PLAIN)
            .replace("kind = \"http\"", "kind = \"http\"\npreserve_host = true"),
    )
    .await;
    preserving.request("GET", "/h2", &[("host", "www.example.com")]).await;
    assert_eq!(origin.seen()[1].headers["host"], "www.example.com");
}
