//! `Host` and `:authority` values: `host[:port]` as RFC 3986 §3.2.2-3.2.3
//! defines them (reg-name, IPv4 or `[IPv6]`, an optional port of 1 to 5
//! digits up to 65535), and nothing else: no path, query, fragment,
//! userinfo, spaces, controls or non-ASCII bytes.
//!
//! Why: the Host is part of what the edge trusts. Signed-URL policies were
//! checked against `scheme://{Host}{path}`, so a Host with a path in it
//! (`cdn.example.com/media/user1`) moved the policy's prefix; a
//! `preserve_host` route keys and forwards it. Every request's Host is
//! checked once, on the way in (`edge`), in one pass over its bytes with a
//! table and no allocation: the hit path pays a few nanoseconds. Hand
//! written because `http::uri::Authority` accepts userinfo and does not
//! check ports (it is a URI parser, not a Host validator), and no small
//! crate checks exactly RFC 3986's `host [":" port]`.
//!
//! `Hostname` is a configured name of the site (`server.hostnames`), what
//! signed URLs are checked against instead of the client's Host.

use std::net::Ipv6Addr;

/// A well-formed `host[:port]`, borrowed from the value it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort<'a> {
    /// The reg-name, IPv4 address or bracketed IPv6 address, as sent.
    pub host: &'a str,
    pub port: Option<u16>,
}

/// RFC 3986's `unreserved / sub-delims`: a reg-name's bytes besides `%XX`.
const REG_NAME: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
            // sub-delims
            || matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=');
        i += 1;
    }
    t
};

/// `host[:port]`, or `None` when `value` is anything else (empty too).
pub fn parse(value: &[u8]) -> Option<HostPort<'_>> {
    let host_end = match value.first()? {
        b'[' => {
            let close = value.iter().position(|&b| b == b']')?;
            // An IPv6 address (not IPvFuture, not a zone id: RFC 9110 has no use for them).
            std::str::from_utf8(&value[1..close]).ok()?.parse::<Ipv6Addr>().ok()?;
            close + 1
        }
        _ => reg_name_len(value),
    };
    if host_end == 0 {
        return None;
    }
    let port = match &value[host_end..] {
        [] => None,
        [b':', digits @ ..] if (1..=5).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) => {
            let n = digits.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            Some(u16::try_from(n).ok()?)
        }
        _ => return None,
    };
    // Every byte up to host_end is ASCII (table, `%XX`, or a parsed address).
    let host = std::str::from_utf8(&value[..host_end]).ok()?;
    Some(HostPort { host, port })
}

/// How many leading bytes of `value` are a reg-name (0: none).
fn reg_name_len(value: &[u8]) -> usize {
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if REG_NAME[b as usize] {
            i += 1;
        } else if b == b'%'
            && value.len() > i + 2
            && value[i + 1].is_ascii_hexdigit()
            && value[i + 2].is_ascii_hexdigit()
        {
            i += 3;
        } else {
            break;
        }
    }
    i
}

/// One configured name of the site: `host[:port]`, lower-cased, without a
/// trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname {
    host: Box<str>,
    port: Option<u16>,
    /// `host[:port]`: what a signed URL's resource names.
    text: Box<str>,
}

impl Hostname {
    pub fn parse(s: &str) -> Option<Hostname> {
        let hp = parse(s.as_bytes())?;
        let host = hp.host.strip_suffix('.').unwrap_or(hp.host).to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        let text = match hp.port {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        Some(Hostname {
            host: host.into(),
            port: hp.port,
            text: text.into(),
        })
    }

    /// `host[:port]`, as a URL's authority.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a request's Host names this site name: the same host (case
    /// and a trailing dot aside) and, when the name has a port, that port.
    /// A name without a port matches any: the port a listener serves on is
    /// not part of the name (as in CloudFront, whose resources have none).
    pub fn names(&self, requested: &HostPort<'_>) -> bool {
        let host = requested.host.strip_suffix('.').unwrap_or(requested.host);
        host.eq_ignore_ascii_case(&self.host) && self.port.is_none_or(|p| requested.port == Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_per_rfc_3986() {
        for ok in [
            "cdn.example.com",
            "CDN.example.com:8080",
            "a",
            "127.0.0.1:0",
            "[::1]",
            "[2001:db8::1]:65535",
            "%41b.example",
            "a_b~c!$&'()*+,;=",
            "cdn.example.com.",
        ] {
            assert!(parse(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "",
            ":80",
            "cdn.example.com:",
            "cdn.example.com:65536",
            "cdn.example.com:000080",
            "cdn.example.com:8o",
            "a:1:2",
            "cdn.example.com/media/user1",
            "u@cdn.example.com",
            "a b",
            "a\tb",
            "a?b",
            "a#b",
            "a\\b",
            "%zz",
            "%4",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[v1.x]",
            "[fe80::1%25eth0]",
            "é",
            "a\u{0}",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(
            parse(b"[::1]:8080"),
            Some(HostPort {
                host: "[::1]",
                port: Some(8080)
            })
        );
    }

    #[test]
    fn configured_names_match_hosts_case_and_port_aside() {
        let name = Hostname::parse("CDN.example.com.").unwrap();
        assert_eq!(name.as_str(), "cdn.example.com");
        for host in ["cdn.example.com", "CDN.EXAMPLE.COM:8080", "cdn.example.com."] {
            assert!(name.names(&parse(host.as_bytes()).unwrap()), "{host}");
        }
        assert!(!name.names(&parse(b"cdn.example.co").unwrap()));
        let with_port = Hostname::parse("cdn.example.com:8443").unwrap();
        assert_eq!(with_port.as_str(), "cdn.example.com:8443");
        assert!(with_port.names(&parse(b"cdn.example.com:8443").unwrap()));
        assert!(!with_port.names(&parse(b"cdn.example.com").unwrap()));
        assert!(Hostname::parse("cdn.example.com/x").is_none());
        assert!(Hostname::parse(".").is_none());
    }
}
