//! Validation of `[server]` into `ServerConfig`: the listeners, the TLS
//! certificates, whose forwarded headers are believed, the PROXY protocol,
//! the drain after a shutdown signal and client limits (the keys for
//! watching a node are checked in `watch`).
//!
//! Certificate files are checked to exist here; their PEM is parsed when the
//! TLS listener is built (`tls::acceptor_config`), which `check`, start-up and
//! every reload do, so a bad key is reported the same way each time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::raw::{RawCert, RawServer};
use super::validate::Checker;
use super::{CertPaths, ClientLimits, ServerConfig, SniCert, TlsConfig};

const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
const DEFAULT_ADMIN: &str = "127.0.0.1:9091";
const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);
const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Every `[server]` key, validated; `None` when `listen` is unusable (an
/// error says why).
pub(super) fn server_config(c: &mut Checker<'_>, raw: &RawServer, base_dir: &Path) -> Option<ServerConfig> {
    let listen = c.addr("server.listen", &raw.listen, DEFAULT_LISTEN);
    let admin_listen = match &raw.admin_listen {
        Some(s) if s.get_ref().is_empty() || s.get_ref() == "off" => None,
        other => c.addr("server.admin_listen", other, DEFAULT_ADMIN),
    };
    let name = match &raw.name {
        None => "cachefront".to_string(),
        Some(n) => {
            let ok = !n.get_ref().is_empty()
                && n.get_ref()
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !ok {
                c.err::<()>(
                    "server.name",
                    "must be non-empty letters, digits, '-', '_' or '.'",
                    n.span(),
                );
            }
            n.get_ref().clone()
        }
    };
    let tls_listen = raw
        .tls_listen
        .as_ref()
        .and_then(|_| c.addr("server.tls_listen", &raw.tls_listen, ""));
    let tls = tls_config(c, raw, base_dir);
    if let (Some(_), None) = (&raw.tls_listen, &tls) {
        let span = raw.tls_listen.as_ref().expect("set").span();
        if raw.tls_cert.is_none() || raw.tls_key.is_none() {
            c.err::<()>("server.tls_listen", "needs `tls_cert` and `tls_key`", span);
        }
    }
    if raw.tls_listen.is_none() {
        for (key, span) in [
            ("server.tls_cert", raw.tls_cert.as_ref().map(Spanned::span)),
            ("server.tls_key", raw.tls_key.as_ref().map(Spanned::span)),
        ] {
            if let Some(span) = span {
                c.err::<()>(
                    key,
                    "set `tls_listen` too: certificates serve only the TLS listener",
                    span,
                );
            }
        }
    }
    let trusted_proxies = raw
        .trusted_proxies
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, s)| cidr(c, &format!("server.trusted_proxies[{i}]"), s))
        .collect();
    let drain_delay = c.duration("server.drain_delay", &raw.drain_delay, DEFAULT_DRAIN_DELAY);
    let drain_timeout = c.duration("server.drain_timeout", &raw.drain_timeout, DEFAULT_DRAIN_TIMEOUT);
    let limits = limits(c, raw);
    let access_log = super::watch::access_log(c, raw, base_dir);
    let access_log_buffer = super::watch::access_log_buffer(c, raw);
    let admin_key_id = super::watch::admin_key_id(c, raw);
    let admin_timeout = super::admin::admin_timeout(c, raw);
    let admin_regions = super::admin::admin_regions(c, raw);
    let log_format = super::watch::log_format(c, raw);
    let workers = match &raw.workers {
        None => None,
        Some(w) if (1..=1024).contains(w.get_ref()) => Some(*w.get_ref() as usize),
        Some(w) => c.err("server.workers", "must be between 1 and 1024", w.span()),
    };
    Some(ServerConfig {
        listen: listen?,
        admin_listen,
        name,
        workers,
        tls_listen,
        tls,
        trusted_proxies,
        proxy_protocol: raw.proxy_protocol.unwrap_or(false),
        tls_proxy_protocol: raw.tls_proxy_protocol.unwrap_or(false),
        drain_delay,
        drain_timeout,
        access_log,
        access_log_buffer,
        admin_key_id,
        admin_timeout,
        admin_regions,
        log_format,
        admin_token: None,
        limits,
        cloudfront_compat: raw.cloudfront_compat.unwrap_or(false),
        hostnames: hostnames(c, "server.hostnames", raw.hostnames.as_ref()),
        ready_when_origins_ok: raw.ready_when_origins_ok.unwrap_or(false),
    })
}

