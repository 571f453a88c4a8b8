//! The CloudFront API on the admin listener: the exact request the AWS CLI
//! sends (tests/fixtures), re-signed for now with a test token, creates an
//! invalidation; the XML answers round-trip through get and list.

use std::net::SocketAddr;
use std::path::Path;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use cachefront::config::Config;

use crate::support::{S3Origin, TestEdge, raw_request, s3_origin::DJANGO_ROUTES};

const FIXTURE: &[u8] = include_bytes!("../fixtures/aws-cli-create-invalidation.http");
const TOKEN: &str = "test-admin-token";

/// The CLI's request, addressed to `admin` and signed with `secret` now.
fn resigned(admin: SocketAddr, key_id: &str, secret: &str) -> Vec<u8> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = req.parse(FIXTURE).unwrap() else {
        panic!("partial fixture")
    };
    let body = &FIXTURE[len..];
    let host = admin.to_string();
    let mut kept: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|h| !["authorization", "x-amz-date"].contains(&h.name.to_ascii_lowercase().as_str()))
        .map(|h| {
            let value = if h.name.eq_ignore_ascii_case("host") {
                host.clone()
            } else {
                String::from_utf8(h.value.to_vec()).unwrap()
            };
            (h.name.to_string(), value)
        })
        .collect();
    let identity = Credentials::new(key_id, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("cloudfront")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("http://{host}{}", req.path.unwrap());
    let signable = SignableRequest::new(
        req.method.unwrap(),
        &url,
        kept.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        kept.push((name.to_string(), value.to_string()));
    }
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method.unwrap(), req.path.unwrap()).into_bytes();
    for (k, v) in kept {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).unwrap_or_else(|| panic!("no {open} in {text}")) + open.len();
    &text[start..start + text[start..].find(close).unwrap()]
}

async fn edge_with_token(origin: &S3Origin) -> TestEdge {
    let mut config = Config::parse(&origin.config(DJANGO_ROUTES), Path::new(".")).unwrap();
    config.server.admin_token = Some(TOKEN.into());
    TestEdge::start_config(config, Default::default()).await
}

#[tokio::test]
async fn the_aws_cli_request_signed_with_the_token_invalidates() {
    let origin = S3Origin::start().await;
    origin.put("static/app.css", "body{}");
    let edge = edge_with_token(&origin).await;
    assert!(edge.get("/static/app.css").await.x_cache().starts_with("Miss"));
    assert!(edge.get("/static/app.css").await.x_cache().starts_with("Hit"));

    let (status, text) = raw_request(edge.admin, &resigned(edge.admin, "cachefront", TOKEN)).await;
    assert_eq!(status, 201, "{text}");
    assert!(text.contains("Content-Type: text/xml") || text.contains("content-type: text/xml"));
    let id = between(&text, "<Id>", "</Id>").to_string();
    assert!(id.starts_with('I') && id.len() == 14, "{id}");
    let location = format!("/2020-05-31/distribution/LOCAL/invalidation/{id}");
    assert!(
        text.to_ascii_lowercase()
            .contains(&format!("location: https://cloudfront.amazonaws.com{location}").to_ascii_lowercase())
    );
    assert_eq!(between(&text, "<Status>", "</Status>"), "Completed");
    assert_eq!(between(&text, "<Quantity>", "</Quantity>"), "2");
    assert!(text.contains("<Path>/static/*</Path><Path>/media/a b.txt</Path>"));
    assert!(between(&text, "<CallerReference>", "</CallerReference>").starts_with("cli-"));
    assert!(
        edge.get("/static/app.css").await.x_cache().starts_with("Miss"),
        "purged"
    );

    // The same request again: CloudFront's idempotency by CallerReference.
    let (status, again) = raw_request(edge.admin, &resigned(edge.admin, "cachefront", TOKEN)).await;
    assert_eq!(status, 201);
    assert_eq!(between(&again, "<Id>", "</Id>"), id);

    let admin = edge.admin_client();
    let auth = [("authorization", &*format!("Bearer {TOKEN}"))];
    let got = admin.send("GET", &location, &auth, "").await;
    assert_eq!(got.status, 200);
    let got = String::from_utf8(got.body.to_vec()).unwrap();
    assert!(got.starts_with(
        "<?xml version=\"1.0\"?>\n<Invalidation xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\">"
    ));
    assert_eq!(between(&got, "<Id>", "</Id>"), id);
    assert!(between(&got, "<CreateTime>", "</CreateTime>").ends_with('Z'));
    let list = admin
        .send("GET", "/2020-05-31/distribution/LOCAL/invalidation", &auth, "")
        .await;
    let list = String::from_utf8(list.body.to_vec()).unwrap();
    assert_eq!(between(&list, "<Quantity>", "</Quantity>"), "1");
    assert!(list.contains(&format!("<InvalidationSummary><Id>{id}</Id>")));
    let missing = admin
        .send("GET", "/2020-05-31/distribution/LOCAL/invalidation/INOPE", &auth, "")
        .await;
    assert_eq!(missing.status, 404);
    assert!(String::from_utf8_lossy(&missing.body).contains("<Code>NoSuchInvalidation</Code>"));
}

#[tokio::test]
async fn a_wrong_key_or_secret_is_refused() {
    let origin = S3Origin::start().await;
    let edge = edge_with_token(&origin).await;
    let (status, text) = raw_request(edge.admin, &resigned(edge.admin, "cachefront", "not-the-token")).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("<Code>SignatureDoesNotMatch</Code>"), "{text}");
    let (status, text) = raw_request(edge.admin, &resigned(edge.admin, "someone", TOKEN)).await;
    assert_eq!(status, 401);
    assert!(text.contains("<Code>InvalidClientTokenId</Code>"), "{text}");
    // SigV4 is for the CloudFront API only.
    let admin = edge.admin_client();
    let sig = "AWS4-HMAC-SHA256 Credential=cachefront/20260101/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=00";
    assert_eq!(
        admin
            .send("GET", "/metrics", &[("authorization", sig)], "")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn a_bad_batch_gets_cloudfronts_error_document() {
    let origin = S3Origin::start().await;
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    let admin = edge.admin_client();
    let path = "/2020-05-31/distribution/LOCAL/invalidation";
    // Without a token, a body must say it is XML (see admin::browser).
    let xml = [("content-type", "text/xml")];
    let batch = |items: &str, n: usize| {
        format!(
            "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><CallerReference>r{n}{}</CallerReference>\
             <Paths><Quantity>{n}</Quantity><Items>{items}</Items></Paths></InvalidationBatch>",
            items.len()
        )
    };
    let r = admin.send("POST", path, &xml, &batch("<Path>/a*b</Path>", 1)).await;
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("<Code>InvalidArgument</Code>"));
    let r = admin.send("POST", path, &xml, &batch("<Path>/a</Path>", 2)).await;
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("<Code>InconsistentQuantities</Code>"));
    let r = admin.send("POST", path, &xml, "<nope").await;
    assert_eq!(r.status, 400);
    let r = admin
        .send("POST", path, &xml, &batch("<Path>/static/*</Path>", 1))
        .await;
    assert_eq!(r.status, 201);
}
