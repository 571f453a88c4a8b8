//! S3 origin: GetObject through aws-sdk-s3 on its own rustls/hyper 1 client.
//!
//! Errors are mapped by HTTP status, not by modelled error type: HeadObject
//! errors have no body, S3-compatible servers differ in their codes, and the
//! status is what decides caching (404/403 cached for `error_ttl`, 5xx and
//! throttling never).

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_smithy_http_client::tls;
use aws_smithy_types::date_time::Format;
use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full};

use super::dev::Embedded;
use super::{BoxError, OriginError, OriginRequest, OriginResponse};
use crate::config::{DEV_ACCESS_KEY, DEV_SECRET_KEY, OriginConfig, S3Credentials, S3OriginConfig};

pub struct S3Origin {
    pub(super) client: aws_sdk_s3::Client,
    pub(super) bucket: String,
    pub(super) response_timeout: Duration,
    /// Where requests go, for messages (the configured endpoint, the
    /// embedded dev origin's, or AWS's regional one).
    pub(super) endpoint: String,
    pub(super) credentials: S3Credentials,
    /// The provider the client signs with, for the start-up check to ask.
    pub(super) provider: Option<aws_sdk_s3::config::SharedCredentialsProvider>,
    /// Fill-time S3 errors, logged at most once per interval.
    fill_log: super::check::FillLog,
    /// The embedded dev origin this origin reads from, listening as long as
    /// this origin is in use.
    _dev: Option<Embedded>,
}

impl S3Origin {
    /// `dev` (the embedded dev origin) overrides the configured endpoint,
    /// and lives as long as this origin.
    pub async fn build(cfg: &OriginConfig, s3: &S3OriginConfig, dev: Option<Embedded>) -> Result<S3Origin, BoxError> {
        // One rustls-on-hyper-1 client, built here and handed to the loader,
        // so the SDK does not pull in a second (hyper 0.14) HTTP stack.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
            .build_https();
        // The operation timeout bounds retries too: a fill never waits longer
        // than `response_timeout` for the first byte, however often the SDK
        // retries.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.response_timeout)
            .operation_attempt_timeout(cfg.response_timeout)
            .operation_timeout(cfg.response_timeout)
            .build();
        // One retry, soon: a cache retries by itself on the next request and
        // coalesces, so long SDK backoffs only turn a clear 502 into a 504.
        let retries = RetryConfig::standard()
            .with_max_attempts(2)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(1));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(s3.region.clone()))
            .http_client(http_client)
            .timeout_config(timeouts)
            .retry_config(retries);
        if s3.credentials == S3Credentials::Dev {
            loader = loader.credentials_provider(Credentials::new(
                DEV_ACCESS_KEY,
                DEV_SECRET_KEY,
                None,
                None,
                "cachefront-dev",
            ));
        }
        let sdk = loader.load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(s3.force_path_style);
        let configured = dev
            .as_ref()
            .map(|d| d.endpoint().to_string())
            .or_else(|| s3.endpoint.clone());
        let endpoint = match &configured {
            Some(e) => e.clone(),
            None => format!("https://s3.{}.amazonaws.com", s3.region),
        };
        if let Some(e) = configured {
            conf = conf.endpoint_url(e);
        }
        Ok(S3Origin {
            client: aws_sdk_s3::Client::from_conf(conf.build()),
            bucket: s3.bucket.clone(),
            response_timeout: cfg.response_timeout,
            endpoint,
            credentials: s3.credentials,
            provider: sdk.credentials_provider(),
            fill_log: super::check::FillLog::default(),
            _dev: dev,
        })
    }

    pub async fn get(&self, req: &OriginRequest) -> Result<OriginResponse, OriginError> {
        let mut get = self.client.get_object().bucket(&self.bucket).key(&req.key);
        if let Some(inm) = req.headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
            get = get.if_none_match(inm);
        }
        if let Some(ims) = req
            .headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
        {
            get = get.if_modified_since(aws_smithy_types::DateTime::from(ims));
        }
        if let Some(range) = req.headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
            get = get.range(range);
        }
        let sent = get.send();
        let result = tokio::time::timeout(self.response_timeout, sent)
            .await
            .map_err(|_| OriginError::Timeout(self.response_timeout))?;
        match result {
            Ok(out) => Ok(response(out)),
            Err(SdkError::ServiceError(e)) => {
                let status = e.raw().status().as_u16();
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(e.err());
                // A missing key is ordinary; a missing bucket, a denial or a
                // 5xx is a misconfiguration or an outage worth a line.
                if status != 304 && (status != 404 || code == Some("NoSuchBucket")) {
                    self.fill_log.error(&self.bucket, &req.key, status, code.unwrap_or("-"));
                }
                match status {
                    // A 304 to a conditional GetObject arrives as an error.
                    304 => Ok(not_modified(e.raw().headers())),
                    404 => Ok(short(StatusCode::NOT_FOUND, "Not Found\n")),
                    403 => Ok(short(StatusCode::FORBIDDEN, "Forbidden\n")),
                    429 | 503 => Err(OriginError::Throttled),
                    s => Err(OriginError::Status(
                        StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY),
                    )),
                }
            }
            Err(SdkError::TimeoutError(_)) => Err(OriginError::Timeout(self.response_timeout)),
            Err(SdkError::DispatchFailure(f)) if f.is_timeout() => Err(OriginError::Timeout(self.response_timeout)),
            Err(SdkError::DispatchFailure(f)) => Err(OriginError::Connect(format!("{:?}", f.as_connector_error()))),
            Err(e) => Err(OriginError::Protocol(
                aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            )),
        }
    }
}

fn short(status: StatusCode, body: &'static str) -> OriginResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    OriginResponse {
        status,
        headers,
        content_length: Some(body.len() as u64),
        body: Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    }
}

fn not_modified(raw: &aws_smithy_runtime_api::http::Headers) -> OriginResponse {
    let mut headers = HeaderMap::new();
    for name in [
        header::ETAG,
        header::LAST_MODIFIED,
        header::CACHE_CONTROL,
        header::EXPIRES,
        header::DATE,
    ] {
        if let Some(v) = raw.get(name.as_str()).and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, v);
        }
    }
    OriginResponse {
        status: StatusCode::NOT_MODIFIED,
        headers,
        content_length: None,
        body: Full::new(Bytes::new()).map_err(|never| match never {}).boxed_unsync(),
    }
}

/// The object's headers a client may see, and its body.
fn response(out: GetObjectOutput) -> OriginResponse {
    let mut headers = HeaderMap::new();
    let mut put = |name: HeaderName, value: Option<&str>| {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, v);
        }
    };
    put(header::CONTENT_TYPE, out.content_type());
    put(header::ETAG, out.e_tag());
    let last_modified = out.last_modified().and_then(|d| d.fmt(Format::HttpDate).ok());
    put(header::LAST_MODIFIED, last_modified.as_deref());
    put(header::CACHE_CONTROL, out.cache_control());
    put(header::EXPIRES, out.expires_string());
    put(header::CONTENT_ENCODING, out.content_encoding());
    put(header::CONTENT_DISPOSITION, out.content_disposition());
    put(header::CONTENT_LANGUAGE, out.content_language());
    put(header::CONTENT_RANGE, out.content_range());
    let status = if out.content_range().is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let content_length = out.content_length().and_then(|l| u64::try_from(l).ok());
    let body = out.body.into_inner().boxed_unsync();
    OriginResponse {
        status,
        headers,
        content_length,
        body,
    }
}
