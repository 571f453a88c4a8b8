//! Who may use the admin listener. With `CACHEFRONT_ADMIN_TOKEN` set,
//! everything but `/healthz` needs `Authorization: Bearer <token>`; the
//! CloudFront-API paths also take a SigV4 signature made with the token as
//! secret key (what the AWS CLI and boto3 send). Without a token the
//! listener must be on loopback (`start` refuses otherwise).

use std::time::SystemTime;

use http::HeaderMap;

use super::sigv4::{self, SigV4Error, Signed, constant_time_eq};

pub struct AdminAuth {
    pub token: Option<String>,
    /// The SigV4 access key id (`server.admin_key_id`).
    pub key_id: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No usable credentials.
    Missing,
    Bearer,
    SigV4(SigV4Error),
}

impl AdminAuth {
    /// `sigv4`: whether this path accepts a SigV4 signature.
    pub fn check(&self, req: &Signed<'_>, sigv4: bool) -> Result<(), Denied> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let header = authorization(req.headers).ok_or(Denied::Missing)?;
        if let Some(given) = header.strip_prefix("Bearer ") {
            return if constant_time_eq(given.trim().as_bytes(), token.as_bytes()) {
                Ok(())
            } else {
                Err(Denied::Bearer)
            };
        }
        if sigv4 && header.starts_with("AWS4-HMAC-SHA256") {
            return sigv4::verify(req, &self.key_id, token, SystemTime::now()).map_err(Denied::SigV4);
        }
        Err(Denied::Missing)
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(http::header::AUTHORIZATION)?.to_str().ok()
}
