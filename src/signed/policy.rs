//! CloudFront policies: the canned one (built from the resource and
//! `Expires`, byte for byte as signers build it) and custom ones (JSON:
//! `Resource` with `*`/`?` wildcards, `DateLessThan`, optional
//! `DateGreaterThan` and `IpAddress` CIDR).

use std::net::IpAddr;

use serde::Deserialize;

use super::SignatureError;

/// The canned policy CloudFront verifies a canned signature against.
pub fn canned(resource: &str, expires: u64) -> String {
    format!(
        r#"{{"Statement":[{{"Resource":"{resource}","Condition":{{"DateLessThan":{{"AWS:EpochTime":{expires}}}}}}}]}}"#
    )
}

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "Statement")]
    statement: Vec<Statement>,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "Resource")]
    resource: Option<String>,
    #[serde(rename = "Condition")]
    condition: Condition,
}

#[derive(Deserialize)]
struct Condition {
    #[serde(rename = "DateLessThan")]
    date_less_than: Epoch,
    #[serde(rename = "DateGreaterThan")]
    date_greater_than: Option<Epoch>,
    #[serde(rename = "IpAddress")]
    ip_address: Option<SourceIp>,
}

#[derive(Deserialize)]
struct Epoch {
    #[serde(rename = "AWS:EpochTime")]
    epoch: u64,
}

#[derive(Deserialize)]
struct SourceIp {
    #[serde(rename = "AWS:SourceIp")]
    source_ip: String,
}

pub struct Policy(Statement);

impl Policy {
    pub fn parse(bytes: &[u8]) -> Result<Policy, &'static str> {
        let doc: Document = serde_json::from_slice(bytes).map_err(|_| "policy is not CloudFront policy JSON")?;
        // CloudFront accepts exactly one statement.
        let [statement]: [Statement; 1] = doc.statement.try_into().map_err(|_| "policy needs one Statement")?;
        Ok(Policy(statement))
    }

    pub fn allows(&self, resource: &str, now: u64, client: IpAddr) -> Result<(), SignatureError> {
        let s = &self.0;
        if let Some(pattern) = &s.resource
            && !wildcard_match(pattern.as_bytes(), resource.as_bytes())
        {
            return Err(SignatureError::Denied("resource"));
        }
        if now >= s.condition.date_less_than.epoch {
            return Err(SignatureError::Denied("expired"));
        }
        if s.condition.date_greater_than.as_ref().is_some_and(|d| now <= d.epoch) {
            return Err(SignatureError::Denied("not yet valid"));
        }
        if let Some(ip) = &s.condition.ip_address {
            let net: ipnet::IpNet = ip
                .source_ip
                .parse()
                .or_else(|_| ip.source_ip.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| SignatureError::Malformed("AWS:SourceIp"))?;
            let client = match client {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
                v4 => v4,
            };
            if !net.contains(&client) {
                return Err(SignatureError::Denied("client address"));
            }
        }
        Ok(())
    }
}

/// `*` matches any run of characters (also none), `?` exactly one.
/// Iterative with one backtrack point: linear for patterns like CloudFront's.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        for (p, t, want) in [
            ("http://h/private/*", "http://h/private/a/b.pdf", true),
            ("http://h/private/*", "http://h/public/a.pdf", false),
            ("*", "anything", true),
            ("http://h/a?.txt", "http://h/ab.txt", true),
            ("http://h/a?.txt", "http://h/a.txt", false),
            ("http*://h/*.pdf", "https://h/x/y.pdf", true),
            ("http://h/x", "http://h/x?y", false),
        ] {
            assert_eq!(wildcard_match(p.as_bytes(), t.as_bytes()), want, "{p} {t}");
        }
    }
}
