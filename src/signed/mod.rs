//! CloudFront signed URLs and signed cookies (routes with `signed = true`),
//! as django-storages makes them with botocore's `CloudFrontSigner`.
//!
//! A request carries either query parameters (`Expires` or `Policy`,
//! `Signature`, `Key-Pair-Id`, optionally `Hash-Algorithm=SHA256`) or
//! cookies (`CloudFront-Expires` or `CloudFront-Policy`,
//! `CloudFront-Signature`, `CloudFront-Key-Pair-Id`). The signature is
//! RSA PKCS#1 v1.5 over the policy: for a canned policy, the one CloudFront
//! builds from the resource URL (scheme, `Host`, path and the rest of the
//! query) and `Expires`; for a custom policy, the policy itself (see
//! `policy`). The signature parameters are stripped before the request goes
//! on: they are in no cache key and never reach the origin.

mod policy;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::{HeaderMap, Uri, header};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use thiserror::Error;

use crate::client_addr::Scheme;

/// `[trusted_keys]`: key-pair (public key) id → RSA public key.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    pub keys: BTreeMap<String, RsaPublicKey>,
}

/// Why a signed route refused a request (always 403, CloudFront's body).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SignatureError {
    #[error("Missing Key-Pair-Id query parameter or cookie value")]
    MissingKey,
    #[error("no trusted key with this Key-Pair-Id")]
    UnknownKey,
    #[error("malformed signature parameters: {0}")]
    Malformed(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("policy does not allow this request: {0}")]
    Denied(&'static str),
}

impl SignatureError {
    /// CloudFront's XML error body.
    pub fn body(&self) -> &'static str {
        match self {
            SignatureError::MissingKey => {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>MissingKey</Code><Message>Missing Key-Pair-Id query parameter or cookie value</Message></Error>"
            }
            SignatureError::Denied("expired") => {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
            }
            _ => {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>"
            }
        }
    }
}

/// What a request presents, from its query or its cookies.
#[derive(Default)]
struct Presented {
    expires: Option<String>,
    policy: Option<String>,
    signature: Option<String>,
    key_pair_id: Option<String>,
    sha256: bool,
}

/// The request facts a policy is checked against.
pub struct Request<'a> {
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub scheme: Scheme,
    pub client: IpAddr,
}

impl TrustedKeys {
    /// Checks the request's signature; `Ok` with the URI without the
    /// signature parameters (what the cache keys and the origin sees).
    pub fn verify(&self, req: &Request<'_>, now: SystemTime) -> Result<Uri, SignatureError> {
        let (presented, rest) = from_query(req.uri);
        let presented = match presented.signature {
            Some(_) => presented,
            None => from_cookies(req.headers),
        };
        let key_id = presented.key_pair_id.as_deref().ok_or(SignatureError::MissingKey)?;
        let key = self.keys.get(key_id).ok_or(SignatureError::UnknownKey)?;
        let signature = presented
            .signature
            .as_deref()
            .ok_or(SignatureError::Malformed("no Signature"))?;
        let signature = cloudfront_b64(signature).ok_or(SignatureError::Malformed("Signature is not base64"))?;
        let path_and_query = match &rest {
            Some(q) => format!("{}?{q}", req.uri.path()),
            None => req.uri.path().to_string(),
        };
        let host = req
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri.authority().map(|a| a.as_str()))
            .ok_or(SignatureError::Malformed("no Host"))?;
        let scheme = match req.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        let resource = format!("{scheme}://{host}{path_and_query}");
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let policy_bytes = match (&presented.policy, &presented.expires) {
            (Some(p), _) => cloudfront_b64(p).ok_or(SignatureError::Malformed("Policy is not base64"))?,
            (None, Some(e)) => {
                let expires: u64 = e.parse().map_err(|_| SignatureError::Malformed("Expires"))?;
                policy::canned(&resource, expires).into_bytes()
            }
            (None, None) => return Err(SignatureError::Malformed("neither Expires nor Policy")),
        };
        verify_rsa(key, &policy_bytes, &signature, presented.sha256)?;
        let policy = policy::Policy::parse(&policy_bytes).map_err(SignatureError::Malformed)?;
        policy.allows(&resource, now, req.client)?;
        // Scheme and authority stay (HTTP/2 requests carry them in the URI).
        let mut parts = req.uri.clone().into_parts();
        parts.path_and_query = Some(path_and_query.parse().map_err(|_| SignatureError::Malformed("URI"))?);
        Uri::from_parts(parts).map_err(|_| SignatureError::Malformed("URI"))
    }
}

fn verify_rsa(key: &RsaPublicKey, message: &[u8], signature: &[u8], sha256: bool) -> Result<(), SignatureError> {
    let signature = Signature::try_from(signature).map_err(|_| SignatureError::BadSignature)?;
    let ok = if sha256 {
        VerifyingKey::<rsa::sha2::Sha256>::new(key.clone()).verify(message, &signature)
    } else {
        VerifyingKey::<sha1::Sha1>::new(key.clone()).verify(message, &signature)
    };
    ok.map_err(|_| SignatureError::BadSignature)
}

/// CloudFront's URL-safe base64: `-` for `+`, `_` for `=`, `~` for `/`.
fn cloudfront_b64(s: &str) -> Option<Vec<u8>> {
    let standard: String = s
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            c => c,
        })
        .collect();
    base64::engine::general_purpose::STANDARD.decode(standard).ok()
}

/// The signature parameters of the query, and the query without them.
fn from_query(uri: &Uri) -> (Presented, Option<String>) {
    let mut p = Presented::default();
    let Some(query) = uri.query() else {
        return (p, None);
    };
    let mut rest = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = || Some(v.to_string());
        match k {
            "Expires" => p.expires = v(),
            "Policy" => p.policy = v(),
            "Signature" => p.signature = v(),
            "Key-Pair-Id" => p.key_pair_id = v(),
            "Hash-Algorithm" => p.sha256 = pair.ends_with("=SHA256"),
            _ => rest.push(pair),
        }
    }
    (p, (!rest.is_empty()).then(|| rest.join("&")))
}

fn from_cookies(headers: &HeaderMap) -> Presented {
    let mut p = Presented::default();
    for cookie in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in cookie.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            let v = Some(v.to_string());
            match k {
                "CloudFront-Expires" => p.expires = v,
                "CloudFront-Policy" => p.policy = v,
                "CloudFront-Signature" => p.signature = v,
                "CloudFront-Key-Pair-Id" => p.key_pair_id = v,
                "CloudFront-Hash-Algorithm" => p.sha256 = v.as_deref() == Some("SHA256"),
                _ => {}
            }
        }
    }
    p
}
