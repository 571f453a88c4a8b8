//! CloudFront signed URLs and cookies on `signed = true` routes, checked
//! against URLs botocore's `CloudFrontSigner` made (what django-storages
//! calls) with the committed test key: `tests/fixtures/cloudfront`.
//! `.ci/run` regenerates the fixtures live and points
//! `CLOUDFRONT_FIXTURES` at them.

use crate::support::http_origin::ok;
use crate::support::{HttpOrigin, S3Origin, TestEdge};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cloudfront");

fn fixtures() -> serde_json::Value {
    // Relative paths (from .ci/run) are against the crate root, where cargo runs tests.
    let path = std::env::var("CLOUDFRONT_FIXTURES").unwrap_or_else(|_| format!("{FIXTURES}/fixtures.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn keys() -> String {
    format!("\n[trusted_keys]\nK2JCJMDEHXQW5F = \"{FIXTURES}/public.pem\"\n")
}

const ROUTE: &str = r#"
[[routes]]
path = "/private/"
origin = "s3"
key_prefix = "private/"
ttl = { default = "1d" }
signed = true
"#;

async fn edge() -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    origin.put("private/report.pdf", "annual report");
    origin.put("private/a/b.txt", "b");
    let edge = TestEdge::start(&(origin.config(ROUTE) + &keys())).await;
    (origin, edge)
}

#[tokio::test]
async fn botocore_signed_urls_and_cookies_matrix() {
    let (origin, edge) = edge().await;
    let f = fixtures();
    let host = f["host"].as_str().unwrap();
    let mut failed = Vec::new();
    for case in f["cases"].as_array().unwrap() {
        let (name, path, cookie) = (
            case["name"].as_str().unwrap(),
            case["path"].as_str().unwrap(),
            case["cookie"].as_str().unwrap(),
        );
        let mut headers = vec![("host", host)];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie));
        }
        let r = edge.request("GET", path, &headers).await;
        let want = case["expect"].as_u64().unwrap() as u16;
        eprintln!("{:<40} {} (want {want})", name, r.status.as_u16());
        if r.status != want {
            failed.push(name.to_string());
        }
        if want == 403 && r.status == 403 {
            assert_eq!(r.header("server"), "CloudFront", "{name}");
            assert_eq!(r.header("content-type"), "text/xml", "{name}");
            assert!(String::from_utf8_lossy(&r.body).contains("<Error><Code>"), "{name}");
        }
    }
    assert!(failed.is_empty(), "unexpected outcomes: {failed:?}");
    for uri in origin.uris() {
        assert!(!uri.contains("Signature") && !uri.contains("Key-Pair-Id"), "{uri}");
    }
}

#[tokio::test]
async fn signature_parameters_are_not_in_the_cache_key() {
    let (origin, edge) = edge().await;
    let f = fixtures();
    let cases = f["cases"].as_array().unwrap();
    let path = |name: &str| {
        cases.iter().find(|c| c["name"] == name).unwrap()["path"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let host = [("host", "cdn.example.com")];
    let first = edge.request("GET", &path("canned"), &host).await;
    assert_eq!(first.status, 200);
    let second = edge.request("GET", &path("custom wildcard"), &host).await;
    assert_eq!(
        second.x_cache(),
        "Hit from edge-test",
        "a different signature, the same object"
    );
    assert_eq!(second.body, "annual report");
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn missing_signature_is_cloudfronts_missing_key() {
    let (origin, edge) = edge().await;
    let r = edge
        .request("GET", "/private/report.pdf", &[("host", "cdn.example.com")])
        .await;
    assert_eq!(r.status, 403);
    assert!(
        String::from_utf8_lossy(&r.body).contains("<Code>MissingKey</Code>"),
        "{:?}",
        r.body
    );
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(origin.requests(), 0);
}

#[tokio::test]
async fn an_http_origin_never_sees_the_signature() {
    let origin = HttpOrigin::start(|_| ok("x", &[("cache-control", "max-age=60")])).await;
    let config = origin
        .config("signed = true")
        .replace("path = \"/\"", "path = \"/private/\"")
        + &keys();
    let edge = TestEdge::start(&config).await;
    let f = fixtures();
    let case = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "canned with its own query")
        .unwrap();
    let r = edge
        .request("GET", case["path"].as_str().unwrap(), &[("host", "cdn.example.com")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(origin.seen()[0].uri, "/private/report.pdf?v=2");
}
