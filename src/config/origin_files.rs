//! Checks of an origin's numbers and files that `validate::origin_config`
//! calls: its share of the node's fills, and the CA file of an https origin.

use std::path::Path;

use toml::Spanned;

use super::validate::Checker;

/// `origins.X.max_fills`: by default half the node's, so one slow origin
/// leaves the rest to the others; never above the node's.
pub(super) fn origin_max_fills(c: &mut Checker<'_>, key: &str, v: Option<&Spanned<i64>>, node_fills: usize) -> usize {
    match v {
        None => node_fills.div_ceil(2),
        Some(n) if (1..=node_fills as i64).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => c
            .err(
                key,
                format!("must be between 1 and {node_fills} (cache.max_fills)"),
                n.span(),
            )
            .unwrap_or(1),
    }
}

/// `ca_file`: PEM certificates (relative to the config file) an https
/// origin is trusted by, besides the system roots. Read here so a missing
/// or empty file is a config error, not a 502 at the first fill.
pub(super) fn ca_certs(
    c: &mut Checker<'_>,
    key: &str,
    file: &Spanned<String>,
    base_dir: &Path,
) -> Option<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let path = base_dir.join(file.get_ref());
    if !path.is_file() {
        return c.err(key, format!("no such file: {}", path.display()), file.span());
    }
    match CertificateDer::pem_file_iter(&path).and_then(|it| it.collect::<Result<Vec<_>, _>>()) {
        Ok(certs) if !certs.is_empty() => Some(certs),
        Ok(_) => c.err(key, format!("no PEM certificate in {}", path.display()), file.span()),
        Err(e) => c.err(key, format!("cannot read {}: {e}", path.display()), file.span()),
    }
}
