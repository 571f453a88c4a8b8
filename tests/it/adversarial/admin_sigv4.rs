//! SigV4 on the admin API attacked (issue 18, item 4): a captured signed
//! request replayed with another body (`/*`), payload hashes that are not
//! signed or not the body's, and signatures made for another service or
//! region. The AWS CLI's own request keeps working (HTTP/1.1 and h2c).

use std::path::Path;
use std::time::{Duration, SystemTime};

use cachefront::config::Config;
use sha2::{Digest, Sha256};

use crate::support::admin::{h1_stalled, h2_send};
use crate::support::sigv4::{RawRequest, Signing, batch, cli_request, cli_request_with};
use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

const TOKEN: &str = "adv-sigv4-token";
const PROMPT: Duration = Duration::from_secs(5);

async fn node(extra: &str) -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}");
    let toml = origin
        .config(DJANGO_ROUTES)
        .replacen("[server]", &format!("[server]\n{extra}"), 1);
    let mut config = Config::parse(&toml, Path::new(".")).unwrap();
    config.server.admin_token = Some(TOKEN.into());
    let edge = TestEdge::start_config(config, Default::default()).await;
    assert!(edge.get("/static/a.css").await.x_cache().starts_with("Miss"));
    (origin, edge)
}

/// Sends `req` on HTTP/1.1; the status and the text.
async fn send(edge: &TestEdge, req: &RawRequest) -> (u16, String) {
    let seen = h1_stalled(edge.admin, &req.to_bytes(), PROMPT).await;
    (seen.status, seen.text)
}

async fn still_cached(edge: &TestEdge) {
    assert!(
        edge.get("/static/a.css").await.x_cache().starts_with("Hit"),
        "the cache must not have been purged"
    );
}

fn set(req: &mut RawRequest, name: &str, value: &str) {
    req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    req.headers.push((name.to_string(), value.to_string()));
}

/// Adds `x-amz-content-sha256` with the hash of the body as it is now
/// (not signed: the signature is left as it was).
fn add_body_hash(req: &mut RawRequest) {
    let hash = hex::encode(Sha256::digest(&req.body));
    set(req, "x-amz-content-sha256", &hash);
}

#[tokio::test]
async fn a_captured_request_does_not_carry_another_body() {
    let (_origin, edge) = node("").await;
    let purge_all = batch(&["/*"], "attacker-1");

    // The CLI signs no x-amz-content-sha256; the attacker adds one naming
    // the captured body's hash and swaps the body.
    let mut req = cli_request(edge.admin, &Signing::cli("cachefront", TOKEN));
    add_body_hash(&mut req);
    req.body = purge_all.clone();
    let (status, text) = send(&edge, &req).await;
    assert_eq!(status, 401, "an unsigned payload hash is not believed: {text}");
    still_cached(&edge).await;

    // A client that signs x-amz-content-sha256: the header cannot vouch
    // for another body.
    let mut signed = Signing::cli("cachefront", TOKEN);
    signed.content_sha256 = true;
    let mut req = cli_request(edge.admin, &signed);
    req.body = purge_all.clone();
    let (status, text) = send(&edge, &req).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("<Code>XAmzContentSHA256Mismatch</Code>"), "{text}");
    still_cached(&edge).await;

    // UNSIGNED-PAYLOAD, signed: a signature over no body at all.
    signed.unsigned_payload = true;
    let mut req = cli_request(edge.admin, &signed);
    req.body = purge_all;
    let (status, text) = send(&edge, &req).await;
    assert_eq!(status, 401, "{text}");
    still_cached(&edge).await;

    // The genuine requests pass: the CLI's, and one with a signed hash.
    signed.unsigned_payload = false;
    let (status, text) = send(&edge, &cli_request(edge.admin, &signed)).await;
    assert_eq!(status, 201, "{text}");
    let mut again = cli_request(edge.admin, &Signing::cli("cachefront", TOKEN));
    add_body_hash(&mut again);
    assert_eq!(send(&edge, &again).await.0, 401, "a sent hash must be signed");
}

#[tokio::test]
async fn the_credential_scope_must_be_cloudfront_in_a_configured_region() {
    let (_origin, edge) = node("").await;
    let sign = |region: &'static str, service: &'static str, time: SystemTime| Signing {
        region,
        service,
        time,
        ..Signing::cli("cachefront", TOKEN)
    };
    let now = SystemTime::now();
    for (s, code) in [
        (sign("us-east-1", "s3", now), "AccessDenied"),
        (sign("us-east-1", "execute-api", now), "AccessDenied"),
        (sign("eu-west-1", "cloudfront", now), "AccessDenied"),
        (
            sign("us-east-1", "cloudfront", now - Duration::from_secs(20 * 60)),
            "RequestTimeTooSkewed",
        ),
        (
            sign("us-east-1", "cloudfront", now + Duration::from_secs(20 * 60)),
            "RequestTimeTooSkewed",
        ),
    ] {
        // Signed for this body: only the scope or the time is wrong.
        let body = batch(&["/*"], &format!("scope-{}-{}", s.region, s.service));
        let (status, text) = send(&edge, &cli_request_with(edge.admin, &s, body)).await;
        assert_eq!(status, 401, "{} {}: {text}", s.region, s.service);
        assert!(text.contains(&format!("<Code>{code}</Code>")), "{text}");
        still_cached(&edge).await;
    }
    // The scope's date must be the request's.
    let mut req = cli_request(edge.admin, &Signing::cli("cachefront", TOKEN));
    let auth = req
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1
        .clone();
    let date = &auth[auth.find("Credential=cachefront/").unwrap() + 22..][..8];
    set(&mut req, "authorization", &auth.replacen(date, "20200101", 1));
    assert_eq!(send(&edge, &req).await.0, 401);

    let (_origin, eu) = node(r#"admin_regions = ["eu-west-1", "us-east-1"]"#).await;
    let (status, text) = send(&eu, &cli_request(eu.admin, &sign("eu-west-1", "cloudfront", now))).await;
    assert_eq!(status, 201, "a configured region: {text}");
    let (status, _) = send(&eu, &cli_request(eu.admin, &sign("us-west-2", "cloudfront", now))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn sigv4_over_h2_binds_the_body_too() {
    let (_origin, edge) = node("").await;
    let h2 = |req: &RawRequest| {
        let path = req.line.split(' ').nth(1).unwrap().to_string();
        let mut b = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}{path}", edge.admin))
            .header("content-length", req.body.len());
        for (k, v) in &req.headers {
            if !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length") {
                b = b.header(k.to_ascii_lowercase(), v);
            }
        }
        b
    };
    let mut tampered = cli_request(edge.admin, &Signing::cli("cachefront", TOKEN));
    add_body_hash(&mut tampered);
    tampered.body = batch(&["/*"], "attacker-h2");
    let seen = h2_send(edge.admin, h2(&tampered), &tampered.body, true, PROMPT).await;
    assert_eq!(seen.status, 401, "{seen:?}");
    still_cached(&edge).await;
    let genuine = cli_request(edge.admin, &Signing::cli("cachefront", TOKEN));
    let seen = h2_send(edge.admin, h2(&genuine), &genuine.body, true, PROMPT).await;
    assert_eq!(seen.status, 201, "the CLI's request over h2: {seen:?}");
}
