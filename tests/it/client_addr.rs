//! The real client address: forwarded headers believed only from trusted
//! peers, and the PROXY protocol (v1 text, v2 binary) on a listener.

use crate::support::http_origin::ok;
use crate::support::{HttpOrigin, TestEdge, raw_request};

/// An origin that echoes the forwarded headers it received.
async fn echo_origin() -> HttpOrigin {
    HttpOrigin::start(|seen| {
        let h = |n: &str| seen.headers.get(n).map_or("-", |v| v.to_str().unwrap()).to_string();
        ok(
            &format!("for={} proto={}", h("x-forwarded-for"), h("x-forwarded-proto")),
            &[("cache-control", "no-store")],
        )
    })
    .await
}

fn with_server(config: String, server: &str) -> String {
    config.replace("[server]\n", &format!("[server]\n{server}\n"))
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let origin = echo_origin().await;
    let edge = TestEdge::start(&with_server(origin.config(""), r#"trusted_proxies = ["10.0.0.0/8"]"#)).await;
    let r = edge
        .request(
            "GET",
            "/a",
            &[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(r.body, "for=127.0.0.1 proto=http");
}

#[tokio::test]
async fn a_trusted_peer_names_the_right_most_untrusted_client() {
    let origin = echo_origin().await;
    let edge = TestEdge::start(&with_server(
        origin.config(""),
        r#"trusted_proxies = ["127.0.0.0/8", "10.0.0.0/8"]"#,
    ))
    .await;
    let r = edge
        .request(
            "GET",
            "/a",
            &[
                ("x-forwarded-for", "6.6.6.6, 198.51.100.7"),
                ("x-forwarded-for", "10.1.2.3"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
    assert_eq!(
        r.body, "for=198.51.100.7 proto=https",
        "6.6.6.6 was written by the client itself"
    );
    let r = edge.get("/b").await;
    assert_eq!(
        r.body, "for=127.0.0.1 proto=http",
        "no headers: the trusted peer itself"
    );
}

#[tokio::test]
async fn proxy_protocol_v1_names_the_client() {
    let origin = echo_origin().await;
    let edge = TestEdge::start(&with_server(origin.config(""), "proxy_protocol = true")).await;
    let (status, text) = raw_request(
        edge.addr,
        b"PROXY TCP4 198.51.100.7 127.0.0.1 4711 80\r\nGET /v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("for=198.51.100.7 proto=http"), "{text}");

    let (status, text) = raw_request(
        edge.addr,
        b"PROXY TCP6 2001:db8::7 ::1 4711 80\r\nGET /v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("for=2001:db8::7 proto=http"), "{text}");
}

#[tokio::test]
async fn proxy_protocol_v2_names_the_client_and_local_keeps_the_peer() {
    let origin = echo_origin().await;
    let edge = TestEdge::start(&with_server(origin.config(""), "proxy_protocol = true")).await;
    let http = b"GET /v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let signature = b"\r\n\r\n\0\r\nQUIT\n";

    let mut proxy = signature.to_vec();
    proxy.extend_from_slice(&[0x21, 0x11, 0x00, 12]); // v2 PROXY, TCP over IPv4, 12 bytes
    proxy.extend_from_slice(&[203, 0, 113, 9, 127, 0, 0, 1]); // source, destination
    proxy.extend_from_slice(&[0x12, 0x67, 0x00, 0x50]); // ports 4711, 80
    proxy.extend_from_slice(http);
    let (status, text) = raw_request(edge.addr, &proxy).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("for=203.0.113.9 proto=http"), "{text}");

    let mut local = signature.to_vec();
    local.extend_from_slice(&[0x20, 0x00, 0x00, 0x00]); // v2 LOCAL: the balancer's own check
    local.extend_from_slice(http);
    let (status, text) = raw_request(edge.addr, &local).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("for=127.0.0.1 proto=http"), "{text}");
}

#[tokio::test]
async fn a_proxy_protocol_listener_refuses_connections_without_a_header() {
    let origin = echo_origin().await;
    let edge = TestEdge::start(&with_server(origin.config(""), "proxy_protocol = true")).await;
    let (status, text) = raw_request(edge.addr, b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!((status, text.as_str()), (0, ""));
    assert_eq!(origin.requests(), 0);
}
