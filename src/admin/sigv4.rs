//! Verifying AWS Signature Version 4 on admin API requests, so the AWS CLI
//! and boto3 can call the CloudFront-compatible API with
//! `access key id = server.admin_key_id`, `secret = CACHEFRONT_ADMIN_TOKEN`.
//!
//! The key derivation and HMAC come from the `aws-sigv4` crate; the
//! canonical request is rebuilt here because that crate only signs: it
//! would choose the headers itself, while a verifier must use exactly the
//! ones the client listed in `SignedHeaders`. Checked against the bytes
//! the AWS CLI sends (tests/fixtures).

use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::PrimitiveDateTime;
use time::macros::format_description;

/// AWS's own allowance for clock skew.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The only service a signature may be made for.
pub const SERVICE: &str = "cloudfront";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SigV4Error {
    #[error("malformed SigV4 Authorization header")]
    Malformed,
    #[error("unknown access key id")]
    UnknownKey,
    #[error("missing or malformed X-Amz-Date")]
    Date,
    #[error("request time is more than 15 minutes from the server's")]
    Skew,
    #[error("the credential scope must be <X-Amz-Date's day>/<a configured region>/cloudfront/aws4_request")]
    Scope,
    #[error("SignedHeaders must include host, and x-amz-content-sha256 when it is sent")]
    Unsigned,
    #[error("x-amz-content-sha256 must be the body's SHA-256 (UNSIGNED-PAYLOAD is not accepted)")]
    UnsignedPayload,
    #[error("x-amz-content-sha256 is not the SHA-256 of the body")]
    PayloadMismatch,
    #[error("the signature does not match")]
    Mismatch,
}

/// What a request offers to be checked.
pub struct Signed<'a> {
    pub method: &'a str,
    /// Path and query as sent on the wire.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// HTTP/2's `:authority`, the `host` of a request without a Host header.
    pub authority: Option<&'a str>,
    pub body: &'a [u8],
}

/// Whom a signature may come from: the key id, the regions it may name.
pub struct Signer<'a> {
    pub key_id: &'a str,
    pub regions: &'a [String],
}

struct Authorization<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse(header: &str) -> Option<Authorization<'_>> {
    let rest = header.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let auth = Authorization {
        key_id: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed_headers?,
        signature: signature?,
    };
    (scope.next()? == "aws4_request" && scope.next().is_none()).then_some(auth)
}

/// What the head of a request says, checked: everything but the signature,
/// which needs the body's hash.
struct Head<'a> {
    auth: Authorization<'a>,
    amz_date: &'a str,
    at: SystemTime,
}

fn head<'a>(headers: &'a HeaderMap, signer: &Signer<'_>, now: SystemTime) -> Result<Head<'a>, SigV4Error> {
    let header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(SigV4Error::Malformed)?;
    let auth = parse(header).ok_or(SigV4Error::Malformed)?;
    if !constant_time_eq(auth.key_id.as_bytes(), signer.key_id.as_bytes()) {
        return Err(SigV4Error::UnknownKey);
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or(SigV4Error::Date)?;
    let at = PrimitiveDateTime::parse(
        amz_date,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map_err(|_| SigV4Error::Date)?
    .assume_utc();
    let at = SystemTime::from(at);
    let skew = now.duration_since(at).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(SigV4Error::Skew);
    }
    if amz_date.get(..8) != Some(auth.date)
        || auth.service != SERVICE
        || !signer.regions.iter().any(|r| r == auth.region)
    {
        return Err(SigV4Error::Scope);
    }
    let signed = |name: &str| auth.signed_headers.split(';').any(|h| h == name);
    if !signed("host") || (headers.contains_key("x-amz-content-sha256") && !signed("x-amz-content-sha256")) {
        return Err(SigV4Error::Unsigned);
    }
    Ok(Head { auth, amz_date, at })
}

/// Checks what can be checked before the body is read: the key id, the
/// date, skew and scope, and that what must be signed is. Run on the head
/// so that a request that fails these is refused without reading its body.
pub fn check_head(headers: &HeaderMap, signer: &Signer<'_>, now: SystemTime) -> Result<(), SigV4Error> {
    head(headers, signer, now).map(|_| ())
}

/// Checks `req`'s signature against `secret` at `now`. The payload hash in
/// the canonical request is always the body's own: a sent
/// `x-amz-content-sha256` must be signed and equal to it, so a captured
/// request cannot carry another body.
pub fn verify(req: &Signed<'_>, signer: &Signer<'_>, secret: &str, now: SystemTime) -> Result<(), SigV4Error> {
    let Head { auth, amz_date, at } = head(req.headers, signer, now)?;
    let payload = hex_sha256(req.body);
    if let Some(sent) = req.headers.get("x-amz-content-sha256") {
        let sent = sent.to_str().map_err(|_| SigV4Error::PayloadMismatch)?;
        if sent == "UNSIGNED-PAYLOAD" || sent.starts_with("STREAMING-") {
            return Err(SigV4Error::UnsignedPayload);
        }
        if !sent.eq_ignore_ascii_case(&payload) {
            return Err(SigV4Error::PayloadMismatch);
        }
    }
    let canonical = canonical_request(req, auth.signed_headers, &payload).ok_or(SigV4Error::Malformed)?;
    let scope = format!("{}/{}/{}/aws4_request", auth.date, auth.region, auth.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical.as_bytes())
    );
    let key = generate_signing_key(secret, at, auth.region, auth.service);
    let expected = calculate_signature(key, string_to_sign.as_bytes());
    if constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(())
    } else {
        Err(SigV4Error::Mismatch)
    }
}

/// RFC 3986 unreserved characters stay; everything else is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

