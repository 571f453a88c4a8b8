//! The admin listener attacked (issue 18, item 4), on HTTP/1.1 and h2c:
//! bodies read before authentication and without a deadline, stalled
//! heads, cross-site POSTs and DNS rebinding against the tokenless
//! (loopback) admin API, and multibyte invalidation paths that panicked.
//! SigV4 replays are in `admin_sigv4`.

use std::path::Path;
use std::time::{Duration, Instant};

use cachefront::config::Config;

use crate::support::admin::{Seen, h1_stalled, h2_send};
use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

const TOKEN: &str = "adv-admin-token";
/// How long a test waits for an answer that must come at once (or after
/// the test's 300 ms `admin_timeout`): generous, never slept.
const PROMPT: Duration = Duration::from_secs(5);

/// A node whose `[server]` has `extra`; with the admin token when `token`.
/// `static/a.css` is cached (a Hit) so a purge would show.
async fn node(extra: &str, token: bool) -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}");
    let toml = origin
        .config(DJANGO_ROUTES)
        .replacen("[server]", &format!("[server]\n{extra}"), 1);
    let mut config = Config::parse(&toml, Path::new(".")).unwrap();
    if token {
        config.server.admin_token = Some(TOKEN.into());
    }
    let edge = TestEdge::start_config(config, Default::default()).await;
    assert!(edge.get("/static/a.css").await.x_cache().starts_with("Miss"));
    (origin, edge)
}

async fn still_cached(edge: &TestEdge) {
    assert!(
        edge.get("/static/a.css").await.x_cache().starts_with("Hit"),
        "the cache must not have been purged"
    );
}

fn post_head(edge: &TestEdge, host: &str, headers: &str, length: usize) -> Vec<u8> {
    let host = if host.is_empty() {
        edge.admin.to_string()
    } else {
        host.to_string()
    };
    format!("POST /invalidations HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {length}\r\n\r\n").into_bytes()
}

fn h2_post(edge: &TestEdge, authority: &str) -> http::request::Builder {
    let authority = if authority.is_empty() {
        edge.admin.to_string()
    } else {
        authority.to_string()
    };
    http::Request::builder()
        .method("POST")
        .uri(format!("http://{authority}/invalidations"))
}

#[tokio::test]
async fn an_unauthenticated_body_is_refused_from_the_head_alone() {
    let (_origin, edge) = node("", true).await;
    let part = vec![b'{'; 64 << 10];
    for auth in ["", "Authorization: Bearer wrong\r\n"] {
        let mut req = post_head(&edge, "", &format!("{auth}Content-Type: application/json\r\n"), 8 << 20);
        req.extend_from_slice(&part);
        let started = Instant::now();
        let seen = h1_stalled(edge.admin, &req, PROMPT).await;
        assert_eq!(
            seen.status, 401,
            "HTTP/1.1 {auth:?}: 8 MiB announced, 64 KiB sent: {seen:?}"
        );
        assert!(seen.closed && started.elapsed() < PROMPT, "{seen:?}");
        assert!(seen.text.len() < 1024, "a short answer: {seen:?}");
    }
    let h2 = h2_post(&edge, "")
        .header("content-type", "application/json")
        .header("content-length", 8 << 20);
    let seen = h2_send(edge.admin, h2, &part, false, PROMPT).await;
    assert_eq!(seen.status, 401, "h2: 8 MiB announced, 64 KiB sent: {seen:?}");
}

