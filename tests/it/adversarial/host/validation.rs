//! `Host` and `:authority` are `host[:port]` (RFC 3986) on every route, or
//! the request is a 400 with a short body: a path, userinfo, spaces, an
//! empty or out-of-range port, a second `Host`, a `Host` that names
//! another host than the request target.

use super::wire::{h1, h1_get, h2_get, h2_raw};
use super::{OWN, media_edge};

/// Through `/static/`, an unsigned route serving user1's own file.
const TARGET: &str = "/static/own.txt";

const BAD: [&str; 22] = [
    "cdn.example.com/media/user1",
    "cdn.example.com/",
    "user@cdn.example.com",
    "@cdn.example.com",
    "cdn.example.com:",
    "cdn.example.com:65536",
    "cdn.example.com:123456",
    "cdn.example.com:8o",
    "cdn.example.com:80:80",
    ":80",
    "[::1",
    "[::1]x",
    "[zz::1]",
    "[::1]:",
    "[v1.x]",
    "a b",
    "cdn.example.com?x",
    "cdn.example.com#x",
    "cdn.example.com\\x",
    "%zz.example",
    "cdn\"example",
    "é.example",
];

const GOOD: [&str; 12] = [
    "cdn.example.com",
    "CDN.Example.COM",
    "cdn.example.com:8080",
    "cdn.example.com.",
    "127.0.0.1",
    "127.0.0.1:80",
    "[::1]",
    "[::1]:8080",
    "[2001:db8::7]",
    "xn--bcher-kva.example",
    "a_b~c.example",
    "%41.example",
];

#[tokio::test]
async fn hosts_that_are_not_host_port_are_400_on_http1() {
    let (_origin, edge) = media_edge("", "").await;
    for host in BAD {
        let got = h1_get(edge.addr, TARGET, host, None).await;
        assert_eq!(got.status, 400, "Host {host:?}: {got:?}");
        assert!(
            got.body.len() < 100 && !got.body.contains(OWN),
            "Host {host:?}: {got:?}"
        );
    }
    for host in GOOD {
        let got = h1_get(edge.addr, TARGET, host, None).await;
        assert_eq!((got.status, got.body.as_str()), (200, OWN), "Host {host:?}");
    }
    let request = |head: &str| format!("{head}Connection: close\r\n\r\n");
    for (what, head, want) in [
        (
            "two Hosts",
            "GET /static/own.txt HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n",
            400,
        ),
        ("HTTP/1.0 without Host", "GET /static/own.txt HTTP/1.0\r\n", 200),
        ("HTTP/1.1 without Host", "GET /static/own.txt HTTP/1.1\r\n", 200),
        ("an empty Host", "GET /static/own.txt HTTP/1.1\r\nHost: \r\n", 200),
        (
            "absolute-form, the same host",
            "GET http://cdn.example.com/static/own.txt HTTP/1.1\r\nHost: CDN.example.com\r\n",
            200,
        ),
        (
            "absolute-form, another Host",
            "GET http://cdn.example.com/static/own.txt HTTP/1.1\r\nHost: evil.example\r\n",
            400,
        ),
        (
            "absolute-form with userinfo",
            "GET http://u@cdn.example.com/static/own.txt HTTP/1.1\r\nHost: cdn.example.com\r\n",
            400,
        ),
    ] {
        let got = h1(edge.addr, &request(head)).await;
        assert_eq!(got.status, want, "{what}: {got:?}");
    }
}

#[tokio::test]
async fn authorities_that_are_not_host_port_are_400_on_http2() {
    let (_origin, edge) = media_edge("", "").await;
    for authority in BAD {
        let got = h2_raw(
            edge.addr,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":authority", authority),
                (":path", TARGET),
            ],
        )
        .await;
        // 0: the h2 layer reset the stream itself (what it cannot parse).
        assert!(matches!(got.status, 0 | 400), ":authority {authority:?}: {got:?}");
        assert!(!got.body.contains(OWN), ":authority {authority:?}: {got:?}");
    }
    // The h2 layer (http's `Authority`) refuses a percent-encoded reg-name.
    for authority in GOOD.iter().filter(|a| !a.contains('%')) {
        let got = h2_get(edge.addr, &format!("http://{authority}{TARGET}"), &[]).await;
        assert_eq!((got.status, got.body.as_str()), (200, OWN), ":authority {authority:?}");
    }
    let url = format!("http://cdn.example.com{TARGET}");
    // RFC 9113 §8.3.1: a `host` field that names another host is malformed.
    for (host, want) in [
        ("evil.example", 400),
        ("cdn.example.com/media/user1", 400),
        ("cdn.example.com:8080", 400),
        ("CDN.EXAMPLE.COM", 200),
        ("cdn.example.com", 200),
    ] {
        let got = h2_get(edge.addr, &url, &[("host", host)]).await;
        assert_eq!(got.status, want, "host {host:?}: {got:?}");
    }
    let got = h2_get(edge.addr, &format!("http://u@cdn.example.com{TARGET}"), &[]).await;
    assert_eq!(got.status, 400, "userinfo: {got:?}");
    // Without :authority (allowed by RFC 9113), a `host` field is checked alone.
    for (host, want) in [("cdn.example.com", 200), ("cdn.example.com/x", 400)] {
        let got = h2_raw(
            edge.addr,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", TARGET),
                ("host", host),
            ],
        )
        .await;
        assert_eq!(got.status, want, "no :authority, host {host:?}: {got:?}");
    }
}
