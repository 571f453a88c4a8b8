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
    pub body: &'a [u8],
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

/// Checks `req`'s signature against `secret` for `key_id` at `now`.
pub fn verify(req: &Signed<'_>, key_id: &str, secret: &str, now: SystemTime) -> Result<(), SigV4Error> {
    let header = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(SigV4Error::Malformed)?;
    let auth = parse(header).ok_or(SigV4Error::Malformed)?;
    if !constant_time_eq(auth.key_id.as_bytes(), key_id.as_bytes()) {
        return Err(SigV4Error::UnknownKey);
    }
    let amz_date = req
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or(SigV4Error::Date)?;
    let at = PrimitiveDateTime::parse(
        amz_date,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map_err(|_| SigV4Error::Date)?
    .assume_utc();
    if !amz_date.starts_with(auth.date) {
        return Err(SigV4Error::Date);
    }
    let at = SystemTime::from(at);
    let skew = now.duration_since(at).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(SigV4Error::Skew);
    }
    let canonical = canonical_request(req, auth.signed_headers).ok_or(SigV4Error::Malformed)?;
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

fn canonical_request(req: &Signed<'_>, signed_headers: &str) -> Option<String> {
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
        let values: Vec<String> = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| Some(v.to_str().ok()?.split_whitespace().collect::<Vec<_>>().join(" ")))
            .collect::<Option<_>>()?;
        if values.is_empty() {
            return None;
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = match req.headers.get("x-amz-content-sha256") {
        Some(v) => v.to_str().ok()?.to_string(),
        None => hex_sha256(req.body),
    };
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
        let signed = Signed {
            method: method.as_str(),
            path: &path,
            query: None,
            headers: &headers,
            body,
        };
        verify(&signed, "cachefront", "secret", now)
    }

    #[test]
    fn verifies_what_the_aws_cli_signed() {
        let at = SystemTime::from(
            PrimitiveDateTime::parse(
                "20261127T063714Z",
                format_description!("[year][month][day]T[hour][minute][second]Z"),
            )
            .unwrap()
            .assume_utc(),
        );
        let (.., body) = fixture();
        assert_eq!(check(&body, at), Ok(()));
        assert_eq!(check(&body, at + Duration::from_secs(14 * 60)), Ok(()));
        assert_eq!(check(&body, at + Duration::from_secs(16 * 60)), Err(SigV4Error::Skew));
        assert_eq!(check(&body, at - Duration::from_secs(16 * 60)), Err(SigV4Error::Skew));
        let mut tampered = body.clone();
        tampered[100] ^= 1;
        assert_eq!(check(&tampered, at), Err(SigV4Error::Mismatch));
        let (method, path, headers, body) = fixture();
        let signed = Signed {
            method: method.as_str(),
            path: &path,
            query: None,
            headers: &headers,
            body: &body,
        };
        assert_eq!(verify(&signed, "cachefront", "other", at), Err(SigV4Error::Mismatch));
        assert_eq!(verify(&signed, "someone", "secret", at), Err(SigV4Error::UnknownKey));
    }
}
