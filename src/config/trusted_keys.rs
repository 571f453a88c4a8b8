//! `[trusted_keys]`: CloudFront public key ids and their PEM files, read
//! and parsed at load time so a bad key is a config error, not a 403.

use std::collections::BTreeMap;
use std::path::Path;

use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use toml::Spanned;

use super::validate::Checker;
use crate::signed::TrustedKeys;

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
        match RsaPublicKey::from_public_key_pem(&pem).or_else(|_| RsaPublicKey::from_pkcs1_pem(&pem)) {
            Ok(k) => {
                keys.insert(id.clone(), k);
            }
            Err(e) => {
                c.err::<()>(
                    &key,
                    format!("{} is not an RSA public key PEM: {e}", path.display()),
                    file.span(),
                );
            }
        }
    }
    TrustedKeys { keys }
}
