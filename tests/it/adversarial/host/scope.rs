//! A user1 policy never opens user2's files: not through `Host` or
//! `:authority`, not through the path (encoded slashes, dot-segments, `;`
//! parameters), not through the query, on signed URLs and signed cookies,
//! HTTP/1.1 and HTTP/2.

use percent_encoding::percent_decode_str;

use super::wire::{h1, h1_get, h2_get, h2_raw};
use super::{FIXTURES, KEY_ID, OWN, SECRET, USER1_POLICY, media_edge, sign};
use crate::support::http_origin::{self, HttpOrigin};
use crate::support::{S3Origin, TestEdge};

const EVIL_HOST: &str = "cdn.example.com/media/user1";

/// The requests a client with user1's signature makes for user2's secret:
/// (what, path and query, cookie).
fn user2_requests(signed: &super::Signed) -> Vec<(&'static str, String, Option<String>)> {
    vec![
        ("signed URL", format!("/media/user2/secret.txt?{}", signed.query), None),
        (
            "signed cookies",
            "/media/user2/secret.txt".into(),
            Some(signed.cookie.clone()),
        ),
    ]
}

fn assert_access_denied(got: &super::Got, what: &str) {
    assert_eq!(got.status, 403, "{what}: {got:?}");
    assert!(got.body.contains("<Code>AccessDenied</Code>"), "{what}: {got:?}");
}

fn assert_origin_never_asked_for_user2(origin: &S3Origin) {
    for uri in origin.uris() {
        assert!(!uri.contains("user2"), "the origin was asked for {uri}");
    }
}

#[tokio::test]
async fn a_path_in_host_does_not_widen_a_policy_on_http1() {
    let (origin, edge) = media_edge("", "").await;
    let signed = sign(USER1_POLICY);
    for (what, target, cookie) in user2_requests(&signed) {
        let got = h1_get(edge.addr, &target, EVIL_HOST, cookie.as_deref()).await;
        got.assert_no_secret(what);
        assert_eq!(got.status, 400, "{what}: {got:?}");
        assert!(got.body.len() < 100, "{what}: a short body: {got:?}");
        for host in ["cdn.example.com", "evil.example", "cdn.example.com:8080"] {
            let got = h1_get(edge.addr, &target, host, cookie.as_deref()).await;
            got.assert_no_secret(what);
            assert_access_denied(&got, &format!("{what}, Host {host}"));
        }
    }
    // The policy still opens what it names.
    let own = h1_get(
        edge.addr,
        &format!("/media/user1/own.txt?{}", signed.query),
        "cdn.example.com",
        None,
    )
    .await;
    assert_eq!((own.status, own.body.as_str()), (200, OWN));
    assert_origin_never_asked_for_user2(&origin);
}

/// As CloudFront would answer: its access-denied XML for the well-formed
/// host, its own error page for the malformed one.
#[tokio::test]
async fn in_cloudfront_compat_mode_the_refusals_are_cloudfronts() {
    let (_origin, edge) = media_edge("cloudfront_compat = true", "").await;
    let signed = sign(USER1_POLICY);
    let target = format!("/media/user2/secret.txt?{}", signed.query);
    let got = h1_get(edge.addr, &target, "cdn.example.com", None).await;
    assert_access_denied(&got, "compat, well-formed Host");
    let got = h1_get(edge.addr, &target, EVIL_HOST, None).await;
    got.assert_no_secret("compat, path in Host");
    assert_eq!(got.status, 400, "{got:?}");
    assert!(got.body.contains("CloudFront"), "{got:?}");
}

#[tokio::test]
async fn a_path_in_host_or_authority_does_not_widen_a_policy_on_http2() {
    let (origin, edge) = media_edge("", "").await;
    let signed = sign(USER1_POLICY);
    for (what, target, cookie) in user2_requests(&signed) {
        let cookie: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
        // A `host` field beside a well-formed `:authority`.
        let uri = format!("http://cdn.example.com{target}");
        let got = h2_get(edge.addr, &uri, &[[("host", EVIL_HOST)].as_slice(), &cookie].concat()).await;
        got.assert_no_secret(what);
        assert_eq!(got.status, 400, "{what}, host field: {got:?}");
        // The path in `:authority` itself (only hand-written frames carry it).
        let mut fields = vec![
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", EVIL_HOST),
            (":path", target.as_str()),
        ];
        fields.extend(cookie.iter().copied());
        let got = h2_raw(edge.addr, &fields).await;
        got.assert_no_secret(what);
        // The h2 layer resets a malformed :authority itself (status 0).
        assert!(matches!(got.status, 0 | 400), "{what}, :authority: {got:?}");
        let got = h2_get(edge.addr, &format!("http://evil.example{target}"), &cookie).await;
        assert_access_denied(&got, &format!("{what}, :authority evil.example"));
    }
    let own = h2_get(
        edge.addr,
        &format!("http://cdn.example.com/media/user1/own.txt?{}", signed.query),
        &[],
    )
    .await;
    assert_eq!((own.status, own.body.as_str()), (200, OWN));
    assert_origin_never_asked_for_user2(&origin);
}

