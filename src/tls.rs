//! The TLS listener's rustls configuration: TLS 1.2 and 1.3 only, AEAD
//! cipher suites with forward secrecy only, ALPN `h2` then `http/1.1`, and
//! a certificate chosen by SNI with a default for every other name.
//!
//! The configuration is rebuilt on reload and swapped (`arc_swap`), so new
//! handshakes use the new certificates while open connections carry on.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use thiserror::Error;

use crate::config::{CertPaths, TlsConfig};

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File {
        path: String,
        message: String,
        /// The private key's file (else a certificate chain's).
        key_file: bool,
    },
    #[error("{cert} and {key}: {source}")]
    Mismatch {
        cert: String,
        key: String,
        source: rustls::Error,
    },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

impl TlsError {
    /// The config key naming the file this error is about, so `check`
    /// reports an unreadable key file under `tls_key`, not `tls_cert`.
    pub fn config_key(&self, tls: &TlsConfig) -> &'static str {
        let TlsError::File { path, key_file, .. } = self else {
            return "server.tls_cert";
        };
        let default = if *key_file { &tls.default.key } else { &tls.default.cert };
        match (default.display().to_string() == *path, key_file) {
            (true, true) => "server.tls_key",
            (true, false) => "server.tls_cert",
            (false, _) => "server.certs",
        }
    }
}

/// The suites offered (rustls implements no CBC, RC4 or static-RSA suites;
/// this list is explicit so that a rustls default cannot widen it silently).
fn provider() -> CryptoProvider {
    use ring::cipher_suite::*;
    CryptoProvider {
        cipher_suites: vec![
            TLS13_AES_128_GCM_SHA256,
            TLS13_AES_256_GCM_SHA384,
            TLS13_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..ring::default_provider()
    }
}

/// Reads every certificate and key and builds the server configuration.
pub fn acceptor_config(tls: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(provider());
    let mut resolver = CertResolver {
        default: load(&tls.default, &provider)?,
        exact: HashMap::new(),
        wildcard: HashMap::new(),
    };
    for sni in &tls.sni {
        let key = load(&sni.paths, &provider)?;
        for name in &sni.names {
            match name.strip_prefix("*.") {
                Some(parent) => resolver.wildcard.insert(parent.to_string(), key.clone()),
                None => resolver.exact.insert(name.clone(), key.clone()),
            };
        }
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn load(paths: &CertPaths, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, TlsError> {
    let file_error = |key_file: bool, message: String| TlsError::File {
        path: if key_file { &paths.key } else { &paths.cert }.display().to_string(),
        message,
        key_file,
    };
    let certs = CertificateDer::pem_file_iter(&paths.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(false, format!("cannot read certificates: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(false, "no PEM certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&paths.key)
        .map_err(|e| file_error(true, format!("cannot read a private key: {e}")))?;
    CertifiedKey::from_der(certs, key, provider)
        .map(Arc::new)
        .map_err(|source| TlsError::Mismatch {
            cert: paths.cert.display().to_string(),
            key: paths.key.display().to_string(),
            source,
        })
}

/// Exact names first, then `*.parent` for one more label, then the default.
#[derive(Debug)]
struct CertResolver {
    default: Arc<CertifiedKey>,
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// Keyed by the parent domain (`example.com` for `*.example.com`).
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // rustls hands the SNI name over lower-cased and without a trailing dot.
        let Some(name) = hello.server_name() else {
            return Some(self.default.clone());
        };
        if let Some(key) = self.exact.get(name) {
            return Some(key.clone());
        }
        if let Some((_, parent)) = name.split_once('.')
            && let Some(key) = self.wildcard.get(parent)
        {
            return Some(key.clone());
        }
        Some(self.default.clone())
    }
}