fn canonical_request(req: &Signed<'_>, signed_headers: &str, payload: &str) -> Option<String> {
    // Services other than S3 encode the (already encoded) path once more.
    let uri = utf8_percent_encode(if req.path.is_empty() { "/" } else { req.path }, PATH).to_string();
    let mut query: Vec<(String, String)> = req
        .query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let enc = |s: &str| utf8_percent_encode(&percent_decode_str(s).decode_utf8_lossy(), UNRESERVED).to_string();
            (enc(k), enc(v))
        })
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = String::new();
    for name in signed_headers.split(';') {
        let mut values: Vec<String> = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| Some(v.to_str().ok()?.split_whitespace().collect::<Vec<_>>().join(" ")))
            .collect::<Option<_>>()?;
        if values.is_empty() && name == "host" {
            values.extend(req.authority.map(str::to_string));
        }
        if values.is_empty() {
            return None;
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Some(format!(
        "{}\n{uri}\n{}\n{headers}\n{signed_headers}\n{payload}",
        req.method,
        query.join("&")
    ))
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compares secrets without leaking where they differ through timing.
/// (A few lines; not worth a crate.)
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/aws-cli-create-invalidation.http");

    fn fixture() -> (http::Method, String, HeaderMap, Vec<u8>) {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(len) = req.parse(FIXTURE).unwrap() else {
            panic!("partial fixture")
        };
        let mut map = HeaderMap::new();
        for h in req.headers.iter() {
            map.append(
                http::HeaderName::from_bytes(h.name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(h.value).unwrap(),
            );
        }
        (
            req.method.unwrap().parse().unwrap(),
            req.path.unwrap().to_string(),
            map,
            FIXTURE[len..].to_vec(),
        )
    }

    fn check(body: &[u8], now: SystemTime) -> Result<(), SigV4Error> {
        let (method, path, headers, _) = fixture();
        check_with(&method, &path, &headers, body, &["us-east-1".to_string()], now)
    }

    fn check_with(
        method: &http::Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
        regions: &[String],
        now: SystemTime,
    ) -> Result<(), SigV4Error> {
        let signed = Signed {
            method: method.as_str(),
            path,
            query: None,
            headers,
            authority: None,
            body,
        };
        let signer = Signer {
            key_id: "cachefront",
            regions,
        };
        verify(&signed, &signer, "secret", now)
    }

    fn signed_at() -> SystemTime {
        SystemTime::from(
            PrimitiveDateTime::parse(
                "20261127T063714Z",
                format_description!("[year][month][day]T[hour][minute][second]Z"),
            )
            .unwrap()
            .assume_utc(),
        )
    }

    #[test]
    fn verifies_what_the_aws_cli_signed() {
        let at = signed_at();
        let (.., body) = fixture();
        assert_eq!(check(&body, at), Ok(()));
        assert_eq!(check(&body, at + Duration::from_secs(14 * 60)), Ok(()));
        assert_eq!(check(&body, at + Duration::from_secs(16 * 60)), Err(SigV4Error::Skew));
        assert_eq!(check(&body, at - Duration::from_secs(16 * 60)), Err(SigV4Error::Skew));
        let mut tampered = body.clone();
        tampered[100] ^= 1;
        assert_eq!(check(&tampered, at), Err(SigV4Error::Mismatch));
        let (method, path, headers, body) = fixture();
        let mut signed = Signed {
            method: method.as_str(),
            path: &path,
            query: None,
            headers: &headers,
            authority: None,
            body: &body,
        };
        let regions = ["us-east-1".to_string()];
        let key = |key_id| Signer {
            key_id,
            regions: &regions,
        };
        assert_eq!(
            verify(&signed, &key("cachefront"), "other", at),
            Err(SigV4Error::Mismatch)
        );
        assert_eq!(
            verify(&signed, &key("someone"), "secret", at),
            Err(SigV4Error::UnknownKey)
        );
        // HTTP/2: no Host header, the same value as :authority.
        let mut h2 = headers.clone();
        let host = h2.remove(http::header::HOST).unwrap();
        signed.headers = &h2;
        signed.authority = host.to_str().ok();
        assert_eq!(verify(&signed, &key("cachefront"), "secret", at), Ok(()));
    }

    #[test]
    fn the_payload_hash_is_the_bodys_and_the_scope_is_checked() {
        let at = signed_at();
        let (method, path, headers, body) = fixture();
        let us = ["us-east-1".to_string()];
        let eu = ["eu-west-1".to_string()];
        assert_eq!(
            check_with(&method, &path, &headers, &body, &eu, at),
            Err(SigV4Error::Scope)
        );
        // Another body with the captured body's hash, unsigned.
        let mut with_hash = headers.clone();
        with_hash.insert("x-amz-content-sha256", hex_sha256(&body).parse().unwrap());
        let other = b"<InvalidationBatch/>";
        assert_eq!(
            check_with(&method, &path, &with_hash, other, &us, at),
            Err(SigV4Error::Unsigned)
        );
        // The scope's date must be X-Amz-Date's day.
        let mut redated = headers.clone();
        let auth = headers["authorization"]
            .to_str()
            .unwrap()
            .replace("/20261127/", "/20261126/");
        redated.insert("authorization", auth.parse().unwrap());
        assert_eq!(
            check_with(&method, &path, &redated, &body, &us, at),
            Err(SigV4Error::Scope)
        );
        let no_host = headers["authorization"].to_str().unwrap().replace("host;", "");
        redated.insert("authorization", no_host.parse().unwrap());
        assert_eq!(
            check_with(&method, &path, &redated, &body, &us, at),
            Err(SigV4Error::Unsigned)
        );
    }
}