#[tokio::test]
async fn bodies_over_a_mebibyte_are_413() {
    let (_origin, edge) = node("", false).await;
    // Announced: refused before a byte of it is read.
    let mut req = post_head(&edge, "", "Content-Type: application/json\r\n", 8 << 20);
    req.extend_from_slice(&[b' '; 64 << 10]);
    let seen = h1_stalled(edge.admin, &req, PROMPT).await;
    assert_eq!(seen.status, 413, "HTTP/1.1: {seen:?}");
    assert!(seen.closed, "{seen:?}");
    let h2 = h2_post(&edge, "")
        .header("content-type", "application/json")
        .header("content-length", 8 << 20);
    assert_eq!(h2_send(edge.admin, h2, &[b' '; 1024], false, PROMPT).await.status, 413);
    // Not announced (h2 without content-length): cut at 1 MiB.
    let mut body = vec![b' '; 2 << 20];
    body.extend_from_slice(br#"{"paths": ["/*"]}"#);
    let h2 = h2_post(&edge, "").header("content-type", "application/json");
    let seen = h2_send(edge.admin, h2, &body, true, PROMPT).await;
    assert_eq!(seen.status, 413, "h2, 2 MiB streamed: {seen:?}");
    still_cached(&edge).await;
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_after_admin_timeout() {
    let (_origin, edge) = node("admin_timeout = \"300ms\"", false).await;
    let mut req = post_head(&edge, "", "Content-Type: application/json\r\n", 100);
    req.extend_from_slice(br#"{"paths": "#);
    let started = Instant::now();
    let seen = h1_stalled(edge.admin, &req, PROMPT).await;
    assert_eq!(seen.status, 408, "HTTP/1.1: {seen:?}");
    assert!(seen.closed && started.elapsed() < PROMPT, "{seen:?}");
    let h2 = h2_post(&edge, "")
        .header("content-type", "application/json")
        .header("content-length", 100);
    let seen = h2_send(edge.admin, h2, br#"{"paths": "#, false, PROMPT).await;
    assert_eq!(seen.status, 408, "h2: {seen:?}");
    // A head that never ends: the connection is dropped.
    let head = format!("POST /invalidations HTTP/1.1\r\nHost: {}\r\nContent-Ty", edge.admin);
    let seen = h1_stalled(edge.admin, head.as_bytes(), PROMPT).await;
    assert!(seen.closed, "a stalled head is dropped: {seen:?}");
}

/// A tokenless node: what a browser page could make it do.
async fn tokenless_refuses(edge: &TestEdge, host: &str, headers: &str, body: &str) -> (Seen, Seen) {
    // Closed after the answer, so the read ends there.
    let mut req = post_head(edge, host, &format!("{headers}Connection: close\r\n"), body.len());
    req.extend_from_slice(body.as_bytes());
    let h1 = h1_stalled(edge.admin, &req, PROMPT).await;
    let mut h2 = h2_post(edge, host);
    for line in headers.split("\r\n").filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(": ").unwrap();
        h2 = h2.header(k.to_ascii_lowercase(), v);
    }
    let h2 = h2_send(edge.admin, h2, body.as_bytes(), true, PROMPT).await;
    (h1, h2)
}

#[tokio::test]
async fn tokenless_admin_refuses_cross_site_posts() {
    let (_origin, edge) = node("", false).await;
    let purge = r#"{"paths": ["/*"]}"#;
    for (headers, status) in [
        // A cross-site `fetch(…, {mode: "no-cors", body})` or form.
        (
            "Content-Type: text/plain;charset=UTF-8\r\nOrigin: http://evil.example\r\n",
            403,
        ),
        (
            "Content-Type: application/x-www-form-urlencoded\r\nOrigin: null\r\n",
            403,
        ),
        ("Content-Type: application/json\r\nSec-Fetch-Site: cross-site\r\n", 403),
        ("Content-Type: application/json\r\nOrigin: http://127.0.0.1:1\r\n", 403),
        // No browser headers at all (an old browser): the type gives it away.
        ("Content-Type: text/plain\r\n", 415),
        ("", 415),
    ] {
        let (h1, h2) = tokenless_refuses(&edge, "", headers, purge).await;
        assert_eq!(h1.status, status, "HTTP/1.1 {headers:?}: {h1:?}");
        assert_eq!(h2.status, status, "h2 {headers:?}: {h2:?}");
        still_cached(&edge).await;
    }
}

#[tokio::test]
async fn tokenless_admin_refuses_rebound_host_names() {
    let (_origin, edge) = node("", false).await;
    let purge = r#"{"paths": ["/*"]}"#;
    let json = "Content-Type: application/json\r\n";
    let (h1, h2) = tokenless_refuses(&edge, "evil.example", json, purge).await;
    assert_eq!((h1.status, h2.status), (403, 403), "{h1:?} {h2:?}");
    still_cached(&edge).await;
    for host in ["evil.example", "evil.example:9091", "127.0.0.1.nip.io"] {
        let get = format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let seen = h1_stalled(edge.admin, get.as_bytes(), PROMPT).await;
        assert_eq!(seen.status, 403, "GET /metrics, Host: {host}: {seen:?}");
        let h2 = http::Request::builder().uri(format!("http://{host}/metrics"));
        assert_eq!(
            h2_send(edge.admin, h2, b"", true, PROMPT).await.status,
            403,
            "h2 {host}"
        );
        // Probes keep working whatever name they use.
        for probe in ["/healthz", "/readyz"] {
            let get = format!("GET {probe} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            assert_eq!(h1_stalled(edge.admin, get.as_bytes(), PROMPT).await.status, 200);
        }
    }
    let port = edge.admin.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let get = format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        assert_eq!(
            h1_stalled(edge.admin, get.as_bytes(), PROMPT).await.status,
            200,
            "{host}"
        );
    }
    // The legitimate calls: curl with JSON, a bodiless POST /reload.
    let (h1, h2) = tokenless_refuses(&edge, "", json, r#"{"paths": ["/media/x"]}"#).await;
    assert_eq!((h1.status, h2.status), (201, 201), "{h1:?} {h2:?}");
    let reload = format!(
        "POST /reload HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        edge.admin
    );
    let seen = h1_stalled(edge.admin, reload.as_bytes(), PROMPT).await;
    assert!(seen.status != 0 && ![403, 415].contains(&seen.status), "{seen:?}");
}

#[tokio::test]
async fn multibyte_invalidation_paths_are_400_not_a_panic() {
    let (_origin, edge) = node("", false).await;
    let json = "Content-Type: application/json\r\n";
    let long = format!("/{}", "é".repeat(4000));
    let body = serde_json::json!({ "paths": [long] }).to_string();
    let (h1, h2) = tokenless_refuses(&edge, "", json, &body).await;
    for seen in [&h1, &h2] {
        assert_eq!(seen.status, 400, "{seen:?}");
        assert!(seen.text.len() < 1024, "a short answer: {} bytes", seen.text.len());
        assert!(seen.text.contains("4001 characters"), "{seen:?}");
    }
    let xml = crate::support::sigv4::batch(&[&long], "multibyte");
    let req = [
        format!(
            "POST /2020-05-31/distribution/LOCAL/invalidation HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            edge.admin,
            xml.len()
        )
        .into_bytes(),
        xml,
    ]
    .concat();
    let seen = h1_stalled(edge.admin, &req, PROMPT).await;
    assert_eq!(seen.status, 400, "{seen:?}");
    assert!(
        seen.text.contains("<Code>InvalidArgument</Code>") && seen.text.len() < 2048,
        "{seen:?}"
    );
    // Short ones that sliced inside a character: valid paths.
    for path in ["/é", "/é*", "/static/ü"] {
        let body = serde_json::json!({ "paths": [path] }).to_string();
        let (h1, h2) = tokenless_refuses(&edge, "", json, &body).await;
        assert_eq!((h1.status, h2.status), (201, 201), "{path}: {h1:?} {h2:?}");
    }
    for path in ["/é*é", "é"] {
        let body = serde_json::json!({ "paths": [path] }).to_string();
        let (h1, _) = tokenless_refuses(&edge, "", json, &body).await;
        assert_eq!(h1.status, 400, "{path}: {h1:?}");
    }
}
