//! Who may use the admin listener, decided on the request head before any
//! of its body is read. With `CACHEFRONT_ADMIN_TOKEN` set, everything but
//! the probes (`/healthz`, `/readyz`) needs `Authorization: Bearer <token>`; the CloudFront-API
//! paths also take a SigV4 signature made with the token as secret key
//! (what the AWS CLI and boto3 send), whose head is checked here and whose
//! signature is checked once the (bounded) body is read: it covers the
//! body's hash. Without a token the listener must be on loopback (`start`
//! refuses otherwise) and `browser` keeps web pages out.

use std::time::SystemTime;

use http::HeaderMap;

use super::sigv4::{self, SigV4Error, Signed, Signer, constant_time_eq};

pub struct AdminAuth {
    pub token: Option<String>,
    /// The SigV4 access key id (`server.admin_key_id`).
    pub key_id: String,
    /// The regions a SigV4 credential scope may name (`server.admin_regions`).
    pub regions: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No usable credentials.
    Missing,
    Bearer,
    SigV4(SigV4Error),
}

/// How a request's head was let in; kept in its extensions for the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// No token is configured: loopback, checked by `browser`.
    Tokenless,
    Bearer,
    /// The head checks out; the signature is verified with the body.
    SigV4Pending,
}

impl AdminAuth {
    /// `sigv4`: whether this path accepts a SigV4 signature.
    pub fn check_head(&self, headers: &HeaderMap, sigv4: bool, now: SystemTime) -> Result<Admitted, Denied> {
        let Some(token) = &self.token else {
            return Ok(Admitted::Tokenless);
        };
        let header = authorization(headers).ok_or(Denied::Missing)?;
        if let Some(given) = header.strip_prefix("Bearer ") {
            return if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) {
                Ok(Admitted::Bearer)
            } else {
                Err(Denied::Bearer)
            };
        }
        if sigv4 && header.starts_with("AWS4-HMAC-SHA256") {
            sigv4::check_head(headers, &self.signer(), now).map_err(Denied::SigV4)?;
            return Ok(Admitted::SigV4Pending);
        }
        Err(Denied::Missing)
    }

    /// The whole SigV4 check of a request admitted `SigV4Pending`, body
    /// included.
    pub fn verify_signature(&self, req: &Signed<'_>, now: SystemTime) -> Result<(), Denied> {
        let token = self.token.as_deref().ok_or(Denied::Missing)?;
        sigv4::verify(req, &self.signer(), token, now).map_err(Denied::SigV4)
    }

    fn signer(&self) -> Signer<'_> {
        Signer {
            key_id: &self.key_id,
            regions: &self.regions,
        }
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(http::header::AUTHORIZATION)?.to_str().ok()
}
