//! Issue 18 item 6: what is forwarded is what is keyed. Fill requests to
//! an HTTP origin used to carry every end-to-end client header (`Cookie`,
//! `Authorization`, `X-Forwarded-Prefix`…) while the key held only the
//! path and query, so an origin that varied on one stored one client's
//! answer for all (web cache deception). And `/app/..;/internal` was
//! forwarded verbatim. Now a fill carries an allow-list (the route's
//! `key`), paths an origin could read as another path are refused, and
//! passed methods keep their bodies, framed by the edge.

use crate::support::TestEdge;
use crate::support::client::{Client, Reply, raw_request};
use crate::support::raw_origin::{RawAnswer, RawOrigin};

use super::framing::{assert_origin_clean, h2_send, raw_body};

/// What the edge itself adds to a fill; anything else must be keyed.
const EDGE_OWN: [&str; 4] = ["host", "via", "x-forwarded-for", "x-forwarded-proto"];

/// Client headers an origin or framework may vary on.
const UNKEYED: [(&str, &str); 8] = [
    ("cookie", "sid=alice"),
    ("authorization", "Bearer alice"),
    ("x-forwarded-prefix", "/evil"),
    ("x-forwarded-ssl", "on"),
    ("x-original-host", "evil.example"),
    ("accept-language", "fr"),
    ("user-agent", "attacker"),
    ("x-custom", "1"),
];

/// An origin whose answer reflects what it was sent of the headers above
/// (a user page for a cookie: no `Vary`, cacheable by its extension, as
/// web cache deception needs).
async fn reflecting() -> RawOrigin {
    let origin = RawOrigin::start().await;
    origin.answer_with(|r| {
        let seen: Vec<String> = UNKEYED
            .iter()
            .filter_map(|(n, _)| r.header(n).map(|v| format!("{n}={v}")))
            .collect();
        let body = match seen.is_empty() {
            true => format!("anonymous {}", r.path),
            false => format!("page for {}", seen.join(" ")),
        };
        RawAnswer::cacheable(body)
    });
    origin
}

/// Before: the cookie user's page (`page for cookie=sid=alice`) was
/// stored and served to the next, cookieless client; each of the other
/// headers likewise. After: the origin never sees them.
#[tokio::test]
async fn web_cache_deception_no_unkeyed_header_reaches_the_origin_or_another_client() {
    let origin = reflecting().await;
    let edge = TestEdge::start(&origin.config("", "")).await;
    for (i, client) in [Client::new(), Client::http2()].into_iter().enumerate() {
        for (n, (name, value)) in UNKEYED.iter().enumerate() {
            let path = format!("/app/profile/{i}-{n}.css");
            let first = client.request("GET", &edge.url(&path), &[(name, value)]).await;
            assert_eq!(first.status.as_u16(), 200);
            let clean = client.request("GET", &edge.url(&path), &[]).await;
            let want = format!("anonymous {path}");
            assert_eq!(std::str::from_utf8(&first.body).unwrap(), want, "{name}");
            assert_eq!(std::str::from_utf8(&clean.body).unwrap(), want, "{name}");
            if *name != "authorization" {
                // (A request with `Authorization` stores only `public`
                // answers, RFC 9111 §3.5.)
                assert_eq!(clean.x_cache(), "Hit from edge-test", "{name}");
            }
        }
    }
    for r in origin.requests() {
        for (name, _) in &r.headers {
            assert!(EDGE_OWN.contains(&name.as_str()), "{name} reached the origin in {r:?}");
        }
    }
    assert_origin_clean(&origin);
}

