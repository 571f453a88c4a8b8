//! CloudFront signed URLs and signed cookies (routes with `signed = true`),
//! as django-storages makes them with botocore's `CloudFrontSigner`.
//!
//! A request carries either query parameters (`Expires` or `Policy`,
//! `Signature`, `Key-Pair-Id`, optionally `Hash-Algorithm=SHA256`) or
//! cookies (`CloudFront-Expires` or `CloudFront-Policy`,
//! `CloudFront-Signature`, `CloudFront-Key-Pair-Id`, optionally
//! `CloudFront-Hash-Algorithm`). The signature is RSA PKCS#1 v1.5 or ECDSA
//! P-256 (see `key`) over the policy: for a canned policy, the one
//! CloudFront builds from the resource URL (scheme, `Host`, path and the
//! rest of the query) and `Expires`; for a custom policy, the policy itself
//! (see `policy`). A signature verified once is not verified again (see
//! `verified`); the policy's conditions are checked on every request. The
//! signature parameters are stripped before the request goes on: they are
//! in no cache key and never reach the origin.

mod key;
mod policy;
mod presented;
mod verified;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::{HeaderMap, Uri, header};
use prometheus_client::metrics::counter::Counter;
use thiserror::Error;

use crate::client_addr::Scheme;
pub use key::{HashAlgorithm, PublicKey};
use verified::{Claim, VerifiedSignatures};

/// `[trusted_keys]`: key-pair (public key) id → RSA or P-256 public key.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    pub keys: BTreeMap<String, PublicKey>,
}

/// What a signed route checks requests with: the trusted keys and the
/// signatures they verified lately. One per loaded config.
pub struct Verifier {
    keys: TrustedKeys,
    verified: VerifiedSignatures,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
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

/// The request facts a policy is checked against.
pub struct Request<'a> {
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub scheme: Scheme,
    pub client: IpAddr,
}

impl Verifier {
    /// `verifications` counts the cryptographic checks made (the
    /// `signature_verifications` metric).
    pub fn new(keys: TrustedKeys, verifications: Counter) -> Verifier {
        Verifier {
            keys,
            verified: VerifiedSignatures::new(verifications),
        }
    }

    /// Checks the request's signature; `Ok` with the URI without the
    /// signature parameters (what the cache keys and the origin sees).
    pub fn verify(&self, req: &Request<'_>, now: SystemTime) -> Result<Uri, SignatureError> {
        let (presented, rest) = presented::from_query(req.uri);
        let presented = match presented.signature {
            Some(_) => presented,
            None => presented::from_cookies(req.headers),
        };
        let key_id = presented.key_pair_id.as_deref().ok_or(SignatureError::MissingKey)?;
        let key = self.keys.keys.get(key_id).ok_or(SignatureError::UnknownKey)?;
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
        let claim = Claim {
            key_pair_id: key_id,
            hash: presented.hash,
            policy: &policy_bytes,
            signature: &signature,
        };
        if !self
            .verified
            .holds(&claim, || key.verifies(&policy_bytes, &signature, presented.hash))
        {
            return Err(SignatureError::BadSignature);
        }
        let policy = policy::Policy::parse(&policy_bytes).map_err(SignatureError::Malformed)?;
        policy.allows(&resource, now, req.client)?;
        // Scheme and authority stay (HTTP/2 requests carry them in the URI).
        let mut parts = req.uri.clone().into_parts();
        parts.path_and_query = Some(path_and_query.parse().map_err(|_| SignatureError::Malformed("URI"))?);
        Uri::from_parts(parts).map_err(|_| SignatureError::Malformed("URI"))
    }
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

#[cfg(test)]
mod tests {
    use base64::Engine;
    use http::HeaderValue;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use sha1::Digest;

    use super::*;

    const EXPIRES: u64 = 2_000_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_secs(secs)
    }

    fn check(v: &Verifier, uri: &Uri, client: &str, now: SystemTime) -> Result<Uri, SignatureError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("cdn.example.com"));
        let req = Request {
            uri,
            headers: &headers,
            scheme: Scheme::Http,
            client: client.parse().unwrap(),
        };
        v.verify(&req, now)
    }

    fn b64(bytes: &[u8]) -> String {
        let s = base64::engine::general_purpose::STANDARD.encode(bytes);
        s.replace('+', "-").replace('=', "_").replace('/', "~")
    }

    /// A verifier trusting one P-256 key, and a URL it signed with `policy`.
    fn signed(policy: &str) -> (Verifier, Counter, Uri) {
        let signing = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let keys = TrustedKeys {
            keys: BTreeMap::from([("KTEST".to_string(), PublicKey::P256(*signing.verifying_key()))]),
        };
        let counter = Counter::default();
        let verifier = Verifier::new(keys, counter.clone());
        let sig: p256::ecdsa::Signature = signing.sign_prehash(&sha1::Sha1::digest(policy.as_bytes())).unwrap();
        let uri = format!(
            "/private/a.pdf?Policy={}&Signature={}&Key-Pair-Id=KTEST",
            b64(policy.as_bytes()),
            b64(sig.to_der().as_bytes())
        );
        (verifier, counter, uri.parse().unwrap())
    }

    #[test]
    fn a_cached_verification_still_checks_expiry_and_client_address() {
        let policy = format!(
            r#"{{"Statement":[{{"Resource":"http://cdn.example.com/private/*","Condition":{{"DateLessThan":{{"AWS:EpochTime":{EXPIRES}}},"IpAddress":{{"AWS:SourceIp":"192.0.2.0/24"}}}}}}]}}"#
        );
        let (v, verifications, uri) = signed(&policy);
        let before = at(EXPIRES - 60);
        assert_eq!(check(&v, &uri, "192.0.2.7", before).unwrap(), "/private/a.pdf");
        assert_eq!(verifications.get(), 1);
        assert_eq!(check(&v, &uri, "192.0.2.8", before).unwrap(), "/private/a.pdf");
        assert_eq!(verifications.get(), 1, "the repeat is answered from the cache");
        assert_eq!(
            check(&v, &uri, "198.51.100.1", before),
            Err(SignatureError::Denied("client address"))
        );
        assert_eq!(
            check(&v, &uri, "192.0.2.7", at(EXPIRES)),
            Err(SignatureError::Denied("expired"))
        );
        assert_eq!(verifications.get(), 1);
    }

    #[test]
    fn refused_signatures_are_checked_every_time() {
        let policy = format!(
            r#"{{"Statement":[{{"Resource":"http://cdn.example.com/private/*","Condition":{{"DateLessThan":{{"AWS:EpochTime":{EXPIRES}}}}}}}]}}"#
        );
        let (v, verifications, uri) = signed(&policy);
        let tampered: Uri = uri.to_string().replace("Signature=M", "Signature=N").parse().unwrap();
        for _ in 0..2 {
            assert_eq!(
                check(&v, &tampered, "192.0.2.7", at(0)),
                Err(SignatureError::BadSignature)
            );
        }
        assert_eq!(verifications.get(), 2);
    }
}
