//! Warm-up from Django's manifest: fetch `staticfiles.json` through the
//! route, then GET every hashed path it lists, a bounded number at a time,
//! so a new node takes traffic with a hot cache.
//!
//! Requests go through the edge itself (in-process at start-up and for
//! `POST /warm`, or over HTTP for `cachefront warm --url`), so each object
//! is filled exactly as a client's miss would fill it: compressed variants,
//! rendered headers, the route's policy. Warming stops starting new fetches
//! once the bytes fetched reach `capacity` (more would only evict what was
//! just warmed). Failures are listed, never fatal.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::client_addr::{ClientAddr, Scheme};
use crate::reload::Site;

/// What a browser percent-encodes in a path segment (manifest entries,
/// example URLs).
pub const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Where warm-up requests go.
#[derive(Clone)]
pub enum Target {
    /// This node's own edge service.
    Site(Arc<ArcSwap<Site>>),
    /// A running node, e.g. `http://127.0.0.1:8080`.
    Url(String),
}

/// How progress is shown.
pub enum Progress {
    /// A progress bar (the CLI on a terminal).
    Bar,
    /// A line every tenth of the way (logs, pipes).
    Lines,
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Objects fetched (filled or already cached).
    pub objects: usize,
    pub bytes: u64,
    /// Paths that failed, with why.
    pub failures: Vec<(String, String)>,
    /// Listed paths not fetched because `capacity` was reached.
    pub skipped: usize,
    pub seconds: f64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warmed {} objects, {} bytes, {} failures, {} skipped (capacity), {:.2}s",
            self.objects,
            self.bytes,
            self.failures.len(),
            self.skipped,
            self.seconds
        )?;
        for (path, why) in &self.failures {
            write!(f, "\n  failed {path}: {why}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WarmError {
    #[error("manifest {path}: {reason}")]
    Manifest { path: String, reason: String },
}

/// The hashed paths a manifest lists, as URL paths under its directory.
pub fn manifest_paths(manifest_path: &str, json: &[u8]) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
    let paths = v
        .get("paths")
        .and_then(|p| p.as_object())
        .ok_or("no \"paths\" object (not a ManifestStaticFilesStorage manifest)")?;
    let base = &manifest_path[..manifest_path.rfind('/').map_or(0, |i| i + 1)];
    let mut out: Vec<String> = paths
        .values()
        .filter_map(|h| h.as_str())
        .map(|h| {
            let encoded: Vec<String> = h
                .split('/')
                .map(|s| utf8_percent_encode(s, PATH_SEGMENT).to_string())
                .collect();
            format!("{base}{}", encoded.join("/"))
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

impl Target {
    async fn get(&self, path: &str) -> Result<Bytes, String> {
        let (status, body) = match self {
            Target::Site(site) => {
                let req = Request::get(path)
                    .body(Empty::<Bytes>::new())
                    .map_err(|e| e.to_string())?;
                let client = ClientAddr {
                    ip: std::net::Ipv6Addr::LOCALHOST.into(),
                    scheme: Scheme::Http,
                };
                let resp = site.load_full().edge.clone().handle(req, client).await;
                let status = resp.status();
                let body = resp.into_body().collect().await.map_err(|e| e.to_string())?;
                (status, body.to_bytes())
            }
            Target::Url(base) => {
                let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<Empty<Bytes>>();
                let uri: http::Uri = format!("{}{path}", base.trim_end_matches('/'))
                    .parse()
                    .map_err(|e: http::uri::InvalidUri| e.to_string())?;
                let resp = client.get(uri).await.map_err(|e| e.to_string())?;
                let status = resp.status();
                let body = resp.into_body().collect().await.map_err(|e| e.to_string())?;
                (status, body.to_bytes())
            }
        };
        if status != StatusCode::OK {
            return Err(format!("status {}", status.as_u16()));
        }
        Ok(body)
    }
}

/// Warms every hashed path of the manifest at `manifest_path`.
pub async fn warm(
    target: &Target,
    manifest_path: &str,
    concurrency: usize,
    capacity: u64,
    progress: Progress,
) -> Result<Summary, WarmError> {
    let start = Instant::now();
    let manifest_err = |reason: String| WarmError::Manifest {
        path: manifest_path.to_string(),
        reason,
    };
    let json = target.get(manifest_path).await.map_err(manifest_err)?;
    let paths = manifest_paths(manifest_path, &json).map_err(manifest_err)?;
    let total = paths.len();
    let bar = match progress {
        Progress::Bar => {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} objects, {msg} ({elapsed})")
                    .expect("static template"),
            );
            Some(bar)
        }
        Progress::Lines => None,
    };
    let bytes = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let step = (total / 10).max(1) as u64;
    let results: Vec<Option<(String, Result<u64, String>)>> = futures_util::stream::iter(paths)
        .map(|path| {
            let (bytes, done, bar) = (&bytes, &done, &bar);
            async move {
                if bytes.load(Ordering::Relaxed) >= capacity {
                    return None;
                }
                let r = target.get(&path).await.map(|b| b.len() as u64);
                let so_far = bytes.fetch_add(*r.as_ref().unwrap_or(&0), Ordering::Relaxed) + r.as_ref().unwrap_or(&0);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                match bar {
                    Some(bar) => {
                        bar.set_position(n);
                        bar.set_message(format!("{so_far} bytes"));
                    }
                    None if n % step == 0 || n == total as u64 => {
                        tracing::info!(done = n, total, bytes = so_far, "warming");
                    }
                    None => {}
                }
                Some((path, r))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    if let Some(bar) = bar {
        bar.finish();
    }
    let mut summary = Summary::default();
    for r in results {
        match r {
            None => summary.skipped += 1,
            Some((_, Ok(len))) => {
                summary.objects += 1;
                summary.bytes += len;
            }
            Some((path, Err(why))) => summary.failures.push((path, why)),
        }
    }
    summary.failures.sort();
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// The default concurrency: enough to overlap origin latency, few enough
/// not to flood it.
pub const DEFAULT_CONCURRENCY: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_are_under_the_manifests_directory() {
        let json = br#"{"paths": {"css/site.css": "css/site.a7408308e012.css", "a b.txt": "a b.0123456789ab.txt"}, "version": "1.1"}"#;
        assert_eq!(
            manifest_paths("/static/staticfiles.json", json).unwrap(),
            vec!["/static/a%20b.0123456789ab.txt", "/static/css/site.a7408308e012.css"]
        );
        assert!(manifest_paths("/static/staticfiles.json", b"[]").is_err());
    }
}
