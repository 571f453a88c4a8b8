//! CloudFront signed URLs and signed cookies (routes with `signed = true`),
//! as django-storages makes them with botocore's `CloudFrontSigner`.
//!
//! A request carries either query parameters (`Expires` or `Policy`,
//! `Signature`, `Key-Pair-Id`, optionally `Hash-Algorithm=SHA256`) or
//! cookies (`CloudFront-Expires` or `CloudFront-Policy`,
//! `CloudFront-Signature`, `CloudFront-Key-Pair-Id`, optionally
//! `CloudFront-Hash-Algorithm`). The signature is RSA PKCS#1 v1.5 or ECDSA
//! P-256 (see `key`) over the policy: for a canned policy, the one
//! CloudFront builds from the resource URL (scheme, host, path and the
//! rest of the query) and `Expires`; for a custom policy, the policy itself
//! (see `policy`). The resource's host is one of the site's names
//! (`server.hostnames`), or the request's `Host` when none are configured,
//! checked to be `host[:port]`: never a client's string that could move
//! the policy's path (see `site_names`). A path with dot-segments in any
//! encoding opens nothing (`policy::plain_path`). A signature verified
//! once is not verified again (see `verified`); the policy's conditions are checked on every request. The
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
use crate::host;
pub use key::{HashAlgorithm, PublicKey};
use policy::Resource;
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
    /// The site's names (`server.hostnames` or the route's); empty: the
    /// request's `Host`, when well-formed.
    pub hostnames: &'a [crate::host::Hostname],
    /// The request's `Host` is sent to the origin (`preserve_host`): it
    /// chooses what is served, so it must be one of `hostnames`.
    pub host_is_sent: bool,
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
        let path = req.uri.path();
        if !policy::plain_path(path) {
            return Err(SignatureError::Denied("path"));
        }
        let scheme = match req.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        let resources: Vec<Resource> = site_names(req)?
            .iter()
            .map(|host| Resource::new(scheme, host, path, rest.as_deref()))
            .collect();
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let holds = |policy: &[u8]| {
            let claim = Claim {
                key_pair_id: key_id,
                hash: presented.hash,
                policy,
                signature: &signature,
            };
            self.verified
                .holds(&claim, || key.verifies(policy, &signature, presented.hash))
        };
        match (&presented.policy, &presented.expires) {
            (Some(p), _) => {
                let policy = cloudfront_b64(p).ok_or(SignatureError::Malformed("Policy is not base64"))?;
                if !holds(&policy) {
                    return Err(SignatureError::BadSignature);
                }
                let policy = policy::Policy::parse(&policy).map_err(SignatureError::Malformed)?;
                policy.allows(&resources, now, req.client)?;
            }
            (None, Some(e)) => {
                let expires: u64 = e.parse().map_err(|_| SignatureError::Malformed("Expires"))?;
                // The canned policy names one resource: the one it was signed for, if any.
                let signed = resources
                    .iter()
                    .find(|r| holds(policy::canned(&r.text, expires).as_bytes()))
                    .ok_or(SignatureError::BadSignature)?;
                let policy = policy::canned(&signed.text, expires);
                let policy = policy::Policy::parse(policy.as_bytes()).map_err(SignatureError::Malformed)?;
                policy.allows(std::slice::from_ref(signed), now, req.client)?;
            }
            (None, None) => return Err(SignatureError::Malformed("neither Expires nor Policy")),
        }
        let path_and_query = match &rest {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        // Scheme and authority stay (HTTP/2 requests carry them in the URI).
        let mut parts = req.uri.clone().into_parts();
        parts.path_and_query = Some(path_and_query.parse().map_err(|_| SignatureError::Malformed("URI"))?);
        Uri::from_parts(parts).map_err(|_| SignatureError::Malformed("URI"))
    }
}

