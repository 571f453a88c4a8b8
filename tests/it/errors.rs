//! Origin errors: what is cached (404, S3's 403) and what never is.

use crate::support::s3_origin::Misbehave;
use crate::support::{S3Origin, TestEdge};

const ROUTE: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
cache_control = "public, max-age=31536000, immutable"
error_ttl = "1s"
"#;

#[tokio::test]
async fn missing_key_is_404_cached_for_error_ttl_then_asked_again() {
    let origin = S3Origin::start().await;
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    let first = edge.get("/static/css/site.0123456789ab.css").await;
    assert_eq!(first.status, 404);
    // A hashed name requested before its upload must not be pinned in
    // browsers for a year: the error TTL, not the route's max-age.
    assert_eq!(first.header("cache-control"), "max-age=1");
    assert_eq!(first.x_cache(), "Error from edge-test");
    assert!(first.body.len() < 100);

    let second = edge.get("/static/css/site.0123456789ab.css").await;
    assert_eq!(second.status, 404);
    assert_eq!(second.header("cache-control"), "max-age=1");
    assert!(!second.header("age").is_empty(), "cached 404 carries Age");
    assert_eq!(origin.requests(), 1, "404 served from cache");

    // Uploaded meanwhile; after error_ttl the edge asks again.
    origin.put("static/css/site.0123456789ab.css", "x{}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = edge.get("/static/css/site.0123456789ab.css").await;
    assert_eq!(third.status, 200);
    assert_eq!(third.body, "x{}");
    assert_eq!(origin.requests(), 2);
}

#[tokio::test]
async fn error_ttl_zero_caches_nothing() {
    let origin = S3Origin::start().await;
    let edge = TestEdge::start(&origin.config(&ROUTE.replace("\"1s\"", "\"0s\""))).await;
    assert_eq!(edge.get("/static/nope.css").await.status, 404);
    assert_eq!(edge.get("/static/nope.css").await.status, 404);
    assert_eq!(origin.requests(), 2);
}

#[tokio::test]
async fn s3_access_denied_is_403_and_cached_like_404() {
    let origin = S3Origin::start().await;
    origin.misbehave(Misbehave::Status(403, "AccessDenied"));
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    let r = edge.get("/static/private.css").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("cache-control"), "max-age=1");
    assert_eq!(r.x_cache(), "Error from edge-test");
    assert_eq!(edge.get("/static/private.css").await.status, 403);
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn s3_throttling_and_5xx_are_502_never_cached() {
    for (status, code) in [(503, "SlowDown"), (500, "InternalError")] {
        let origin = S3Origin::start().await;
        origin.put("static/a.css", "a");
        origin.misbehave(Misbehave::Status(status, code));
        let edge = TestEdge::start(&origin.config(ROUTE)).await;
        let r = edge.get("/static/a.css").await;
        assert_eq!(r.status, 502, "{code}");
        assert_eq!(r.x_cache(), "Error from edge-test");
        assert_eq!(r.header("cache-control"), "no-store");
        assert!(r.body.len() < 100);
        let asked = origin.requests();
        assert!(asked >= 1);

        // Recovery: the next request is a clean Miss.
        origin.misbehave(Misbehave::None);
        let r = edge.get("/static/a.css").await;
        assert_eq!(r.status, 200, "{code}");
        assert_eq!(r.x_cache(), "Miss from edge-test");
        assert_eq!(r.body, "a");
        assert_eq!(origin.requests(), asked + 1, "errors are never cached");
    }
}

#[tokio::test]
async fn s3_response_timeout_is_504() {
    let origin = S3Origin::start().await;
    origin.misbehave(Misbehave::Stall);
    let config = origin
        .config(ROUTE)
        .replace("response_timeout = \"2s\"", "response_timeout = \"300ms\"");
    let edge = TestEdge::start(&config).await;
    let r = edge.get("/static/slow.css").await;
    assert_eq!(r.status, 504);
    assert_eq!(r.x_cache(), "Error from edge-test");
    assert_eq!(r.header("cache-control"), "no-store");
}

#[tokio::test]
async fn unreachable_s3_endpoint_is_502() {
    // A loopback port bound but not listening: connection refused, and no
    // other test can take the port while we hold it.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = closed.local_addr().unwrap().port();
    let origin = S3Origin::start().await;
    let config = origin
        .config(ROUTE)
        .replace(&origin.endpoint(), &format!("http://127.0.0.1:{port}"));
    let edge = TestEdge::start(&config).await;
    let r = edge.get("/static/a.css").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.x_cache(), "Error from edge-test");
}

/// A raw TCP origin that answers every connection with `response` and
/// closes; counts connections.
async fn raw_origin(response: &'static [u8]) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(response).await;
            });
        }
    });
    (addr, count)
}

#[tokio::test]
async fn body_cut_short_is_502_and_never_cached() {
    let (addr, count) =
        raw_origin(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nCache-Control: max-age=600\r\nContent-Type: text/plain\r\n\r\nonly a part").await;
    let config = format!(
        "[server]\nname = \"edge-test\"\n[origins.app]\nkind = \"http\"\nurl = \"http://{addr}\"\n[[routes]]\npath = \"/\"\norigin = \"app\"\n"
    );
    let edge = TestEdge::start(&config).await;
    for _ in 0..2 {
        let r = edge.get("/file.txt").await;
        assert_eq!(r.status, 502);
        assert_eq!(r.x_cache(), "Error from edge-test");
    }
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "nothing partial was stored"
    );
    assert_eq!(edge.running().cache_usage().entries, 0);
}
