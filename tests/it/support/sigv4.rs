//! SigV4-signed admin requests: the exact request the AWS CLI sends
//! (tests/fixtures/aws-cli-create-invalidation.http), addressed to a test
//! node and signed now with whatever key, region, service and time a test
//! needs, as parts a test may tamper with before sending.

use std::net::SocketAddr;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

const FIXTURE: &[u8] = include_bytes!("../../fixtures/aws-cli-create-invalidation.http");

/// How to sign.
pub struct Signing<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
    /// Send (and sign) `x-amz-content-sha256`, as S3 clients do; the AWS
    /// CLI's CloudFront calls do not.
    pub content_sha256: bool,
    /// Sign `UNSIGNED-PAYLOAD` instead of the body's hash.
    pub unsigned_payload: bool,
}

impl<'a> Signing<'a> {
    /// What the AWS CLI does: us-east-1, cloudfront, now, no payload header.
    pub fn cli(key_id: &'a str, secret: &'a str) -> Signing<'a> {
        Signing {
            key_id,
            secret,
            region: "us-east-1",
            service: "cloudfront",
            time: SystemTime::now(),
            content_sha256: false,
            unsigned_payload: false,
        }
    }
}

/// A request as lines and bytes.
pub struct RawRequest {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// HTTP/1.1 bytes, `Content-Length` matching the body, then
    /// `Connection: close`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.line).into_bytes();
        for (k, v) in &self.headers {
            if !k.eq_ignore_ascii_case("content-length") {
                out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// The fixture's method, path, headers (Authorization, X-Amz-Date and
/// Content-Length dropped, Host set to `admin`) and body.
fn fixture(admin: SocketAddr) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = req.parse(FIXTURE).unwrap() else {
        panic!("partial fixture")
    };
    let kept = req
        .headers
        .iter()
        // Content-Length is not signed, as the CLI does not sign it; it is
        // written for whatever body is sent (`to_bytes`).
        .filter(|h| !["authorization", "x-amz-date", "content-length"].contains(&h.name.to_ascii_lowercase().as_str()))
        .map(|h| {
            let value = if h.name.eq_ignore_ascii_case("host") {
                admin.to_string()
            } else {
                String::from_utf8(h.value.to_vec()).unwrap()
            };
            (h.name.to_string(), value)
        })
        .collect();
    let method = req.method.unwrap().to_string();
    let path = req.path.unwrap().to_string();
    (method, path, kept, FIXTURE[len..].to_vec())
}

/// The CLI's create-invalidation, for `admin`, signed as `s` says.
pub fn cli_request(admin: SocketAddr, s: &Signing<'_>) -> RawRequest {
    let (.., body) = fixture(admin);
    cli_request_with(admin, s, body)
}

/// The CLI's create-invalidation with another `body`, signed as `s` says.
pub fn cli_request_with(admin: SocketAddr, s: &Signing<'_>, body: Vec<u8>) -> RawRequest {
    let (method, path, mut headers, _) = fixture(admin);
    let identity = Credentials::new(s.key_id, s.secret, None, None, "test").into();
    let mut settings = SigningSettings::default();
    if s.content_sha256 {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(s.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!("http://{admin}{path}");
    let signable = SignableRequest::new(
        &method,
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        if s.unsigned_payload {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(&body)
        },
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (name, value) in instructions.headers() {
        headers.push((name.to_string(), value.to_string()));
    }
    RawRequest {
        line: format!("{method} {path} HTTP/1.1"),
        headers,
        body,
    }
}

/// An `InvalidationBatch` of `paths` with `reference`.
pub fn batch(paths: &[&str], reference: &str) -> Vec<u8> {
    let items: String = paths.iter().map(|p| format!("<Path>{p}</Path>")).collect();
    format!(
        "<InvalidationBatch xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\"><CallerReference>{reference}</CallerReference>\
         <Paths><Quantity>{}</Quantity><Items>{items}</Items></Paths></InvalidationBatch>",
        paths.len()
    )
    .into_bytes()
}
