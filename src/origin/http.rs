//! HTTP origin: a pooled hyper client (keep-alive, `TCP_NODELAY`) that
//! forwards the request path and query to an app server or another cache tier.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{OriginError, OriginRequest, OriginResponse};
use crate::config::{HttpOriginConfig, OriginConfig};
use crate::headers::{is_hop_by_hop, remove_hop_by_hop};

pub struct HttpOrigin {
    client: Client<HttpConnector, Empty<Bytes>>,
    base: Uri,
    host: HeaderValue,
    via: HeaderValue,
    pub(super) response_timeout: Duration,
}

impl HttpOrigin {
    pub fn new(cfg: &OriginConfig, h: &HttpOriginConfig, via: HeaderValue) -> HttpOrigin {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(cfg.connect_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        let authority = h.url.authority().expect("validated: origin URL has a host");
        HttpOrigin {
            client,
            host: HeaderValue::from_str(authority.as_str()).expect("an authority is a valid header value"),
            via,
            base: h.url.clone(),
            response_timeout: cfg.response_timeout,
        }
    }

    pub async fn get(&self, req: &OriginRequest) -> Result<OriginResponse, OriginError> {
        let base_path = self.base.path().trim_end_matches('/');
        let uri = format!(
            "{}://{}{}{}",
            self.base.scheme_str().unwrap_or("http"),
            self.base.authority().expect("validated"),
            base_path,
            req.path_and_query
        );
        let mut builder = Request::get(uri)
            .header(header::HOST, self.host.clone())
            .header(header::USER_AGENT, "cachefront")
            .header(header::VIA, self.via.clone());
        if let Some(ip) = req.client_ip {
            builder = builder.header(HeaderName::from_static("x-forwarded-for"), ip.to_string());
        }
        let request = builder
            .body(Empty::new())
            .map_err(|e| OriginError::Protocol(e.to_string()))?;
        let response = tokio::time::timeout(self.response_timeout, self.client.request(request))
            .await
            .map_err(|_| OriginError::Timeout(self.response_timeout))?
            .map_err(|e| classify(&e, self.response_timeout))?;
        let (parts, body) = response.into_parts();
        if parts.status.is_server_error() {
            return Err(OriginError::Status(parts.status));
        }
        let mut headers = parts.headers;
        remove_hop_by_hop(&mut headers);
        let content_length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        strip_origin_only(&mut headers);
        Ok(OriginResponse {
            status: parts.status,
            headers,
            content_length,
            body: body.map_err(Into::into).boxed_unsync(),
        })
    }
}

/// Headers that describe the origin's connection or the origin server
/// itself, not the object: the edge writes its own.
fn strip_origin_only(headers: &mut HeaderMap) {
    for name in [header::SERVER, header::DATE, header::CONTENT_LENGTH] {
        headers.remove(name);
    }
    debug_assert!(!headers.keys().any(is_hop_by_hop));
}

fn classify(err: &hyper_util::client::legacy::Error, timeout: Duration) -> OriginError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return OriginError::Timeout(timeout);
        }
        source = e.source();
    }
    if err.is_connect() {
        OriginError::Connect(error_chain(err))
    } else {
        OriginError::Protocol(error_chain(err))
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}
