//! CloudFront policies: the canned one (built from the resource and
//! `Expires`, byte for byte as signers build it) and custom ones (JSON:
//! `Resource` with `*`/`?` wildcards, `DateLessThan`, optional
//! `DateGreaterThan` and `IpAddress` CIDR).
//!
//! A resource is matched as a URL, not as a string: a `*` that more of the
//! pattern follows stays within the part of the URL it starts in (the
//! scheme and host, the path, the query). Matched as a string, the `*` of
//! `http*://cdn.example.com/media/user1/*` ran from the scheme through
//! `/media/user2/secret.txt?x=` to find `://cdn.example.com/media/user1/`
//! again in a query the client wrote. A trailing `*` still takes the rest
//! of the URL, query and all, as CloudFront's does.

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

    /// Whether the policy allows this request: one of `resources` (the
    /// request's URL under each name of the site) matches, and the time
    /// and client address conditions hold.
    pub fn allows(&self, resources: &[Resource], now: u64, client: IpAddr) -> Result<(), SignatureError> {
        let s = &self.0;
        if let Some(pattern) = &s.resource
            && !resources.iter().any(|r| r.matches(pattern.as_bytes()))
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

/// The URL a request is checked as: `scheme://host`, the path, and
/// `?query` when there is one, with where the path and the query begin.
pub struct Resource {
    pub text: String,
    /// Where a non-trailing `*` may not reach: the path's `/`, the `?`.
    boundaries: [usize; 2],
    parts: usize,
}

impl Resource {
    /// `host` is `host[:port]` (no `/`: see `crate::host`).
    pub fn new(scheme: &str, host: &str, path: &str, query: Option<&str>) -> Resource {
        let mut text =
            String::with_capacity(scheme.len() + 3 + host.len() + path.len() + query.map_or(0, |q| q.len() + 1));
        for part in [scheme, "://", host] {
            text.push_str(part);
        }
        let path_at = text.len();
        text.push_str(path);
        let query_at = text.len();
        if let Some(q) = query {
            text.push('?');
            text.push_str(q);
        }
        Resource {
            text,
            boundaries: [path_at, query_at],
            parts: if query.is_some() { 2 } else { 1 },
        }
    }

    pub fn matches(&self, pattern: &[u8]) -> bool {
        structured_match(pattern, self.text.as_bytes(), &self.boundaries[..self.parts])
    }
}

/// `wildcard_match`, where each text index in `boundaries` (ascending) is
/// matched by a pattern character (itself or `?`) or lies within a
/// trailing `*` (one only `*`s follow): no other `*` runs over it. The
/// text between boundaries is matched as before; a pattern has few `/`
/// and `?` to try at a boundary, so this stays near linear.
fn structured_match(pattern: &[u8], text: &[u8], boundaries: &[usize]) -> bool {
    let Some((&at, rest)) = boundaries.split_first().filter(|(at, _)| **at < text.len()) else {
        return wildcard_match(pattern, text);
    };
    // A trailing `*` that starts before the boundary takes it and the rest.
    let trailing = pattern.len() - pattern.iter().rev().take_while(|&&c| c == b'*').count();
    if trailing < pattern.len() && wildcard_match(&pattern[..=trailing], &text[..at]) {
        return true;
    }
    let mut shifted = [0; 2];
    for (s, b) in shifted.iter_mut().zip(rest) {
        *s = b - at - 1;
    }
    let shifted = &shifted[..rest.len()];
    (0..pattern.len()).any(|i| {
        (pattern[i] == b'?' || pattern[i] == text[at])
            && wildcard_match(&pattern[..i], &text[..at])
            && structured_match(&pattern[i + 1..], &text[at + 1..], shifted)
    })
}

/// Whether a request path stays where it says, for any origin: no `.` or
/// `..` segment, also percent-encoded (`%2e%2e`), also behind an encoded
/// slash (`..%2f`) or before `;` parameters (`..;x`, which Tomcat resolves),
/// and no backslash or NUL (`..%5c`, which IIS resolves). A policy matches
/// the path as sent; an origin that resolved such a path would serve
/// another prefix than the one the policy named.
pub fn plain_path(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path);
    let decoded: std::borrow::Cow<'_, [u8]> = decoded.into();
    !decoded.contains(&b'\\')
        && !decoded.contains(&0)
        && decoded.split(|&b| b == b'/').all(|segment| {
            let name = segment.split(|&b| b == b';').next().unwrap_or_default();
            !matches!(name, b"." | b"..")
        })
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

    #[test]
    fn a_star_followed_by_more_stays_in_its_part_of_the_url() {
        for (p, (host, path, query), want) in [
            ("http://h/private/*", ("h", "/private/a/b.pdf", Some("v=2")), true),
            ("http://h/private/*", ("h", "/public/a.pdf", Some("x=/private/")), false),
            ("*", ("h", "/x", Some("y")), true),
            ("http://*", ("h", "/x", Some("y")), true),
            ("http*://h/*", ("h", "/x", None), true),
            ("http://*.example.com/*", ("cdn.example.com", "/x", None), true),
            (
                "http://h/private/report.pdf?v=2",
                ("h", "/private/report.pdf", Some("v=2")),
                true,
            ),
            ("http://h/x", ("h", "/x", Some("y")), false),
            ("http://h/a/*/c.pdf", ("h", "/a/b/b2/c.pdf", None), true),
            // Wildcards that would run from one part into the next.
            ("http*://h/u1/*", ("h", "/u2/s", Some("x=://h/u1/a")), false),
            ("http://*/u1/*", ("h", "/u2/u1/s", None), false),
            ("http://*/u1/*", ("h", "/u2/s", Some("x=/u1/")), false),
            ("http://h/a/*/c.pdf", ("h", "/a/s", Some("x=/c.pdf")), false),
            ("http://h/a*", ("h", "/a/s", Some("x=1")), true),
            ("http://h/a*1", ("h", "/a/s", Some("x=1")), false),
        ] {
            let r = Resource::new("http", host, path, query);
            assert_eq!(r.matches(p.as_bytes()), want, "{p} {}", r.text);
        }
    }

    #[test]
    fn paths_with_dot_segments_in_any_encoding_are_not_plain() {
        for ok in ["/media/user1/a.txt", "/a/.b/c..d/...", "/a/%41", "/", "/a;b/c"] {
            assert!(plain_path(ok), "{ok}");
        }
        for bad in [
            "/a/../b",
            "/a/./b",
            "/a/..",
            "/a/..%2fb",
            "/a/%2e%2e/b",
            "/a/.%2E/b",
            "/a/%2E%2E%2Fb",
            "/a/..;/b",
            "/a/..;x=1/b",
            "/a/..%3b/b",
            "/a/..%5cb",
            "/a\\..\\b",
            "/a/%00",
        ] {
            assert!(!plain_path(bad), "{bad}");
        }
    }
}
