//! `Vary` is reduced to what the origin was sent (`KeyRule::sent_vary`).
//! The client's `Host` is sent only on `preserve_host` routes, where it is
//! in the primary key already; elsewhere the origin is sent its own host.
//! A `Vary: Host` (common from app frameworks) must then cost nothing: it
//! once made every request a miss and two origin requests, so anyone could
//! multiply an origin's load by asking for such a URL.

use crate::support::client::Client;
use crate::support::{HttpOrigin, TestEdge, http_origin};

#[tokio::test]
async fn vary_host_does_not_make_a_url_uncacheable() {
    for preserve_host in [false, true] {
        let origin = HttpOrigin::start(|_| {
            http_origin::ok("page", &[("cache-control", "max-age=60"), ("vary", "Host, Accept")])
        })
        .await;
        let mut config = origin.config("");
        if preserve_host {
            config = config.replace("kind = \"http\"", "kind = \"http\"\npreserve_host = true");
        }
        let edge = TestEdge::start(&config).await;
        let url = edge.url("/page");
        for client in [Client::new(), Client::http2()] {
            let r = client.request("GET", &url, &[]).await;
            assert_eq!((r.status.as_u16(), r.body.as_ref()), (200, &b"page"[..]));
        }
        let r = Client::new().request("GET", &url, &[]).await;
        assert_eq!(r.x_cache(), "Hit from edge-test", "preserve_host = {preserve_host}");
        assert_eq!(origin.requests(), 1, "preserve_host = {preserve_host}");
    }
}
