//! The embedded S3-compatible dev origin: s3s-fs over a directory of buckets
//! (`root/<bucket>/<key>`), with the fixed dev credentials of `config`.
//!
//! It runs in-process on a loopback port when a route's S3 origin sets
//! `dev_root`, and alone as `cachefront dev-origin`, where django-storages
//! can `collectstatic` into it. s3s-fs only knows a Content-Type that was
//! given at upload time (its metadata sidecars); for files copied into the
//! directory by hand it answers none, so we guess one from the extension.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use http::header::{self, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use percent_encoding::percent_decode_str;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;

use crate::config::{DEV_ACCESS_KEY, DEV_SECRET_KEY};

/// An S3 API over a directory of buckets.
#[derive(Clone)]
pub struct DevOrigin {
    service: S3Service,
}

impl DevOrigin {
    pub fn new(root: &Path) -> Result<DevOrigin, std::io::Error> {
        let fs =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{}: {e:?}", root.display())))?;
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(DEV_ACCESS_KEY, DEV_SECRET_KEY));
        Ok(DevOrigin {
            service: builder.build(),
        })
    }

    pub async fn call(&self, req: Request<Incoming>) -> Result<Response<s3s::Body>, s3s::HttpError> {
        let guess = matches!(*req.method(), Method::GET | Method::HEAD).then(|| guess_content_type(req.uri().path()));
        let conditions = (*req.method() == Method::GET).then(|| req.headers().clone());
        let mut resp = self.service.call(req.map(s3s::Body::from)).await?;
        // s3s-fs ignores conditional GETs; S3 answers them with 304.
        if let Some(conditions) = conditions
            && resp.status() == StatusCode::OK
            && not_modified(&conditions, resp.headers())
        {
            let mut nm = Response::new(s3s::Body::empty());
            *nm.status_mut() = StatusCode::NOT_MODIFIED;
            for name in [header::ETAG, header::LAST_MODIFIED] {
                if let Some(v) = resp.headers().get(&name) {
                    nm.headers_mut().insert(name, v.clone());
                }
            }
            return Ok(nm);
        }
        if let Some(Some(ct)) = guess
            && resp.status().is_success()
            && !resp.headers().contains_key(CONTENT_TYPE)
        {
            resp.headers_mut().insert(CONTENT_TYPE, ct);
        }
        Ok(resp)
    }
}

/// RFC 9110 §13.2.2 steps 3-4 for a GET (If-None-Match, else
/// If-Modified-Since).
fn not_modified(request: &http::HeaderMap, response: &http::HeaderMap) -> bool {
    use headers::HeaderMapExt;
    if request.contains_key(header::IF_NONE_MATCH) {
        return match (
            request.typed_get::<headers::IfNoneMatch>(),
            response.typed_get::<headers::ETag>(),
        ) {
            (Some(inm), Some(etag)) => !inm.precondition_passes(&etag),
            _ => false,
        };
    }
    match (
        request.typed_get::<headers::IfModifiedSince>(),
        response.typed_get::<headers::LastModified>(),
    ) {
        (Some(ims), Some(lm)) => !ims.is_modified(lm.into()),
        _ => false,
    }
}

fn guess_content_type(path: &str) -> Option<HeaderValue> {
    let name = path.rsplit('/').next()?;
    let name = percent_decode_str(name).decode_utf8().ok()?;
    let mime = mime_guess::from_path(name.as_ref()).first()?;
    let text_like = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json" | "xml" | "svg");
    let value = if text_like && mime.get_param("charset").is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value).ok()
}

/// Serves the dev origin on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, origin: DevOrigin, shutdown: impl Future<Output = ()>) {
    let origin = Arc::new(origin);
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "dev origin: accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let origin = origin.clone();
        let svc = hyper::service::service_fn(move |req| {
            let origin = origin.clone();
            async move { origin.call(req).await }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

/// An embedded dev origin, listening while this handle lives: the origin
/// that uses it owns it, so a reload that replaces that origin (another
/// `dev_root`, say) stops the old listener instead of leaking it.
#[derive(Debug)]
pub struct Embedded {
    endpoint: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    served: Option<tokio::task::JoinHandle<()>>,
}

impl Embedded {
    /// Its endpoint URL (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Drops the handle and waits until the listener is closed.
    pub async fn stop(mut self) {
        let served = self.served.take();
        drop(self);
        if let Some(served) = served {
            let _ = served.await;
        }
    }
}

/// Starts the dev origin on an ephemeral loopback port, until the returned
/// handle is dropped (connections already open finish on their own).
pub async fn spawn_embedded(root: &Path) -> Result<Embedded, std::io::Error> {
    let origin = DevOrigin::new(root)?;
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The sender never sends: its drop ends the wait.
    let served = tokio::spawn(serve(listener, origin, async move {
        let _ = stopped.await;
    }));
    Ok(Embedded {
        endpoint: format!("http://{addr}"),
        _stop: stop,
        served: Some(served),
    })
}

#[cfg(test)]
mod tests {
    use super::spawn_embedded;

    #[tokio::test]
    async fn the_listener_closes_with_its_handle() {
        let dir = tempfile::tempdir().unwrap();
        let embedded = spawn_embedded(dir.path()).await.unwrap();
        let addr = embedded.endpoint().trim_start_matches("http://").to_string();
        tokio::net::TcpStream::connect(&addr).await.expect("listening");
        // Bounded: a listener that outlives its handle would never stop.
        tokio::time::timeout(std::time::Duration::from_secs(5), embedded.stop())
            .await
            .expect("the listener stops with its handle");
        let refused = tokio::net::TcpStream::connect(&addr).await;
        assert!(refused.is_err(), "still listening after its handle was dropped");
    }
}
