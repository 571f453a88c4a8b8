//! Hostile input: a corpus of raw requests (traversal in every encoding,
//! odd targets, bad Host, smuggling, folding, bad methods and versions,
//! absurd Range / Accept-Encoding / If-* headers), each answered with a 4xx
//! or a correct normal answer, never a 5xx or a panic, and no origin read
//! outside a route's key_prefix. And unkeyed headers never poison the cache.

mod corpus;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use self::corpus::{Expect, corpus};
use crate::support::s3_origin::DJANGO_ROUTES;
use crate::support::{HttpOrigin, S3Origin, TestEdge, http_origin};

const SECRET: &str = "TOP-SECRET";

/// Sends raw bytes; reads until the edge closes or is quiet for 1 s (a
/// request that declared a body it never sent is left waiting: status 0).
async fn send(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    for _ in 0..1000 {
        match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn a_corpus_of_hostile_requests_gets_4xx_or_sane_answers_and_never_leaves_the_key_prefix() {
    let origin = S3Origin::start().await;
    origin.put("secret.txt", SECRET);
    origin.put("private/secret.txt", SECRET);
    origin.put("static/app.css", "body{color:red}");
    origin.put("static/big.txt", "0123456789".repeat(200));
    origin.put("media/a.jpg", "jpeg");
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    let cases = corpus();
    assert!(cases.len() >= 300, "corpus has {} cases", cases.len());

    let results: Vec<(usize, (u16, String))> = futures_util::stream::iter(cases.iter().enumerate())
        .map(|(i, c)| async move { (i, send(edge.addr, &c.bytes).await) })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut outcomes: BTreeMap<u16, usize> = BTreeMap::new();
    for (i, (status, text)) in &results {
        let case = &cases[*i];
        *outcomes.entry(*status).or_default() += 1;
        assert!(!text.contains(SECRET), "{}: leaked the secret", case.name);
        // 0: the edge closed without answering (hyper does for some
        // unparseable heads); otherwise a 4xx or a normal answer.
        let ok = match case.expect {
            Expect::ClientError => (400..500).contains(status),
            Expect::Sane => *status == 0 || (200..500).contains(status),
        };
        assert!(ok, "{}: answered {status}:\n{text:.300}", case.name);
    }
    eprintln!(
        "hostile corpus: {} requests, outcomes by status: {outcomes:?}",
        cases.len()
    );

    // Every key asked of the origin lies under a route's key_prefix.
    for uri in origin.uris() {
        let path = uri.split('?').next().unwrap();
        let key = percent_decode_str(path.strip_prefix("/bucket/").unwrap_or(path))
            .decode_utf8_lossy()
            .into_owned();
        assert!(
            key.starts_with("static/") || key.starts_with("media/"),
            "origin asked for {uri}"
        );
        assert!(!key.split('/').any(|s| s == ".." || s == "."), "origin asked for {uri}");
        assert!(!key.contains('\\') && !key.contains('\0'), "origin asked for {uri}");
    }
    // Still up and serving.
    let r = edge.get("/static/app.css").await;
    assert_eq!((r.status.as_u16(), &r.body[..]), (200, &b"body{color:red}"[..]));
}

/// An origin that reflects what a framework would build URLs from: the
/// host it believes and the URL it believes.
async fn reflecting_origin() -> HttpOrigin {
    HttpOrigin::start(|seen| {
        let h = |n: &str| {
            seen.headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_string()
        };
        let host = h("x-forwarded-host");
        let body = format!(
            "host={} xfh={host} url={} rewrite={} fwd={}",
            h("host"),
            h("x-original-url"),
            h("x-rewrite-url"),
            h("forwarded")
        );
        http_origin::ok(
            &body,
            &[("cache-control", "max-age=600"), ("content-type", "text/plain")],
        )
    })
    .await
}

#[tokio::test]
async fn unkeyed_headers_never_change_what_is_stored_for_everyone() {
    let origin = reflecting_origin().await;
    let edge = TestEdge::start(&origin.config("")).await;
    let poison = [
        ("x-forwarded-host", "evil.example"),
        ("x-original-url", "/admin"),
        ("x-rewrite-url", "/admin"),
        ("forwarded", "host=evil.example"),
        ("x-host", "evil.example"),
        ("x-forwarded-server", "evil.example"),
    ];
    let first = edge.request("GET", "/page", &poison).await;
    assert_eq!(first.x_cache(), "Miss from edge-test");
    let body = String::from_utf8_lossy(&first.body).into_owned();
    assert!(!body.contains("evil") && !body.contains("/admin"), "{body}");
    let seen = &origin.seen()[0];
    for (name, _) in poison {
        assert!(!seen.headers.contains_key(name), "{name} reached the origin");
    }

    // Host variants: the origin gets its own host; one object for all.
    for host in ["evil.example", "EDGE.test", "edge.test:8080", "edge.test."] {
        let r = edge.request("GET", "/page", &[("host", host)]).await;
        assert_eq!(r.x_cache(), "Hit from edge-test", "{host}");
        assert_eq!(r.body, first.body, "{host}");
    }
    let clean = edge.get("/page").await;
    assert_eq!(clean.body, first.body);
    assert_eq!(origin.requests(), 1);
}

/// With `preserve_host`, the origin answers by the client's `Host`, so the
/// host is part of the cache key: each host gets its own bytes, and no
/// `Host` a client sends can put its bytes in front of another host.
#[tokio::test]
async fn on_preserve_host_routes_each_host_is_cached_apart() {
    let origin = HttpOrigin::start(|seen| {
        let host = seen.headers.get("host").map_or("-", |v| v.to_str().unwrap());
        http_origin::ok(&format!("site of {host}"), &[("cache-control", "max-age=600")])
    })
    .await;
    let config = origin
        .config("")
        .replace("kind = \"http\"", "kind = \"http\"\npreserve_host = true");
    let edge = TestEdge::start(&config).await;
    let edge = &edge;
    let get = |host: &'static str| async move { edge.request("GET", "/page", &[("host", host)]).await };

    let a = get("a.example").await;
    assert_eq!(
        (a.x_cache(), &a.body[..]),
        ("Miss from edge-test", &b"site of a.example"[..])
    );
    let b = get("b.example").await;
    assert_eq!(
        (b.x_cache(), &b.body[..]),
        ("Miss from edge-test", &b"site of b.example"[..])
    );
    // Hosts are case-insensitive: one object, and the origin was sent the
    // lower-cased host it is keyed by.
    let a_again = get("A.Example").await;
    assert_eq!(
        (a_again.x_cache(), &a_again.body[..]),
        ("Hit from edge-test", &b"site of a.example"[..])
    );
    let b_again = get("b.example").await;
    assert_eq!(
        (b_again.x_cache(), &b_again.body[..]),
        ("Hit from edge-test", &b"site of b.example"[..])
    );
    let hosts: Vec<String> = origin
        .seen()
        .iter()
        .map(|s| s.headers["host"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(hosts, ["a.example", "b.example"]);

    // HTTP/2 has no Host header: `:authority` is the host, keyed alike.
    let h2 = crate::support::client::Client::http2()
        .request("GET", &edge.url("/page"), &[])
        .await;
    assert_eq!(h2.body, format!("site of {}", edge.addr).as_bytes());
    // A Host that is no authority is refused, not forwarded.
    let (status, _) = send(
        edge.addr,
        b"GET /page HTTP/1.1\r\nHost: a.example/evil\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(origin.requests(), 3);
}
