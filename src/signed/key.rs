//! The public keys CloudFront key groups take, and the signature each
//! makes: RSA 2048 (PKCS#1 v1.5) and ECDSA P-256 (prime256v1).
//!
//! CloudFront's documented signing command is `openssl sha1 -sign
//! private_key.pem` (`sha256` with `Hash-Algorithm=SHA256`) with either key
//! type, so an ECDSA signature is what OpenSSL writes: the DER-encoded
//! `ECDSA-Sig-Value` (r, s) over the SHA-1 or SHA-256 digest of the policy.
//! OpenSSL does not normalize `s`, so high-`s` signatures are valid too.
//! A key of the other type than the signature's refuses it like any bad
//! signature.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::VerifyingKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
// digest 0.10's trait, the one rsa's sha2 and sha1 0.10 implement.
use sha1::Digest;

/// `Hash-Algorithm` (`CloudFront-Hash-Algorithm`): SHA-1 unless `SHA256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashAlgorithm {
    #[default]
    Sha1,
    Sha256,
}

/// A trusted key: what `[trusted_keys]` PEM files hold.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Rsa(RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// A SubjectPublicKeyInfo PEM (`PUBLIC KEY`, what CloudFront takes) of
    /// an RSA or a P-256 key, or a PKCS#1 `RSA PUBLIC KEY`; `None` for
    /// anything else (other curves, private keys, certificates).
    pub fn from_pem(pem: &str) -> Option<PublicKey> {
        if let Ok(k) = RsaPublicKey::from_public_key_pem(pem).or_else(|_| RsaPublicKey::from_pkcs1_pem(pem)) {
            return Some(PublicKey::Rsa(k));
        }
        p256::ecdsa::VerifyingKey::from_public_key_pem(pem)
            .ok()
            .map(PublicKey::P256)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            PublicKey::Rsa(_) => "RSA",
            PublicKey::P256(_) => "ECDSA P-256",
        }
    }

    /// Whether `signature` is this key's over `message` with `hash`.
    pub fn verifies(&self, message: &[u8], signature: &[u8], hash: HashAlgorithm) -> bool {
        match self {
            PublicKey::Rsa(key) => {
                let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return false;
                };
                match hash {
                    HashAlgorithm::Sha1 => VerifyingKey::<sha1::Sha1>::new(key.clone()).verify(message, &signature),
                    HashAlgorithm::Sha256 => VerifyingKey::<Sha256>::new(key.clone()).verify(message, &signature),
                }
                .is_ok()
            }
            PublicKey::P256(key) => {
                let Ok(signature) = p256::ecdsa::Signature::from_der(signature) else {
                    return false;
                };
                // Prehashed: ECDSA over SHA-1 takes the 160-bit digest as
                // the integer (left-padded), as OpenSSL does.
                let ok = match hash {
                    HashAlgorithm::Sha1 => key.verify_prehash(&sha1::Sha1::digest(message), &signature),
                    HashAlgorithm::Sha256 => key.verify_prehash(&Sha256::digest(message), &signature),
                };
                ok.is_ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    use super::*;

    fn p256_pair() -> (SigningKey, PublicKey) {
        let signing = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let public = PublicKey::P256(*signing.verifying_key());
        (signing, public)
    }

    #[test]
    fn ecdsa_signatures_with_high_and_low_s_verify_as_openssl_accepts_both() {
        let (signing, public) = p256_pair();
        let message = b"{\"Statement\":[]}";
        let digest = sha1::Sha1::digest(message);
        let sig: p256::ecdsa::Signature = signing.sign_prehash(&digest).unwrap();
        let (r, s) = sig.split_scalars();
        let flipped = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        for sig in [sig, flipped] {
            assert!(public.verifies(message, sig.to_der().as_bytes(), HashAlgorithm::Sha1));
            assert!(!public.verifies(message, sig.to_der().as_bytes(), HashAlgorithm::Sha256));
            assert!(!public.verifies(b"other", sig.to_der().as_bytes(), HashAlgorithm::Sha1));
        }
    }

    #[test]
    fn ecdsa_takes_der_only() {
        let (signing, public) = p256_pair();
        let message = b"policy";
        let sig: p256::ecdsa::Signature = signing.sign_prehash(&Sha256::digest(message)).unwrap();
        assert!(public.verifies(message, sig.to_der().as_bytes(), HashAlgorithm::Sha256));
        // The fixed-size r‖s form (JOSE, WebCrypto) is not what CloudFront documents.
        assert!(!public.verifies(message, &sig.to_bytes(), HashAlgorithm::Sha256));
    }
}