/// A route that keys a cookie, a header and one query parameter: each is
/// part of the key and exactly what the origin gets. Before: the `key`
/// setting did not exist (a config error); everything was forwarded.
#[tokio::test]
async fn keyed_cookies_headers_and_query_are_keyed_and_are_all_that_is_forwarded() {
    let origin = RawOrigin::start().await;
    origin.answer_with(|r| {
        let body = format!(
            "{} cookie={} x-variant={}",
            r.path,
            r.header("cookie").unwrap_or("-"),
            r.header("x-variant").unwrap_or("-")
        );
        RawAnswer::cacheable(body)
    });
    let route = r#"key = { query = ["v", "a"], headers = ["X-Variant"], cookies = ["sid"] }
origin_headers = ["X-Trace"]"#;
    let edge = TestEdge::start(&origin.config("", route)).await;
    let get = |path: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let edge = &edge;
        async move { edge.request("GET", path, headers).await }
    };
    let a = get("/p?z=1&v=2&a=0", &[("cookie", "other=1; sid=a"), ("x-variant", "x")]).await;
    assert_eq!(&a.body[..], b"/p?a=0&v=2 cookie=sid=a x-variant=x");
    assert_eq!(a.x_cache(), "Miss from edge-test");
    // Same keyed values, other unkeyed ones, another order: one object.
    let again = get(
        "/p?a=0&v=2&z=9",
        &[("cookie", "sid=a; n=2"), ("x-variant", "x"), ("x-trace", "t1")],
    )
    .await;
    assert_eq!((again.x_cache(), &again.body), ("Hit from edge-test", &a.body));
    for (headers, want) in [
        (
            &[("cookie", "sid=b"), ("x-variant", "x")][..],
            "/p?a=0&v=2 cookie=sid=b x-variant=x",
        ),
        (
            &[("cookie", "sid=a"), ("x-variant", "y")][..],
            "/p?a=0&v=2 cookie=sid=a x-variant=y",
        ),
        (&[][..], "/p?a=0&v=2 cookie=- x-variant=-"),
    ] {
        let r = get("/p?v=2&a=0", headers).await;
        assert_eq!(
            (r.x_cache(), std::str::from_utf8(&r.body).unwrap()),
            ("Miss from edge-test", want)
        );
    }
    assert_eq!(origin.count(), 4);
    // `origin_headers`: sent as received, not keyed.
    let traced = get("/t", &[("x-trace", "t2"), ("x-other", "o")]).await;
    assert_eq!(traced.x_cache(), "Miss from edge-test");
    let sent = origin.requests().pop().unwrap();
    assert_eq!((sent.header("x-trace"), sent.has("x-other")), (Some("t2"), false));
    assert_eq!(get("/t", &[("x-trace", "t3")]).await.x_cache(), "Hit from edge-test");
    // One invalidation of the path covers every keyed variant.
    let admin = edge.admin_client();
    assert_eq!(admin.invalidate(&["/p?v=2&a=0"]).await.status.as_u16(), 201);
    let r = get("/p?a=0&v=2", &[("cookie", "sid=a"), ("x-variant", "x")]).await;
    assert_eq!(r.x_cache(), "Miss from edge-test");
    let r = get("/p?a=0&v=2", &[("cookie", "sid=b"), ("x-variant", "x")]).await;
    assert_eq!(r.x_cache(), "Miss from edge-test");
}

/// Paths an origin could resolve to another path than the one keyed.
/// Before: forwarded verbatim (`/app/..;/internal` reached the origin).
pub const EVASIVE: [&str; 14] = [
    "/app/..;/internal",
    "/app/x/..;/..;/internal",
    "/app/;/internal",
    "/app/a;jsessionid=1",
    "/app/%2e%2e/internal",
    "/app/%2E%2e%3b/internal",
    "/app/.%2e/internal",
    "/app/..%2finternal",
    "/app/a%2Fb",
    "/app/..%5cinternal",
    "/app/%252e%252e/internal",
    "/app/%c0%ae%c0%ae/internal",
    "/app/./internal",
    "/app/../internal",
];

#[tokio::test]
async fn paths_with_parameters_or_dot_segments_in_any_encoding_are_refused_on_http_routes() {
    let origin = RawOrigin::start().await;
    let edge = TestEdge::start(&origin.config("", "")).await;
    for path in EVASIVE {
        let req = format!("GET {path} HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n");
        let (status, text) = raw_request(edge.addr, req.as_bytes()).await;
        assert_eq!(status, 400, "h1 {path}:\n{text}");
        assert!(raw_body(&text).len() < 200);
        let r = h2_send(edge.addr, "GET", path, &[], b"").await;
        assert_eq!(r.status.as_u16(), 400, "h2 {path}");
    }
    assert_eq!(origin.count(), 0, "{}", origin.wire_text());
    // Still served: ordinary paths, dots inside names, encoded spaces.
    let r = edge.get("/app/a..b/x.css?q=%2e%2e").await;
    assert_eq!(&r.body[..], b"path=/app/a..b/x.css?q=%2e%2e");
    let r = edge.get("/app/a%20b.css").await;
    assert_eq!(&r.body[..], b"path=/app/a%20b.css");
}

fn text(r: &Reply) -> &str {
    std::str::from_utf8(&r.body).unwrap()
}