/// CloudFront's `*` matches any run of characters; a `*` followed by more
/// of the pattern may not run from the host into the path, or from the
/// path into the query, where the client writes what it likes.
#[tokio::test]
async fn a_policy_wildcard_does_not_run_into_the_query() {
    let (origin, edge) = media_edge("", "").await;
    for (policy, query) in [
        (
            "http*://cdn.example.com/media/user1/*",
            "x=://cdn.example.com/media/user1/a",
        ),
        ("http://*/media/user1/*", "x=/media/user1/"),
        ("http://cdn.example.com/media/*/own.txt", "x=/own.txt"),
    ] {
        let signed = sign(policy);
        let target = format!("/media/user2/secret.txt?{query}&{}", signed.query);
        let got = h1_get(edge.addr, &target, "cdn.example.com", None).await;
        got.assert_no_secret(policy);
        assert_access_denied(&got, policy);
        let got = h2_get(edge.addr, &format!("http://cdn.example.com{target}"), &[]).await;
        assert_access_denied(&got, &format!("{policy} (h2)"));
        // What the policy names still opens.
        let target = format!("/media/user1/own.txt?{}", signed.query);
        let got = h1_get(edge.addr, &target, "cdn.example.com", None).await;
        assert_eq!((got.status, got.body.as_str()), (200, OWN), "{policy}");
    }
    assert_origin_never_asked_for_user2(&origin);
}

/// Paths that a user1 prefix matches as text but that an origin resolves
/// to user2's file: encoded slashes and dots, `;` parameters (Tomcat),
/// backslashes (IIS).
const ESCAPES: [&str; 9] = [
    "/media/user1/../user2/secret.txt",
    "/media/user1/..%2fuser2/secret.txt",
    "/media/user1/%2e%2e/user2/secret.txt",
    "/media/user1/.%2E/user2/secret.txt",
    "/media/user1/%2E%2E%2Fuser2%2Fsecret.txt",
    "/media/user1/..;/user2/secret.txt",
    "/media/user1/..;x=1/user2/secret.txt",
    "/media/user1/..%5cuser2%5csecret.txt",
    "/media/user1/./../user2/secret.txt",
];

/// An origin that resolves paths as nginx, Tomcat and IIS together would:
/// percent-decoded, `\` as `/`, `;` parameters dropped, dot-segments
/// removed.
fn resolving_origin(seen: &http_origin::Seen) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let path = seen.uri.split('?').next().unwrap();
    let decoded = percent_decode_str(path).decode_utf8_lossy().replace('\\', "/");
    let mut out: Vec<&str> = Vec::new();
    for segment in decoded.split('/').map(|s| s.split(';').next().unwrap()) {
        match segment {
            "." | "" => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    match out.join("/").as_str() {
        "media/user2/secret.txt" => http_origin::ok(SECRET, &[]),
        p if p.starts_with("media/user1/") => http_origin::ok(OWN, &[]),
        _ => http::Response::builder().status(404).body(Default::default()).unwrap(),
    }
}

#[tokio::test]
async fn encoded_slashes_and_dot_segments_do_not_leave_a_signed_prefix() {
    let (s3, s3_edge) = media_edge("", "").await;
    let http = HttpOrigin::start(resolving_origin).await;
    let config = http
        .config("signed = true")
        .replace("path = \"/\"", "path = \"/media/\"")
        + &format!("\n[trusted_keys]\n{KEY_ID} = \"{FIXTURES}/ec-public.pem\"\n");
    let http_edge = TestEdge::start(&config).await;
    let signed = sign(USER1_POLICY);
    for edge in [&s3_edge, &http_edge] {
        for path in ESCAPES {
            let target = format!("{path}?{}", signed.query);
            let got = h1(
                edge.addr,
                &format!("GET {target} HTTP/1.1\r\nHost: cdn.example.com\r\nConnection: close\r\n\r\n"),
            )
            .await;
            got.assert_no_secret(path);
            assert!(matches!(got.status, 400 | 403), "{path}: {got:?}");
            let got = h2_get(edge.addr, &format!("http://cdn.example.com{target}"), &[]).await;
            got.assert_no_secret(&format!("{path} (h2)"));
            assert!(matches!(got.status, 400 | 403), "{path} (h2): {got:?}");
        }
    }
    assert_origin_never_asked_for_user2(&s3);
    assert_eq!(http.requests(), 0, "{:?}", http.seen());
    // The same origin serves user1's own file through the same edge.
    let own = h1_get(
        http_edge.addr,
        &format!("/media/user1/own.txt?{}", signed.query),
        "cdn.example.com",
        None,
    )
    .await;
    assert_eq!((own.status, own.body.as_str()), (200, OWN));
}
