//! Header rules shared by the client and origin sides.

use http::HeaderMap;
use http::header::{self, HeaderName};

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and
/// are never forwarded or stored.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Request headers that describe a client's message or connection, not
/// what it asks for: never copied to an origin (the edge frames what it
/// sends itself; RFC 9112 §6, §9.6; RFC 9110 §10.1.1, §7.8).
pub const CLIENT_FRAMING: [header::HeaderName; 6] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::EXPECT,
    header::TE,
    header::UPGRADE,
    header::CONNECTION,
];

pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || name == header::UPGRADE
}

/// Removes the hop-by-hop headers and those named in `Connection`.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

/// A header map from `(name, value)` pairs, in order (unit tests' shorthand).
#[cfg(test)]
pub(crate) fn map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut m = HeaderMap::new();
    for (k, v) in pairs {
        m.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    m
}
