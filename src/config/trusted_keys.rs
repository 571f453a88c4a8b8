//! `[trusted_keys]`: CloudFront public key ids and their PEM files, read
//! and parsed at load time so a bad key is a config error, not a 403.
//! A key is what CloudFront key groups take: RSA (2048) or ECDSA P-256.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::validate::Checker;
use crate::signed::{PublicKey, TrustedKeys};

pub(super) fn trusted_keys(
    c: &mut Checker<'_>,
    raw: Option<&BTreeMap<String, Spanned<String>>>,
    base_dir: &Path,
) -> TrustedKeys {
    let mut keys = BTreeMap::new();
    for (id, file) in raw.into_iter().flatten() {
        let key = format!("trusted_keys.{id}");
        let path = base_dir.join(file.get_ref());
        let pem = match std::fs::read_to_string(&path) {
            Ok(p) => p,
            Err(e) => {
                c.err::<()>(&key, format!("cannot read {}: {e}", path.display()), file.span());
                continue;
            }
        };
        // CloudFront takes SPKI ("PUBLIC KEY"); PKCS#1 ("RSA PUBLIC KEY") too.
        match PublicKey::from_pem(&pem) {
            Some(k) => {
                tracing::debug!(key_pair_id = %id, kind = k.kind(), "trusted key");
                keys.insert(id.clone(), k);
            }
            None => {
                c.err::<()>(
                    &key,
                    format!(
                        "{} is neither an RSA nor an EC P-256 public key PEM (CloudFront takes RSA 2048 and ECDSA P-256 keys)",
                        path.display()
                    ),
                    file.span(),
                );
            }
        }
    }
    TrustedKeys { keys }
}
