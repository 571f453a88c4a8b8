//! Origin faults, each on a cold key and on a stale key: the answer (an
//! error of the edge's own, the origin's 5xx, or the stale entry), nothing
//! partial stored, coalesced waiters all answered alike and none hanging,
//! and a clean Miss once the origin recovers.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::support::faulty_origin::{DECLARED, Fault, FaultyOrigin};
use crate::support::s3_origin::Misbehave;
use crate::support::{S3Origin, TestEdge, raw_request};

/// Concurrent requests per fault: they coalesce onto one fill.
const WAITERS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// An error answer with this status, `X-Cache: Error`, `no-store`.
    Error(u16),
    /// The stale entry.
    Stale,
}

/// What a client gets when the key is cold.
fn cold_answer(f: Fault) -> u16 {
    match f {
        Fault::ConnectTimeout | Fault::SlowHeaders | Fault::SlowBody | Fault::EndlessChunked => 504,
        // The origin's own 5xx goes out as it was sent, never stored.
        Fault::Status500 => 500,
        Fault::Status503 => 503,
        _ => 502,
    }
}

/// What a client gets when a stale entry exists: RFC 9111 §4.2.4 lets a
/// cache serve stale when the origin cannot be reached; an origin that
/// answered 5xx is passed on unless `stale-if-error` allows the stale copy.
fn stale_answer(f: Fault, stale_if_error: bool) -> Answer {
    match f {
        Fault::Status500 | Fault::Status503 if !stale_if_error => Answer::Error(cold_answer(f)),
        _ => Answer::Stale,
    }
}

fn slow(f: Fault) -> bool {
    matches!(f, Fault::SlowHeaders | Fault::SlowBody | Fault::EndlessChunked)
}