/// The hosts a request's resource is built with, never a string the client
/// chose: with `hostnames` configured, the one the request's `Host` names,
/// else every one (HTTP/1.0 without `Host`, a `Host` the site does not
/// have: any configured name may match, none is the client's; but not
/// where the `Host` reaches the origin, see `host_is_sent`). Without
/// them, the request's `Host` (or `:authority`), lower-cased, and only when
/// it is `host[:port]`: it cannot carry a path into the resource. For a
/// canned policy each name tried costs one signature check (a custom
/// policy is checked once); a `Host` among the names means one name.
fn site_names(req: &Request<'_>) -> Result<Vec<String>, SignatureError> {
    let requested = match req.headers.get(header::HOST).filter(|v| !v.is_empty()) {
        Some(v) => Some(v.as_bytes()),
        None => req.uri.authority().map(|a| a.as_str().as_bytes()),
    };
    let requested = match requested {
        Some(v) => Some((
            v,
            host::parse(v).ok_or(SignatureError::Malformed("Host is not host[:port]"))?,
        )),
        None => None,
    };
    if !req.hostnames.is_empty() {
        let named = requested.and_then(|(_, hp)| req.hostnames.iter().find(|n| n.names(&hp)));
        return Ok(match named {
            Some(n) => vec![n.as_str().to_string()],
            // Sent to an origin that serves sites by name, another name
            // would be another site, which no policy of this one covers.
            None if req.host_is_sent && requested.is_some() => return Err(SignatureError::Denied("host")),
            None => req.hostnames.iter().map(|n| n.as_str().to_string()).collect(),
        });
    }
    let (value, _) = requested.ok_or(SignatureError::Malformed("no Host"))?;
    // Well-formed, so ASCII.
    Ok(vec![String::from_utf8_lossy(value).to_ascii_lowercase()])
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
            hostnames: &[],
            host_is_sent: false,
        };
        v.verify(&req, now)
    }

    fn b64(bytes: &[u8]) -> String {
        let s = base64::engine::general_purpose::STANDARD.encode(bytes);
        s.replace('+', "-").replace('=', "_").replace('/', "~")
    }

    /// A verifier trusting one P-256 key, and a URL it signed with `policy`.
    fn signed(policy: &str) -> (Verifier, Counter, Uri) {
        let (verifier, counter, query) = signed_query(policy);
        (verifier, counter, format!("/private/a.pdf?{query}").parse().unwrap())
    }

    /// The same, with the signature's query parameters alone.
    fn signed_query(policy: &str) -> (Verifier, Counter, String) {
        let signing = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let keys = TrustedKeys {
            keys: BTreeMap::from([("KTEST".to_string(), PublicKey::P256(*signing.verifying_key()))]),
        };
        let counter = Counter::default();
        let verifier = Verifier::new(keys, counter.clone());
        let sig: p256::ecdsa::Signature = signing.sign_prehash(&sha1::Sha1::digest(policy.as_bytes())).unwrap();
        let query = format!(
            "Policy={}&Signature={}&Key-Pair-Id=KTEST",
            b64(policy.as_bytes()),
            b64(sig.to_der().as_bytes())
        );
        (verifier, counter, query)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Whatever the Host (even one the edge would have refused), the
        /// path and the configured names, a policy for `/media/user1/*`
        /// opens only plain paths under `/media/user1/`.
        #[test]
        fn a_prefix_policy_opens_nothing_outside_its_prefix(
            host in "[a-z0-9./:@%?#*;=\\[\\] \\\\-]{0,24}|cdn\\.example\\.com/media/user1",
            path in "(/(media|user1|user2|\\.|\\.\\.|%2e|%2E|%2f|%5c|;|\\.\\.;x|secret\\.txt)){1,6}",
            query in "|x=://cdn.example.com/media/user1/a|x=/media/user1/",
            named in proptest::bool::ANY,
        ) {
            let policy = format!(
                r#"{{"Statement":[{{"Resource":"http://cdn.example.com/media/user1/*","Condition":{{"DateLessThan":{{"AWS:EpochTime":{EXPIRES}}}}}}}]}}"#
            );
            let (v, _, signature) = signed_query(&policy);
            let Ok(uri) = format!("{path}?{query}&{signature}").parse::<Uri>() else {
                return Ok(());
            };
            let Ok(host) = HeaderValue::from_str(&host) else {
                return Ok(());
            };
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, host);
            let names = [crate::host::Hostname::parse("cdn.example.com").unwrap()];
            let req = Request {
                uri: &uri,
                headers: &headers,
                scheme: Scheme::Http,
                client: "192.0.2.7".parse().unwrap(),
                hostnames: if named { &names } else { &[] },
                host_is_sent: false,
            };
            if v.verify(&req, at(EXPIRES - 60)).is_ok() {
                proptest::prop_assert!(path.starts_with("/media/user1/") && policy::plain_path(&path), "{path}");
            }
        }
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
