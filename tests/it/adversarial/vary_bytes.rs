//! `origin_headers` are forwarded unkeyed; an origin that varies on one
//! says so with `Vary`, and the edge then stores a variant per value. The
//! value the edge forwards is the client's bytes; the value it matched
//! variants by was only what is visible ASCII, anything else counting as
//! no header at all. A client sending `X-Prefix: /évil` (non-ASCII bytes)
//! had its response stored as the variant for clients that send no
//! `X-Prefix`: a page whose links the origin built from the attacker's
//! prefix, served to everyone.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::client::Client;
use crate::support::{HttpOrigin, TestEdge, http_origin};

#[tokio::test]
async fn a_non_ascii_value_of_a_varied_header_is_not_no_header() {
    let n = AtomicUsize::new(0);
    let origin = HttpOrigin::start(move |seen| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        let prefix = seen.headers.get("x-prefix").map_or("none".to_string(), |v| {
            String::from_utf8_lossy(v.as_bytes()).into_owned()
        });
        http_origin::ok(
            &format!("page {i}, links under {prefix}"),
            &[("cache-control", "max-age=60"), ("vary", "X-Prefix")],
        )
    })
    .await;
    let edge = TestEdge::start(&origin.config("origin_headers = [\"X-Prefix\"]")).await;
    let url = edge.url("/home");
    for client in [Client::new(), Client::http2()] {
        let attacker = client.request("GET", &url, &[("x-prefix", "/évil")]).await;
        assert!(String::from_utf8_lossy(&attacker.body).contains("évil"));
        let victim = client.request("GET", &url, &[]).await;
        let body = String::from_utf8_lossy(&victim.body);
        assert!(
            body.ends_with("links under none"),
            "a client without X-Prefix got {body:?}"
        );
    }
}
