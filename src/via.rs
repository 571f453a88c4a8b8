//! `Via` on the origin side: loop safety for tiered deployments.
//!
//! In a two-tier setup (edges in front of a shield, the shield in front of
//! S3) every tier has its own `server.name`, and a request to an HTTP origin
//! carries the `Via` it arrived with plus this node's entry (`forward`,
//! `origin::http`). A request whose incoming `Via` already names this node
//! has been here before: forwarding it again would loop until some timeout,
//! so the edge answers 508 Loop Detected (RFC 5842 §7.2) instead.

use http::header::{self, HeaderMap};

/// True when one of the request's `Via` entries was added by the node
/// called `name` (`1.1 name`, `HTTP/1.1 name:8080`, `1.1 name (comment)`).
pub fn names_node(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(received_by)
        .any(|by| by.eq_ignore_ascii_case(name))
}

/// The `received-by` part of one `Via` entry, without a port.
fn received_by(entry: &str) -> Option<&str> {
    let mut parts = entry.split_whitespace();
    let _protocol = parts.next()?;
    let by = parts.next()?;
    // A bracketed IPv6 literal keeps its colons; otherwise drop `:port`.
    Some(match by.rfind(':') {
        Some(i) if !by.ends_with(']') => &by[..i],
        _ => by,
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn via(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::VIA, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn finds_this_node_in_any_entry_and_form() {
        assert!(names_node(&via(&["1.1 shield"]), "shield"));
        assert!(names_node(&via(&["1.0 proxy, 1.1 Shield:8080 (cachefront)"]), "shield"));
        assert!(names_node(&via(&["1.1 edge-a", "HTTP/1.1 shield"]), "shield"));
        assert!(!names_node(&via(&["1.1 edge-a, 1.1 shield-2"]), "shield"));
        assert!(!names_node(&via(&["1.1"]), "shield"));
        assert!(!names_node(&HeaderMap::new(), "shield"));
    }
}
