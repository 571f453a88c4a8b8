//! HTTP origin: a pooled hyper client (keep-alive, `TCP_NODELAY`) that
//! forwards the request path and query to an app server or another cache tier.
//! `https://` origins go through rustls (hyper-rustls over the same
//! `HttpConnector`, so the resolver, `TCP_NODELAY` and connect timeout
//! apply): SNI is the URL's host, ALPN offers h2 and http/1.1.

use std::time::Duration;

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::BodyExt;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::resolve::OriginResolver;
use super::{OriginError, OriginRequest, OriginResponse, RequestBody, error_chain};
use crate::config::{HttpOriginConfig, OriginConfig};
use crate::headers::{is_hop_by_hop, remove_hop_by_hop};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

pub struct HttpOrigin {
    client: Client<HttpsConnector<HttpConnector<OriginResolver>>, RequestBody>,
    base: Uri,
    host: HeaderValue,
    preserve_host: bool,
    via: HeaderValue,
    pub(super) response_timeout: Duration,
}

impl HttpOrigin {
    pub fn new(cfg: &OriginConfig, h: &HttpOriginConfig, via: HeaderValue) -> HttpOrigin {
        let mut connector = HttpConnector::new_with_resolver(OriginResolver::from_config(h.resolver.as_ref()));
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(cfg.connect_timeout));
        // The TLS layer takes `https` URIs; plain ones pass through untouched.
        connector.enforce_http(false);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(h))
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(h.idle_timeout)
            .build(https);
        let authority = h.url.authority().expect("validated: origin URL has a host");
        HttpOrigin {
            client,
            host: HeaderValue::from_str(authority.as_str()).expect("an authority is a valid header value"),
            via,
            preserve_host: h.preserve_host,
            base: h.url.clone(),
            response_timeout: cfg.response_timeout,
        }
    }

    pub fn preserves_host(&self) -> bool {
        self.preserve_host
    }

    /// Sends `req` with `body`; the edge has already reduced `req.headers`
    /// to end-to-end headers.
    pub async fn send(&self, req: &OriginRequest, body: RequestBody) -> Result<OriginResponse, OriginError> {
        let base_path = self.base.path().trim_end_matches('/');
        let uri = format!(
            "{}://{}{}{}",
            self.base.scheme_str().unwrap_or("http"),
            self.base.authority().expect("validated"),
            base_path,
            req.path_and_query
        );
        let mut request = Request::builder()
            .method(req.method.clone())
            .uri(uri)
            .body(body)
            .map_err(|e| OriginError::Protocol(e.to_string()))?;
        let headers = request.headers_mut();
        *headers = req.headers.clone();
        // Whatever the caller built, the client's framing never goes out:
        // hyper frames the body from its size (defence in depth).
        for name in crate::headers::CLIENT_FRAMING {
            headers.remove(name);
        }
        if !self.preserve_host || !headers.contains_key(header::HOST) {
            headers.insert(header::HOST, self.host.clone());
        }
        append(headers, header::VIA, &self.via);
        // The edge is the trust boundary: the client it resolved (from
        // trusted proxies' headers only, see `client_addr`) replaces what
        // the request claimed.
        if let Some(ip) = req.client_ip {
            let ip = HeaderValue::from_str(&ip.to_string()).expect("an IP is a header value");
            headers.insert(X_FORWARDED_FOR.clone(), ip);
        }
        let scheme = req.client_scheme.map_or("http", |s| s.as_str());
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(scheme));
        let response = tokio::time::timeout(self.response_timeout, self.client.request(request))
            .await
            .map_err(|_| OriginError::Timeout(self.response_timeout))?
            .map_err(|e| classify(&e, self.response_timeout))?;
        // A 5xx is passed on as the origin's answer (the fill decides what
        // it means: never stored, stale-if-error may stand in).
        let (parts, body) = response.into_parts();
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

/// Roots for an https origin: the system's plus `ca_file`'s. The system
/// store (rustls-native-certs) rather than a bundled list (webpki-roots):
/// it follows the host's CA updates and trusts the corporate CAs operators
/// install there, and it is already in the build through the AWS SDK.
fn tls_config(h: &HttpOriginConfig) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    if h.url.scheme_str() == Some("https") {
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "could not load some system root certificates");
        }
        roots.add_parsable_certificates(native.certs);
        let (_, bad) = roots.add_parsable_certificates(h.ca_certs.iter().cloned());
        if bad > 0 {
            tracing::warn!(
                count = bad,
                "certificates of ca_file that are not valid roots were skipped"
            );
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Headers that describe the origin's connection or the origin server
/// itself, not the object: the edge writes its own.
fn strip_origin_only(headers: &mut HeaderMap) {
    for name in [header::SERVER, header::CONTENT_LENGTH] {
        headers.remove(name);
    }
    debug_assert!(!headers.keys().any(is_hop_by_hop));
}

/// Appends `value` to a list-valued header (`Via`).
fn append(headers: &mut HeaderMap, name: HeaderName, value: &HeaderValue) {
    let joined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(prev) => HeaderValue::from_str(&format!("{prev}, {}", value.to_str().unwrap_or(""))).ok(),
        None => None,
    };
    headers.insert(name, joined.unwrap_or_else(|| value.clone()));
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
