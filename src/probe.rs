//! `cachefront probe URL`: an HTTP health check built into the binary, so a
//! container image needs no curl or shell (the runtime image is distroless).
//!
//! One GET with a short overall timeout; success is a 2xx status. Plain
//! `http://` only: the admin listener it is meant for never speaks TLS.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thiserror::Error;

use crate::origin::error_chain;

#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("not an http:// URL with a host: {0}")]
    Url(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Request(String),
    #[error("answered {0}")]
    Status(StatusCode),
}

/// GETs `url` (with the admin `token` as a bearer token, when given); `Ok`
/// with the status when it is 2xx.
pub async fn probe(url: &str, timeout: Duration, token: Option<&str>) -> Result<StatusCode, ProbeError> {
    let uri: Uri = url.parse().map_err(|_| ProbeError::Url(url.to_string()))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(ProbeError::Url(url.to_string()));
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(timeout));
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut request = Request::get(uri).header(header::USER_AGENT, "cachefront-probe");
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Empty::new()).map_err(|e| ProbeError::Url(e.to_string()))?;
    let response = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| ProbeError::Timeout(timeout))?
        .map_err(|e| ProbeError::Request(error_chain(&e)))?;
    let status = response.status();
    if status.is_success() {
        Ok(status)
    } else {
        Err(ProbeError::Status(status))
    }
}