async fn cold(fault: Fault) {
    let origin = FaultyOrigin::start().await;
    let edge = TestEdge::start_config(origin.config("", ""), Default::default()).await;
    origin.set(Some(fault));
    let start = Instant::now();
    let replies = join_all((0..WAITERS).map(|_| edge.get("/cold"))).await;
    assert!(start.elapsed() < Duration::from_secs(5), "{fault:?}: a waiter hung");
    for r in &replies {
        assert_eq!(
            r.status,
            cold_answer(fault),
            "{fault:?}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.x_cache(), "Error from edge-test", "{fault:?}");
        assert_eq!(r.header("cache-control"), "no-store", "{fault:?}");
        assert!(r.body.len() < 100, "{fault:?}: no partial body passed on");
    }
    if slow(fault) {
        assert_eq!(origin.requests(), 1, "{fault:?}: waiters coalesced onto one fill");
    }
    assert_eq!(edge.running().cache_usage().entries, 0, "{fault:?}: nothing stored");

    origin.set(None);
    let r = edge.get("/cold").await;
    assert_eq!(r.status, 200, "{fault:?}");
    assert_eq!(r.x_cache(), "Miss from edge-test", "{fault:?}");
    assert_eq!(r.body, FaultyOrigin::body(1), "{fault:?}");
    assert_eq!(edge.running().cache_usage().entries, 1);
}

async fn stale(fault: Fault, stale_if_error: bool) {
    let origin = FaultyOrigin::start().await;
    let route = if stale_if_error { "stale_if_error = \"1h\"" } else { "" };
    let edge = TestEdge::start_config(origin.config("", route), Default::default()).await;
    // max-age=0 with an ETag: stored, and stale at once.
    let first = edge.get("/stale").await;
    assert_eq!(first.x_cache(), "Miss from edge-test");
    assert_eq!(first.body, FaultyOrigin::body(1));

    origin.set(Some(fault));
    let start = Instant::now();
    let replies = join_all((0..WAITERS).map(|_| edge.get("/stale"))).await;
    assert!(start.elapsed() < Duration::from_secs(5), "{fault:?}: a waiter hung");
    for r in &replies {
        match stale_answer(fault, stale_if_error) {
            Answer::Stale => {
                assert_eq!(r.status, 200, "{fault:?}");
                assert_eq!(r.body, FaultyOrigin::body(1), "{fault:?}: the stale entry, whole");
                assert_eq!(r.x_cache(), "Hit from edge-test", "{fault:?}");
            }
            Answer::Error(status) => {
                assert_eq!(r.status, status, "{fault:?}");
                assert_eq!(r.x_cache(), "Error from edge-test", "{fault:?}");
                assert_eq!(r.header("cache-control"), "no-store", "{fault:?}");
            }
        }
    }
    assert_eq!(edge.running().cache_usage().entries, 1, "{fault:?}: only the old entry");

    origin.set(None);
    let r = edge.get("/stale").await;
    assert_eq!(r.status, 200, "{fault:?}");
    assert_eq!(r.x_cache(), "Miss from edge-test", "{fault:?}");
    assert_eq!(r.body, FaultyOrigin::body(2), "{fault:?}");
}

macro_rules! fault_tests {
    ($($name:ident: $fault:expr,)*) => {
        mod cold_key {
            use super::*;
            $(#[tokio::test] async fn $name() { cold($fault).await })*
        }
        mod stale_key {
            use super::*;
            $(#[tokio::test] async fn $name() { stale($fault, false).await })*
        }
        mod stale_key_with_stale_if_error {
            use super::*;
            $(#[tokio::test] async fn $name() { stale($fault, true).await })*
        }
    };
}

fault_tests! {
    connection_refused: Fault::Refused,
    unresolvable_host: Fault::Unresolvable,
    connect_timeout: Fault::ConnectTimeout,
    slow_headers: Fault::SlowHeaders,
    slow_body: Fault::SlowBody,
    reset_mid_body: Fault::ResetMidBody,
    body_shorter_than_content_length: Fault::ShortBody,
    chunked_body_never_ends: Fault::EndlessChunked,
    status_500: Fault::Status500,
    status_503: Fault::Status503,
    garbage_status_line: Fault::GarbageStatus,
}

/// Objects over `max_object_size` stream through: a body that fails after
/// the response started is cut off (the connection closes), never finished
/// with wrong bytes, and nothing is stored.
#[tokio::test]
async fn a_started_response_is_aborted_not_finished_wrong() {
    for fault in [
        Fault::SlowBody,
        Fault::ResetMidBody,
        Fault::ShortBody,
        Fault::EndlessChunked,
    ] {
        let origin = FaultyOrigin::start().await;
        let config = origin.config("[cache]\nmax_object_size = \"1KiB\"", "");
        let edge = TestEdge::start_config(config, Default::default()).await;
        origin.set(Some(fault));
        let start = Instant::now();
        let (status, text) = raw_request(edge.addr, b"GET /big HTTP/1.1\r\nHost: edge\r\n\r\n").await;
        assert!(start.elapsed() < Duration::from_secs(5), "{fault:?}");
        assert_eq!(status, 200, "{fault:?}: the response had started");
        let (head, body) = text.split_once("\r\n\r\n").expect("a head");
        let head = head.to_ascii_lowercase();
        if head.contains("transfer-encoding: chunked") {
            assert!(
                !body.ends_with("0\r\n\r\n"),
                "{fault:?}: chunked response not terminated"
            );
        } else {
            assert!(
                head.contains(&format!("content-length: {DECLARED}")),
                "{fault:?}: {head}"
            );
            assert!(body.len() < DECLARED, "{fault:?}: cut short, not padded");
        }
        assert!(
            edge.running().cache_usage().entries <= 1,
            "{fault:?}: at most the pass marker"
        );
        origin.set(None);
        let r = edge.get("/big").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, FaultyOrigin::body(1), "{fault:?}");
    }
}

const S3_ROUTE: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
ttl = { min = "0s", default = "0s", max = "1d" }
error_ttl = "0s"
"#;

#[tokio::test]
async fn s3_slow_down_retries_are_bounded_and_within_the_first_byte_timeout() {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}");
    origin.misbehave(Misbehave::Status(503, "SlowDown"));
    let edge = TestEdge::start(&origin.config(S3_ROUTE)).await;
    let start = Instant::now();
    let replies = join_all((0..WAITERS).map(|_| edge.get("/static/a.css"))).await;
    assert!(start.elapsed() < Duration::from_secs(2), "within response_timeout (2s)");
    for r in &replies {
        assert_eq!(r.status, 502);
        assert_eq!(r.x_cache(), "Error from edge-test");
        assert_eq!(r.header("cache-control"), "no-store");
    }
    // One fill for the waiters, and the SDK's one retry: 2 attempts each.
    assert!(origin.requests() <= 2 * WAITERS, "{}", origin.requests());
    assert_eq!(origin.requests() % 2, 0, "every fill made exactly 2 attempts");
    assert_eq!(edge.running().cache_usage().entries, 0);
    origin.misbehave(Misbehave::None);
    let r = edge.get("/static/a.css").await;
    assert_eq!((r.status.as_u16(), r.x_cache()), (200, "Miss from edge-test"));
}

#[tokio::test]
async fn s3_stalled_origin_is_504_at_the_first_byte_timeout_with_bounded_attempts() {
    let origin = S3Origin::start().await;
    origin.misbehave(Misbehave::Stall);
    let config = origin
        .config(S3_ROUTE)
        .replace("response_timeout = \"2s\"", "response_timeout = \"400ms\"");
    let edge = TestEdge::start(&config).await;
    let start = Instant::now();
    let r = edge.get("/static/slow.css").await;
    let took = start.elapsed();
    assert_eq!(r.status, 504);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    assert!(origin.requests() <= 2, "{}", origin.requests());
}

#[tokio::test]
async fn s3_faults_on_a_stale_key() {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}");
    let edge = TestEdge::start(&origin.config(S3_ROUTE)).await;
    assert_eq!(edge.get("/static/a.css").await.x_cache(), "Miss from edge-test");

    // Throttled: the origin could not serve; the stale copy stands in.
    origin.misbehave(Misbehave::Status(503, "SlowDown"));
    for r in join_all((0..WAITERS).map(|_| edge.get("/static/a.css"))).await {
        assert_eq!((r.status.as_u16(), r.x_cache()), (200, "Hit from edge-test"));
        assert_eq!(r.body, "body{}");
    }
    // AccessDenied is an answer (S3's 403 for a key gone or hidden), not a
    // failure: it is passed on; with error_ttl 0s it is not stored.
    origin.misbehave(Misbehave::Status(403, "AccessDenied"));
    let r = edge.get("/static/a.css").await;
    assert_eq!((r.status.as_u16(), r.x_cache()), (403, "Error from edge-test"));
    assert_eq!(edge.running().cache_usage().entries, 1, "only the old entry");

    // Recovered: the stale entry revalidates (the object did not change).
    origin.misbehave(Misbehave::None);
    let r = edge.get("/static/a.css").await;
    assert_eq!((r.status.as_u16(), r.x_cache()), (200, "RefreshHit from edge-test"));
    assert_eq!(r.body, "body{}");
}