/// `hostnames = ["cdn.example.com", ...]`: each `host[:port]` (RFC 3986),
/// at least one when the key is written.
pub(super) fn hostnames(
    c: &mut Checker<'_>,
    key: &str,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Vec<crate::host::Hostname> {
    let Some(list) = raw else {
        return Vec::new();
    };
    if list.get_ref().is_empty() {
        c.err::<()>(key, "must name at least one host (or be left out)", list.span());
    }
    let mut names = Vec::new();
    for (i, name) in list.get_ref().iter().enumerate() {
        match crate::host::Hostname::parse(name.get_ref()) {
            Some(n) => names.push(n),
            None => {
                c.err::<()>(
                    &format!("{key}[{i}]"),
                    format!("{:?} is not host[:port]; use e.g. \"cdn.example.com\"", name.get_ref()),
                    name.span(),
                );
            }
        }
    }
    names
}

fn limits(c: &mut Checker<'_>, raw: &RawServer) -> ClientLimits {
    let d = ClientLimits::default();
    let positive = |c: &mut Checker<'_>, key: &str, v: &Option<Spanned<String>>, default: Duration| {
        let value = c.duration(key, v, default);
        if value.is_zero() {
            let span = v.as_ref().expect("a zero is written").span();
            c.err::<()>(key, "must be more than 0s", span);
        }
        value
    };
    let header_read_timeout = positive(
        c,
        "server.header_read_timeout",
        &raw.header_read_timeout,
        d.header_read_timeout,
    );
    let keepalive_timeout = positive(
        c,
        "server.keepalive_timeout",
        &raw.keepalive_timeout,
        d.keepalive_timeout,
    );
    let send_timeout = positive(c, "server.send_timeout", &raw.send_timeout, d.send_timeout);
    let max_connections = match &raw.max_connections {
        None => d.max_connections,
        Some(n) if (1..=1 << 24).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => c
            .err("server.max_connections", "must be between 1 and 16777216", n.span())
            .unwrap_or(d.max_connections),
    };
    ClientLimits {
        header_read_timeout,
        keepalive_timeout,
        max_connections,
        send_timeout,
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
fn cidr(c: &mut Checker<'_>, key: &str, s: &Spanned<String>) -> Option<ipnet::IpNet> {
    let text = s.get_ref().trim();
    let parsed = text
        .parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
    match parsed {
        Ok(net) => Some(net.trunc()),
        Err(_) => c.err(
            key,
            format!("invalid CIDR {text:?}; use e.g. \"10.0.0.0/8\" or \"192.0.2.7\""),
            s.span(),
        ),
    }
}

fn tls_config(c: &mut Checker<'_>, raw: &RawServer, base_dir: &Path) -> Option<TlsConfig> {
    let cert = file(c, "server.tls_cert", raw.tls_cert.as_ref(), base_dir);
    let key = file(c, "server.tls_key", raw.tls_key.as_ref(), base_dir);
    let mut sni: Vec<SniCert> = Vec::new();
    for (i, entry) in raw.certs.iter().flatten().enumerate() {
        if let Some(s) = sni_cert(c, i, entry, base_dir) {
            for name in &s.names {
                if sni.iter().any(|other| other.names.contains(name)) {
                    c.err::<()>(
                        &format!("server.certs[{i}].names"),
                        format!("{name:?} is already named by another certificate"),
                        entry.span(),
                    );
                }
            }
            sni.push(s);
        }
    }
    if let (Some(certs), None) = (&raw.certs, &raw.tls_cert)
        && let Some(first) = certs.first()
    {
        c.err::<()>(
            "server.certs",
            "needs a default `tls_cert` and `tls_key` for clients that send no known name",
            first.span(),
        );
    }
    Some(TlsConfig {
        default: CertPaths { cert: cert?, key: key? },
        sni,
    })
}

fn sni_cert(c: &mut Checker<'_>, i: usize, entry: &Spanned<RawCert>, base_dir: &Path) -> Option<SniCert> {
    let raw = entry.get_ref();
    let key = |field: &str| format!("server.certs[{i}].{field}");
    let mut names = Vec::new();
    for n in &raw.names {
        let name = n.get_ref().trim().to_ascii_lowercase();
        let labels = name.strip_prefix("*.").unwrap_or(&name);
        let ok = !labels.is_empty()
            && labels
                .split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if ok {
            names.push(name);
        } else {
            c.err::<()>(
                &key("names"),
                format!("{:?} is not a host name (or \"*.\" and one)", n.get_ref()),
                n.span(),
            );
        }
    }
    if raw.names.is_empty() {
        c.err::<()>(&key("names"), "must name at least one host", entry.span());
    }
    let cert = file(c, &key("cert"), Some(&raw.cert), base_dir);
    let pkey = file(c, &key("key"), Some(&raw.key), base_dir);
    Some(SniCert {
        names,
        paths: CertPaths {
            cert: cert?,
            key: pkey?,
        },
    })
}

/// A path relative to the config file's directory, that must be a file.
fn file(c: &mut Checker<'_>, key: &str, v: Option<&Spanned<String>>, base_dir: &Path) -> Option<PathBuf> {
    let s = v?;
    let path = base_dir.join(s.get_ref());
    if !path.is_file() {
        return c.err(key, format!("no such file: {}", path.display()), s.span());
    }
    // Readable by this user, as `serve` will need it at start.
    match std::fs::File::open(&path) {
        Ok(_) => Some(path),
        Err(e) => c.err(key, format!("cannot read {}: {e}", path.display()), s.span()),
    }
}
