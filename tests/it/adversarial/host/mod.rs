//! Issue 18 item 3: the scope of a signed URL is not the client's to choose.
//!
//! A custom policy for `http://cdn.example.com/media/user1/*` must open
//! user1's objects and nothing else, whatever the client puts in `Host` or
//! `:authority` (a path there once widened the policy to user2's files),
//! whatever the request path hides (encoded slashes, dot-segments, `;`
//! parameters), and whatever the query carries. Every `Host` that is not
//! `host[:port]` is a 400 on every route, on HTTP/1.1 and HTTP/2.
//!
//! `wire` holds the raw HTTP/1 and HTTP/2 clients the attacks need (a
//! well-behaved client library refuses to send most of them).

mod names;
mod scope;
mod validation;
mod vhosts;
mod wire;

use std::time::Duration;

use base64::Engine;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::DecodePrivateKey;
use sha1::Digest;

use crate::support::{S3Origin, TestEdge};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cloudfront");
const KEY_ID: &str = "K3ECDSAP256KEY";
/// 2100-01-01, as the fixtures.
const EXPIRES: u64 = 4_102_444_800;
const SECRET: &str = "USER2-SECRET";
const OWN: &str = "user1's own file";
const USER1_POLICY: &str = "http://cdn.example.com/media/user1/*";

/// A custom policy for `resource`, signed with the committed P-256 key as
/// `openssl sha1 -sign` (and botocore) would: the query parameters and the
/// equivalent signed cookies.
pub struct Signed {
    pub query: String,
    pub cookie: String,
}

pub fn sign(resource: &str) -> Signed {
    let pem = std::fs::read_to_string(format!("{FIXTURES}/ec-private.pem")).unwrap();
    let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
    let policy = format!(
        r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":{EXPIRES}}}}}}}]}}"#
    );
    let signature: p256::ecdsa::Signature = key.sign_prehash(&sha1::Sha1::digest(policy.as_bytes())).unwrap();
    let (policy, signature) = (b64(policy.as_bytes()), b64(signature.to_der().as_bytes()));
    Signed {
        query: format!("Policy={policy}&Signature={signature}&Key-Pair-Id={KEY_ID}"),
        cookie: format!(
            "CloudFront-Policy={policy}; CloudFront-Signature={signature}; CloudFront-Key-Pair-Id={KEY_ID}"
        ),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .replace('+', "-")
        .replace('=', "_")
        .replace('/', "~")
}

/// `/media/` signed on the S3 origin, which holds user1's file and user2's
/// secret; `server_extra` and `route_extra` go in `[server]` and the route.
pub async fn media_edge(server_extra: &str, route_extra: &str) -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    origin.put("media/user1/own.txt", OWN);
    origin.put("media/user2/secret.txt", SECRET);
    let routes = format!(
        "[[routes]]\npath = \"/media/\"\norigin = \"s3\"\nkey_prefix = \"media/\"\nsigned = true\n{route_extra}\n\n[[routes]]\npath = \"/static/\"\norigin = \"s3\"\nkey_prefix = \"media/user1/\"\n\n[trusted_keys]\n{KEY_ID} = \"{FIXTURES}/ec-public.pem\"\n"
    );
    let config = origin
        .config(&routes)
        .replacen("[server]\n", &format!("[server]\n{server_extra}\n"), 1);
    (origin, TestEdge::start(&config).await)
}

/// What a client got: the status (0: no answer, the stream or connection
/// was reset) and the body.
#[derive(Debug)]
pub struct Got {
    pub status: u16,
    pub body: String,
}

impl Got {
    /// Never user2's secret, whatever the status.
    pub fn assert_no_secret(&self, what: &str) {
        assert!(!self.body.contains(SECRET), "{what}: leaked user2's secret: {self:?}");
        assert_ne!(self.status, 200, "{what}: {self:?}");
    }
}

/// Bounds every wait of these tests.
pub const PATIENCE: Duration = Duration::from_secs(10);
