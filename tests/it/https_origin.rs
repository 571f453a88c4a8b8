//! HTTPS origins: the edge fills over rustls from an in-process TLS origin
//! (a rustls server whose certificate a test CA issued for `localhost`),
//! trusting it through `ca_file`, sending SNI from the URL host and
//! choosing h2 or HTTP/1.1 by ALPN; an untrusted origin is a 502.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::support::TestEdge;
use crate::support::tls::TestCa;

const BODY: &str = "an object served over TLS\n";

/// (SNI, negotiated ALPN) of one accepted connection.
type Seen = (Option<String>, Option<Vec<u8>>);

/// A TLS origin offering `alpn`; records each connection's SNI and ALPN.
struct TlsOrigin {
    port: u16,
    requests: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl TlsOrigin {
    async fn start(ca: &TestCa, alpn: &[&str]) -> TlsOrigin {
        let (cert, key, _) = ca.issue("origin", &["localhost"]);
        let certs = CertificateDer::pem_file_iter(&cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(&key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let origin = TlsOrigin {
            port: listener.local_addr().unwrap().port(),
            requests: Arc::default(),
            seen: Arc::default(),
        };
        let (requests, seen) = (origin.requests.clone(), origin.seen.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(tls) = acceptor.accept(tcp).await else { continue };
                let conn = tls.get_ref().1;
                let sni = conn.server_name().map(str::to_string);
                seen.lock()
                    .unwrap()
                    .push((sni, conn.alpn_protocol().map(<[u8]>::to_vec)));
                let requests = requests.clone();
                let service = service_fn(move |_req| {
                    requests.fetch_add(1, Ordering::SeqCst);
                    let response = http::Response::builder()
                        .header("cache-control", "max-age=60")
                        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                        .unwrap();
                    async move { Ok::<_, Infallible>(response) }
                });
                tokio::spawn(async move {
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                });
            }
        });
        origin
    }

    fn config_text(&self, ca_file: Option<&str>) -> String {
        let ca = ca_file.map_or(String::new(), |f| format!("ca_file = {f:?}"));
        format!(
            "[server]\nname = \"edge-test\"\n\n[origins.app]\nkind = \"http\"\nurl = \"https://localhost:{}\"\n{ca}\n\n[[routes]]\npath = \"/\"\norigin = \"app\"\n",
            self.port
        )
    }

    /// The edge on this origin; `localhost` resolves to 127.0.0.1 without DNS.
    async fn edge(&self, ca_file: Option<&str>) -> TestEdge {
        let text = self.config_text(ca_file);
        let mut config = cachefront::config::Config::parse(&text, std::path::Path::new(".")).unwrap();
        for origin in config.origins.values_mut() {
            if let cachefront::config::OriginKind::Http(h) = &mut origin.kind {
                h.resolver = Some(cachefront::origin::Resolver::new(|host| {
                    assert_eq!(host, "localhost");
                    Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))])
                }));
            }
        }
        TestEdge::start_config(config, Default::default()).await
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn fill_then_hit(alpn: &[&str]) -> TlsOrigin {
    let ca = TestCa::new();
    let origin = TlsOrigin::start(&ca, alpn).await;
    let edge = origin.edge(Some(&ca.ca_file())).await;
    let miss = edge.get("/obj").await;
    assert_eq!(miss.status, 200, "{:?}", miss.body);
    assert_eq!(miss.body, BODY.as_bytes());
    assert!(miss.x_cache().starts_with("Miss"), "{}", miss.x_cache());
    let hit = edge.get("/obj").await;
    assert_eq!(hit.status, 200);
    assert_eq!(hit.body, BODY.as_bytes());
    assert!(hit.x_cache().starts_with("Hit"), "{}", hit.x_cache());
    assert_eq!(origin.requests.load(Ordering::SeqCst), 1);
    origin
}

#[tokio::test]
async fn a_miss_is_filled_over_tls_with_sni_and_h2_by_alpn() {
    let origin = fill_then_hit(&["h2"]).await;
    assert_eq!(
        origin.seen(),
        vec![(Some("localhost".to_string()), Some(b"h2".to_vec()))]
    );
}

#[tokio::test]
async fn http1_is_chosen_when_the_origin_offers_only_http1() {
    let origin = fill_then_hit(&["http/1.1"]).await;
    assert_eq!(
        origin.seen(),
        vec![(Some("localhost".to_string()), Some(b"http/1.1".to_vec()))]
    );
}

#[tokio::test]
async fn an_untrusted_origin_is_a_502_and_nothing_is_cached() {
    let ca = TestCa::new();
    let origin = TlsOrigin::start(&ca, &["h2", "http/1.1"]).await;
    let edge = origin.edge(None).await;
    for _ in 0..2 {
        let r = edge.get("/obj").await;
        assert_eq!(r.status, 502);
        assert!(!r.x_cache().starts_with("Hit"), "{}", r.x_cache());
        assert_ne!(r.body, BODY.as_bytes());
    }
    assert_eq!(origin.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_missing_ca_file_is_a_config_error_with_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "[server]\nname = \"e\"\n\n[origins.app]\nkind = \"http\"\nurl = \"https://localhost:8443\"\nca_file = \"no-such-ca.pem\"\n\n[[routes]]\npath = \"/\"\norigin = \"app\"\n";
    let err = cachefront::config::Config::parse(text, dir.path())
        .expect_err("a config error")
        .to_string();
    assert!(err.contains("origins.app.ca_file"), "{err}");
    assert!(err.contains("line 7"), "{err}");
    assert!(err.contains("no-such-ca.pem"), "{err}");
}
