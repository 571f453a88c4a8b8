//! TLS for tests: a CA made inside the test (rcgen) that issues server
//! certificates into a temp directory, and clients that speak HTTP/1.1 or
//! h2 over one connection (TLS or plain) so a test can keep it open.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::client::Reply;

pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    pub dir: tempfile::TempDir,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "cachefront test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Issues a certificate for `names` (host names or IP addresses) into
    /// `<file>.pem` / `<file>.key`; returns the paths and the leaf's DER.
    pub fn issue(&self, file: &str, names: &[&str]) -> (String, String, CertificateDer<'static>) {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_path = self.dir.path().join(format!("{file}.pem"));
        let key_path = self.dir.path().join(format!("{file}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let s = |p: std::path::PathBuf| p.display().to_string();
        (s(cert_path), s(key_path), cert.der().clone())
    }

    /// Writes this CA's certificate (PEM) into the temp dir, for `ca_file`.
    pub fn ca_file(&self) -> String {
        let path = self.dir.path().join("ca.pem");
        std::fs::write(&path, self.issuer.pem()).unwrap();
        path.display().to_string()
    }

    /// A client trusting only this CA, limited to `versions`, offering `alpn`.
    pub fn client(&self, versions: &[&'static rustls::SupportedProtocolVersion], alpn: &[&str]) -> TlsClient {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|a| a.as_bytes().to_vec()).collect();
        TlsClient {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }
}

pub struct TlsClient {
    connector: tokio_rustls::TlsConnector,
}

/// What the handshake settled.
pub struct Handshake {
    pub version: rustls::ProtocolVersion,
    pub alpn: Option<Vec<u8>>,
    pub leaf: CertificateDer<'static>,
}

impl TlsClient {
    /// Connects with SNI `name` (an IP address sends none) and starts
    /// HTTP/2 if ALPN chose it, else HTTP/1.1.
    pub async fn connect(&self, addr: SocketAddr, name: &str) -> Result<(Handshake, Conn), std::io::Error> {
        let tcp = TcpStream::connect(addr).await?;
        let server_name = ServerName::try_from(name.to_string()).unwrap();
        let tls = tokio::time::timeout(Duration::from_secs(10), self.connector.connect(server_name, tcp))
            .await
            .expect("handshake within 10 s")?;
        let (_, session) = tls.get_ref();
        let handshake = Handshake {
            version: session.protocol_version().unwrap(),
            alpn: session.alpn_protocol().map(<[u8]>::to_vec),
            leaf: session.peer_certificates().unwrap()[0].clone(),
        };
        let conn = if handshake.alpn.as_deref() == Some(b"h2") {
            Conn::h2(tls).await
        } else {
            Conn::h1(tls).await
        };
        Ok((handshake, conn))
    }
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

/// One client connection, kept open across requests.
pub struct Conn {
    sender: Sender,
    /// Ends when the connection closes.
    pub task: JoinHandle<()>,
}

impl Conn {
    pub async fn h1<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: I) -> Conn {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.unwrap();
        Conn {
            sender: Sender::H1(sender),
            task: tokio::spawn(async move {
                let _ = conn.await;
            }),
        }
    }

    pub async fn h2<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(io: I) -> Conn {
        let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(io))
            .await
            .unwrap();
        Conn {
            sender: Sender::H2(sender),
            task: tokio::spawn(async move {
                let _ = conn.await;
            }),
        }
    }

    /// Plain TCP: HTTP/1.1, or h2c by prior knowledge.
    pub async fn plain(addr: SocketAddr, h2: bool) -> Conn {
        let tcp = TcpStream::connect(addr).await.unwrap();
        if h2 { Conn::h2(tcp).await } else { Conn::h1(tcp).await }
    }

    /// A GET on this connection; an error if the connection cannot carry it.
    pub async fn try_get(&mut self, path: &str) -> Result<(Version, Reply), hyper::Error> {
        let fut = async {
            let resp = match &mut self.sender {
                Sender::H1(s) => {
                    s.ready().await?;
                    let req = Request::get(path)
                        .header("host", "edge.test")
                        .body(Empty::new())
                        .unwrap();
                    s.send_request(req).await?
                }
                Sender::H2(s) => {
                    s.ready().await?;
                    let req = Request::get(format!("https://edge.test{path}"))
                        .version(Version::HTTP_2)
                        .body(Empty::new())
                        .unwrap();
                    s.send_request(req).await?
                }
            };
            let version = resp.version();
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok((
                version,
                Reply {
                    status: parts.status,
                    headers: parts.headers,
                    body,
                },
            ))
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("reply within 20 s")
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.try_get(path).await.expect("request on the open connection").1
    }
}
