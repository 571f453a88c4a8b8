//! S3 origins checked at start, and S3 errors at fill time made visible.
//!
//! A wrong bucket or a wrong secret used to show only as clients' 404/403s
//! (cached for `error_ttl`), and missing credentials as "origin could not be
//! reached". So each S3 origin gets one cheap request at start (HeadBucket,
//! which the embedded dev origin serves too), in the background so start-up
//! is not delayed, and what is wrong is logged at error level in words: no
//! such bucket, access denied (with the S3 error code and the credential
//! source), endpoint unreachable, no credentials. The result gates
//! `/readyz` when `ready_when_origins_ok` is set. Checked once, at start.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use thiserror::Error;

use super::metered::MeteredOrigin;
use super::{Origin, S3Origin};
use crate::admin::Admin;
use crate::config::S3Credentials;

/// What the start-up check found wrong with an S3 origin.
#[derive(Debug, Error)]
pub enum CheckError {
    #[error("no such bucket {bucket:?} at {endpoint} (S3 answered {status}): check the origin's `bucket`")]
    NoSuchBucket {
        bucket: String,
        endpoint: String,
        status: u16,
    },
    #[error(
        "access denied to bucket {bucket:?} (S3 answered {status} {code}) with credentials from {source_name}: check the keys and the bucket policy"
    )]
    AccessDenied {
        bucket: String,
        status: u16,
        code: String,
        source_name: String,
    },
    #[error("endpoint {endpoint} unreachable: {detail}")]
    Unreachable { endpoint: String, detail: String },
    #[error("no credentials: {0} (set AWS credentials, or `credentials = \"dev\"` for the dev origin)")]
    NoCredentials(String),
    #[error("bucket {bucket:?} at {endpoint} failed its check: {detail}")]
    Other {
        bucket: String,
        endpoint: String,
        detail: String,
    },
}

impl S3Origin {
    /// Where the credentials come from, in words, or why there are none.
    async fn credential_source(&self) -> Result<String, CheckError> {
        if self.credentials == S3Credentials::Dev {
            return Ok("the dev fixed keys (credentials = \"dev\")".into());
        }
        let Some(provider) = &self.provider else {
            return Err(CheckError::NoCredentials("no credentials provider".into()));
        };
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| CheckError::NoCredentials(super::error_chain(&e)))?;
        // `Credentials` has no getter for the provider's name; its `Debug`
        // prints it (and redacts the secret), so it is read from there.
        let debug = format!("{creds:?}");
        let name = debug
            .split("provider_name: \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("unknown");
        Ok(format!("the AWS chain (provider {name})"))
    }

    /// A HEAD answer has no body, so no S3 error code: a one-key list
    /// answers the same denial with its code.
    async fn denial_code(&self) -> Option<String> {
        let sent = self.client.list_objects_v2().bucket(&self.bucket).max_keys(1).send();
        match tokio::time::timeout(self.response_timeout, sent).await {
            Ok(Err(SdkError::ServiceError(e))) => e.err().code().map(str::to_string),
            _ => None,
        }
    }

    /// One HeadBucket; `Ok` with the credential source when it succeeded.
    pub async fn check(&self) -> Result<String, CheckError> {
        let source_name = self.credential_source().await?;
        let sent = self.client.head_bucket().bucket(&self.bucket).send();
        let result = tokio::time::timeout(self.response_timeout, sent).await;
        let (bucket, endpoint) = (self.bucket.clone(), self.endpoint.clone());
        let err = match result {
            Ok(Ok(_)) => return Ok(source_name),
            Ok(Err(e)) => e,
            Err(_) => {
                return Err(CheckError::Unreachable {
                    endpoint,
                    detail: format!("no answer within {:?}", self.response_timeout),
                });
            }
        };
        Err(match err {
            SdkError::ServiceError(e) => {
                let status = e.raw().status().as_u16();
                // HeadBucket errors have no body: the code is the modelled
                // one when there is one, else the status says it.
                let mut code = e.err().code().map(str::to_string);
                if code.is_none() && matches!(status, 401 | 403) {
                    code = self.denial_code().await;
                }
                match status {
                    404 => CheckError::NoSuchBucket {
                        bucket,
                        endpoint,
                        status,
                    },
                    401 | 403 => CheckError::AccessDenied {
                        bucket,
                        status,
                        code: code.unwrap_or_else(|| "AccessDenied".into()),
                        source_name,
                    },
                    s => CheckError::Other {
                        bucket,
                        endpoint,
                        detail: format!("S3 answered {s} {}", code.unwrap_or_default()),
                    },
                }
            }
            SdkError::DispatchFailure(f) => CheckError::Unreachable {
                endpoint,
                detail: f
                    .as_connector_error()
                    .map(|e| super::error_chain(e))
                    .unwrap_or_else(|| "connection failed".into()),
            },
            SdkError::TimeoutError(_) => CheckError::Unreachable {
                endpoint,
                detail: format!("no answer within {:?}", self.response_timeout),
            },
            e => CheckError::Other {
                bucket,
                endpoint,
                detail: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            },
        })
    }
}

/// Checks every S3 origin in the background; with all of them fine, marks
/// the node's origins ok (what `/readyz` waits for with
/// `ready_when_origins_ok`).
pub fn spawn(origins: Vec<(String, Arc<MeteredOrigin>)>, admin: Arc<Admin>) {
    tokio::spawn(async move {
        let mut all_ok = true;
        for (name, origin) in &origins {
            let Origin::S3(s3) = &***origin else { continue };
            match s3.check().await {
                Ok(source) => tracing::info!(
                    origin = %name,
                    bucket = %s3.bucket,
                    endpoint = %s3.endpoint,
                    credentials = %source,
                    "S3 origin check passed"
                ),
                Err(e) => {
                    all_ok = false;
                    tracing::error!(origin = %name, "S3 origin check failed: {e}");
                }
            }
        }
        if all_ok {
            admin.origins_ok.store(true, Ordering::Relaxed);
        }
    });
}

/// At most one line per origin per `FillLog::INTERVAL`, with how many were
/// left out. Hand-written: `tracing` has no rate limiter, and two atomics
/// are less than a crate (and a lock) on the fill path.
#[derive(Debug)]
pub struct FillLog {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last line; `u64::MAX`: none yet.
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl Default for FillLog {
    fn default() -> FillLog {
        FillLog {
            epoch: Instant::now(),
            last_ms: AtomicU64::new(u64::MAX),
            suppressed: AtomicU64::new(0),
        }
    }
}

impl FillLog {
    const INTERVAL: Duration = Duration::from_secs(10);

    pub fn error(&self, bucket: &str, key: &str, status: u16, code: &str) {
        let now = self.epoch.elapsed().as_millis() as u64;
        let last = self.last_ms.load(Ordering::Relaxed);
        let due = last == u64::MAX || now.saturating_sub(last) >= Self::INTERVAL.as_millis() as u64;
        if !due
            || self
                .last_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        tracing::error!(
            bucket,
            key,
            status,
            code,
            suppressed,
            "S3 error while filling (at most one line per origin per 10 s; `suppressed`: left out since the last)"
        );
    }
}
