//! What a request presents: signature parameters from its query, or else
//! CloudFront's signed cookies.

use http::{HeaderMap, Uri, header};

use super::key::HashAlgorithm;

#[derive(Default)]
pub struct Presented {
    pub expires: Option<String>,
    pub policy: Option<String>,
    pub signature: Option<String>,
    pub key_pair_id: Option<String>,
    pub hash: HashAlgorithm,
}

fn hash_algorithm(value: &str) -> HashAlgorithm {
    match value {
        "SHA256" => HashAlgorithm::Sha256,
        _ => HashAlgorithm::Sha1,
    }
}

/// The signature parameters of the query, and the query without them.
pub fn from_query(uri: &Uri) -> (Presented, Option<String>) {
    let mut p = Presented::default();
    let Some(query) = uri.query() else {
        return (p, None);
    };
    let mut rest = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || Some(v.to_string());
        match k {
            "Expires" => p.expires = value(),
            "Policy" => p.policy = value(),
            "Signature" => p.signature = value(),
            "Key-Pair-Id" => p.key_pair_id = value(),
            "Hash-Algorithm" => p.hash = hash_algorithm(v),
            _ => rest.push(pair),
        }
    }
    (p, (!rest.is_empty()).then(|| rest.join("&")))
}

pub fn from_cookies(headers: &HeaderMap) -> Presented {
    let mut p = Presented::default();
    for cookie in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in cookie.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            let value = Some(v.to_string());
            match k {
                "CloudFront-Expires" => p.expires = value,
                "CloudFront-Policy" => p.policy = value,
                "CloudFront-Signature" => p.signature = value,
                "CloudFront-Key-Pair-Id" => p.key_pair_id = value,
                "CloudFront-Hash-Algorithm" => p.hash = hash_algorithm(v),
                _ => {}
            }
        }
    }
    p
}