/// `methods = "all"`: a POST body reaches the origin intact, framed by the
/// edge, on HTTP/1.1 (`Content-Length` or chunked) and HTTP/2; a request
/// with both `Transfer-Encoding` and `Content-Length` desynchronises
/// nothing. Before: the client's `Content-Length` was copied (and a GET's
/// body dropped under it).
#[tokio::test]
async fn passed_bodies_arrive_intact_and_exactly_framed_on_h1_and_h2() {
    let origin = RawOrigin::start().await;
    origin.body_first();
    origin.answer_with(|r| RawAnswer {
        status: 200,
        headers: vec![("Cache-Control".into(), "no-store".into())],
        body: format!("{} {} {}", r.method, r.path, String::from_utf8_lossy(&r.body)).into_bytes(),
    });
    let edge = TestEdge::start(&origin.config("", "methods = \"all\"")).await;
    let sized = "POST /f1 HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 7\r\nConnection: close\r\n\r\na=1&b=2";
    let chunked = "POST /f2 HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\na=1\r\n4\r\n&b=2\r\n0\r\n\r\n";
    for (req, want) in [(sized, "POST /f1 a=1&b=2"), (chunked, "POST /f2 a=1&b=2")] {
        let (status, text) = raw_request(edge.addr, req.as_bytes()).await;
        assert_eq!((status, raw_body(&text)), (200, want), "{text}");
    }
    let r = h2_send(edge.addr, "POST", "/f3", &[("content-length", "7")], b"a=1&b=2").await;
    assert_eq!(text(&r), "POST /f3 a=1&b=2");
    let r = h2_send(edge.addr, "PUT", "/f4", &[], b"a=1&b=2").await;
    assert_eq!(text(&r), "PUT /f4 a=1&b=2");
    // The conflict: the smuggled request hides in what one framing counts
    // as body and the other does not.
    let conflict = "POST /f5 HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2d\r\nGET /evil HTTP/1.1\r\nHost: edge.test\r\nX: x\r\n\r\n\r\n0\r\n\r\n";
    let (status, _) = raw_request(edge.addr, conflict.as_bytes()).await;
    assert!(status == 400 || status == 200, "{status}");
    let after = edge.request("POST", "/f6", &[]).await;
    assert_eq!(text(&after), "POST /f6 ");
    for r in origin.requests() {
        let declared = r.header("content-length").map(|v| v.parse::<usize>().unwrap());
        let chunked = r.header("transfer-encoding").is_some();
        assert!(!(chunked && declared.is_some()), "both framings sent: {r:?}");
        assert!(declared.is_none_or(|n| n == r.body.len()), "{r:?}");
        assert!(!r.has("expect") && !r.has("te") && !r.has("upgrade"), "{r:?}");
    }
    assert_origin_clean(&origin);
}

/// Passed methods forward the client's end-to-end headers (they are never
/// cached), but not those that make an origin framework act on another
/// URL, host or method than the one routed: IIS and Symfony rewrite to
/// `X-Original-URL`, Django believes `X-Forwarded-Host`. A POST to a
/// `methods = "all"` route could otherwise reach a path outside the route.
#[tokio::test]
async fn passed_methods_do_not_carry_url_host_or_method_rewrites() {
    let origin = RawOrigin::start().await;
    origin.body_first();
    origin.answer_with(|_| RawAnswer {
        status: 200,
        headers: vec![("Cache-Control".into(), "no-store".into())],
        body: b"ok".to_vec(),
    });
    let edge = TestEdge::start(&origin.config("", "methods = \"all\"")).await;
    let rewrites = [
        ("x-original-url", "/admin/delete"),
        ("x-rewrite-url", "/admin/delete"),
        ("x-forwarded-host", "evil.example"),
        ("forwarded", "host=evil.example"),
        ("x-http-method-override", "DELETE"),
    ];
    let mut headers: Vec<(&str, &str)> = rewrites.to_vec();
    headers.push(("cookie", "sid=alice"));
    let r = edge.request("POST", "/form", &headers).await;
    assert_eq!(r.status, 200);
    let r = h2_send(edge.addr, "POST", "/form2", &rewrites, b"a=1").await;
    assert_eq!(text(&r), "ok");
    let seen = origin.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for r in &seen {
        for (name, _) in rewrites {
            assert!(!r.has(name), "{name} reached the origin: {r:?}");
        }
    }
    // The rest of a passed request's headers still go (a form post needs its session).
    assert_eq!(seen[0].header("cookie"), Some("sid=alice"), "{:?}", seen[0]);
}
