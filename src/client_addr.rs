//! The real client address and scheme of a request.
//!
//! The connection's peer is the client unless it is one of
//! `server.trusted_proxies`: only then are `X-Forwarded-For` and
//! `X-Forwarded-Proto` believed. `X-Forwarded-For` is read right to left,
//! skipping trusted proxies; the first address that is not trusted is the
//! client (nginx's `real_ip_recursive on`). Everything left of it was written
//! by someone we do not trust, so it is ignored. A PROXY protocol header, on
//! a listener configured for it, replaces the peer before any of this.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use http::header::HeaderName;

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// What the accept loop knows of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The TCP peer, or the source named by a PROXY protocol header.
    pub addr: SocketAddr,
    /// The connection to us is TLS.
    pub tls: bool,
}

/// Who asked, as far as we can tell: what logs, the forwarded headers to
/// HTTP origins and IP conditions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    pub scheme: Scheme,
}

/// `server.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<ipnet::IpNet>,
}

impl TrustedProxies {
    pub fn new(nets: Vec<ipnet::IpNet>) -> TrustedProxies {
        TrustedProxies { nets }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`, believing forwarded headers only from a
    /// trusted peer.
    pub fn client(&self, peer: Peer, headers: &HeaderMap) -> ClientAddr {
        let ip = canonical(peer.addr.ip());
        let scheme = if peer.tls { Scheme::Https } else { Scheme::Http };
        if self.nets.is_empty() || !self.contains(ip) {
            return ClientAddr { ip, scheme };
        }
        ClientAddr {
            ip: self.forwarded_for(ip, headers),
            scheme: forwarded_proto(headers).unwrap_or(scheme),
        }
    }

    /// Right to left through every `X-Forwarded-For` line: the first
    /// address we do not trust. If all are trusted, the left-most; an entry
    /// that is not an address ends the walk at the last good one.
    fn forwarded_for(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        let lines = headers.get_all(&X_FORWARDED_FOR).iter().rev();
        for line in lines {
            let Ok(line) = line.to_str() else { return client };
            for entry in line.rsplit(',') {
                let Some(ip) = parse_entry(entry) else { return client };
                client = canonical(ip);
                if !self.contains(client) {
                    return client;
                }
            }
        }
        client
    }
}

/// The right-most `X-Forwarded-Proto` value: the one our trusted peer set.
fn forwarded_proto(headers: &HeaderMap) -> Option<Scheme> {
    let last = headers.get_all(&X_FORWARDED_PROTO).iter().next_back()?;
    let value = last.to_str().ok()?.rsplit(',').next()?.trim();
    if value.eq_ignore_ascii_case("https") {
        Some(Scheme::Https)
    } else if value.eq_ignore_ascii_case("http") {
        Some(Scheme::Http)
    } else {
        None
    }
}

/// `192.0.2.1`, `2001:db8::1`, and the forms some proxies write with a
/// port: `192.0.2.1:4711`, `[2001:db8::1]:4711`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// An IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4
/// peer) as the IPv4 address it is, so `10.0.0.0/8` matches it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn client(t: &TrustedProxies, peer: &str, xff: &[&str], proto: Option<&str>) -> ClientAddr {
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append(&X_FORWARDED_FOR, v.parse().unwrap());
        }
        if let Some(p) = proto {
            headers.insert(&X_FORWARDED_PROTO, p.parse().unwrap());
        }
        let peer = Peer {
            addr: SocketAddr::new(peer.parse().unwrap(), 1234),
            tls: false,
        };
        t.client(peer, &headers)
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_claims() {
        let t = trusted(&["10.0.0.0/8"]);
        let c = client(&t, "192.0.2.9", &["198.51.100.1"], Some("https"));
        assert_eq!(c.ip.to_string(), "192.0.2.9");
        assert_eq!(c.scheme, Scheme::Http);
    }

    #[test]
    fn right_most_untrusted_address_is_the_client() {
        let t = trusted(&["10.0.0.0/8"]);
        let c = client(&t, "10.0.0.2", &["6.6.6.6, 198.51.100.1", "10.0.0.5"], Some("https"));
        assert_eq!(c.ip.to_string(), "198.51.100.1", "spoofed 6.6.6.6 is ignored");
        assert_eq!(c.scheme, Scheme::Https);
    }

    #[test]
    fn all_trusted_gives_the_left_most_and_garbage_stops_the_walk() {
        let t = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            client(&t, "10.0.0.2", &["10.1.1.1, 10.0.0.3"], None).ip.to_string(),
            "10.1.1.1"
        );
        assert_eq!(
            client(&t, "10.0.0.2", &["junk, 10.0.0.3"], None).ip.to_string(),
            "10.0.0.3"
        );
        assert_eq!(client(&t, "10.0.0.2", &[], None).ip.to_string(), "10.0.0.2");
        assert_eq!(
            client(&t, "10.0.0.2", &["[2001:db8::1]:80"], None).ip.to_string(),
            "2001:db8::1"
        );
    }

    #[test]
    fn mapped_ipv4_peer_matches_an_ipv4_net() {
        let t = trusted(&["10.0.0.0/8"]);
        let c = client(&t, "::ffff:10.0.0.2", &["198.51.100.1"], None);
        assert_eq!(c.ip.to_string(), "198.51.100.1");
    }
}
