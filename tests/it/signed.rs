//! CloudFront signed URLs and cookies on `signed = true` routes, checked
//! against URLs botocore's `CloudFrontSigner` made (what django-storages
//! calls) with the committed test keys, RSA and ECDSA P-256:
//! `tests/fixtures/cloudfront`. `.ci/run` regenerates the fixtures live and
//! points `CLOUDFRONT_FIXTURES` at them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::DecodePrivateKey;
use sha1::Digest;

use crate::support::edge::logging_to;
use crate::support::http_origin::ok;
use crate::support::{HttpOrigin, S3Origin, TestEdge};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cloudfront");

fn fixtures() -> serde_json::Value {
    // Relative paths (from .ci/run) are against the crate root, where cargo runs tests.
    let path = std::env::var("CLOUDFRONT_FIXTURES").unwrap_or_else(|_| format!("{FIXTURES}/fixtures.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn keys() -> String {
    format!(
        "\n[trusted_keys]\nK2JCJMDEHXQW5F = \"{FIXTURES}/public.pem\"\nK3ECDSAP256KEY = \"{FIXTURES}/ec-public.pem\"\n"
    )
}

/// A fixture's path (and query) by case name.
fn case_path(f: &serde_json::Value, name: &str) -> String {
    let case = f["cases"].as_array().unwrap().iter().find(|c| c["name"] == name);
    case.unwrap_or_else(|| panic!("no fixture {name}"))["path"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `cachefront_signature_verifications_total` from `/metrics`.
async fn verifications(edge: &TestEdge) -> u64 {
    edge.admin_client()
        .metric("cachefront_signature_verifications_total")
        .await
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

/// The log shows the URL the client sent, signature and all, as
/// CloudFront's does: the edge strips the parameters only for the key and
/// the origin. Both a miss (logged after the fill) and a hit (logged from
/// the request itself).
#[tokio::test]
async fn the_access_log_keeps_the_signed_query() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    let origin = S3Origin::start().await;
    origin.put("private/report.pdf", "annual report");
    let edge = TestEdge::start(&logging_to(&(origin.config(ROUTE) + &keys()), &file, "")).await;
    let path = case_path(&fixtures(), "canned");
    let (stem, query) = path.split_once('?').unwrap();
    let host = [("host", "cdn.example.com")];
    assert_eq!(edge.request("GET", &path, &host).await.status, 200);
    assert_eq!(edge.request("GET", &path, &host).await.x_cache(), "Hit from edge-test");
    edge.running().access_log_flushed().await;
    let log = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Vec<&str>> = log.lines().skip(2).map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{log}");
    for (line, result) in lines.iter().zip(["Miss", "Hit"]) {
        assert_eq!((line[7], line[11], line[13]), (stem, query, result));
        assert!(query.contains("Signature="), "{query}");
    }
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

#[tokio::test]
async fn a_repeated_signature_is_verified_once_and_its_policy_checked_every_time() {
    let origin = S3Origin::start().await;
    origin.put("private/report.pdf", "annual report");
    // Loopback may name the client (X-Forwarded-For), as a load balancer would.
    let config = origin
        .config(&(ROUTE.to_string() + &keys()))
        .replace("[server]\n", "[server]\ntrusted_proxies = [\"127.0.0.0/8\"]\n");
    let edge = TestEdge::start(&config).await;
    let f = fixtures();
    let host = ("host", "cdn.example.com");
    // A custom policy for 127.0.0.0/8, signed with the ECDSA key.
    let ip_bound = case_path(&f, "ecdsa custom ip allowed");
    assert_eq!(verifications(&edge).await, 0);
    for (i, x_cache) in ["Miss from edge-test", "Hit from edge-test"].iter().enumerate() {
        let r = edge.request("GET", &ip_bound, &[host]).await;
        assert_eq!((r.status.as_u16(), r.x_cache()), (200, *x_cache), "request {i}");
        assert_eq!(verifications(&edge).await, 1, "request {i}");
    }
    // The cached verification does not carry the policy's conditions.
    let r = edge
        .request("GET", &ip_bound, &[host, ("x-forwarded-for", "10.9.9.9")])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(verifications(&edge).await, 1);
    // Another signature (RSA, same object) is verified once too.
    for _ in 0..3 {
        let r = edge.request("GET", &case_path(&f, "canned"), &[host]).await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(verifications(&edge).await, 2);
    // Refused signatures are not remembered: each is checked again.
    for _ in 0..2 {
        let r = edge
            .request("GET", &case_path(&f, "ecdsa canned wrong key"), &[host])
            .await;
        assert_eq!(r.status, 403);
    }
    assert_eq!(verifications(&edge).await, 4);
    assert_eq!(origin.requests(), 1);
}

fn cloudfront_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .replace('+', "-")
        .replace('=', "_")
        .replace('/', "~")
}

#[tokio::test]
async fn an_expired_signature_is_refused_after_a_cached_verification() {
    let (_origin, edge) = edge().await;
    // Signed here, as `openssl sha1 -sign` would with the committed EC key:
    // a canned policy that expires in a second or two.
    let pem = std::fs::read_to_string(format!("{FIXTURES}/ec-private.pem")).unwrap();
    let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let expires = now.as_secs() + 2;
    let policy = format!(
        r#"{{"Statement":[{{"Resource":"http://cdn.example.com/private/report.pdf","Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}"#
    );
    let signature: p256::ecdsa::Signature = key.sign_prehash(&sha1::Sha1::digest(policy.as_bytes())).unwrap();
    let path = format!(
        "/private/report.pdf?Expires={expires}&Signature={}&Key-Pair-Id=K3ECDSAP256KEY",
        cloudfront_b64(signature.to_der().as_bytes())
    );
    let host = ("host", "cdn.example.com");
    for _ in 0..2 {
        assert_eq!(edge.request("GET", &path, &[host]).await.status, 200);
    }
    assert_eq!(verifications(&edge).await, 1);
    // Policy times are whole seconds: wait until `expires` has begun.
    tokio::time::sleep(Duration::from_secs(expires) - now + Duration::from_millis(20)).await;
    let r = edge.request("GET", &path, &[host]).await;
    assert_eq!(r.status, 403);
    assert!(
        String::from_utf8_lossy(&r.body).contains("Request has expired"),
        "{:?}",
        r.body
    );
    assert_eq!(verifications(&edge).await, 1, "refused by the policy, not re-verified");
}

#[test]
fn a_trusted_key_that_is_neither_rsa_nor_p256_is_a_config_error() {
    let config = |file: &str| {
        format!(
            "[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/private/\"\norigin = \"o\"\nsigned = true\n\n[trusted_keys]\nKEC = \"{FIXTURES}/ec-public.pem\"\nKOTHER = \"{FIXTURES}/{file}\"\n"
        )
    };
    // An EC key on another curve, and a private key where a public one belongs.
    for file in ["p384-public.pem", "ec-private.pem"] {
        let err = cachefront::config::Config::parse(&config(file), std::path::Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(err.contains("trusted_keys.KOTHER"), "{err}");
        assert!(err.contains(&format!("{FIXTURES}/{file}")), "{err}");
        assert!(err.contains("neither an RSA nor an EC P-256 public key"), "{err}");
        assert!(!err.contains("KEC"), "the P-256 key is fine: {err}");
    }
    assert!(cachefront::config::Config::parse(&config("public.pem"), std::path::Path::new(".")).is_ok());
}
