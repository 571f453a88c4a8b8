//! Methods passed to the origin (`methods = "all"`) on a `preserve_host`
//! route: the origin is sent the client's host on HTTP/2 as on HTTP/1.1.
//! HTTP/2 carries it in `:authority`, not in a `Host` header, so a copy of
//! the client's headers has none and the origin got its own host: a POST
//! went to another site of the origin's than the GET of the same URL.

use crate::support::client::Client;
use crate::support::{HttpOrigin, TestEdge, http_origin};

#[tokio::test]
async fn a_passed_method_is_sent_the_clients_host_on_h1_and_h2() {
    let origin = HttpOrigin::start(|_| http_origin::ok("done", &[])).await;
    let config = origin
        .config("methods = \"all\"")
        .replace("kind = \"http\"", "kind = \"http\"\npreserve_host = true");
    let edge = TestEdge::start(&config).await;
    let url = edge.url("/form");
    for client in [Client::new(), Client::http2()] {
        for method in ["GET", "POST"] {
            let r = client.request(method, &url, &[]).await;
            assert_eq!(r.status, 200);
        }
    }
    let expected = edge.addr.to_string();
    let hosts: Vec<(String, String)> = origin
        .seen()
        .iter()
        .map(|s| {
            let host = s.headers.get("host").map_or("", |h| h.to_str().unwrap());
            (s.method.to_string(), host.to_string())
        })
        .collect();
    assert!(
        hosts.iter().all(|(_, h)| *h == expected),
        "{hosts:?}, expected {expected}"
    );
}
