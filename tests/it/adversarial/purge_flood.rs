//! A successful unsafe request invalidates its URL (RFC 9111 §4.4). On a
//! route whose key holds headers or cookies that was a purge: a scan of
//! the whole cache, and a new purge generation. Fills check generations
//! before storing, and one older than the last 1,024 counts as purged: so
//! any client, POSTing to a form on one route while a fill of another
//! route was in flight, kept that fill from being stored (and paid a scan
//! of every entry per POST). A POST's invalidation must cost one lookup
//! and concern its own URL.

use crate::support::client::Client;
use crate::support::{HttpOrigin, TestEdge, http_origin};

/// More than the purges a fill in flight remembers.
const POSTS: usize = 1100;

#[tokio::test]
async fn posts_to_one_route_do_not_keep_another_routes_fill_from_being_stored() {
    let app = HttpOrigin::start(|_| http_origin::ok("page", &[("cache-control", "max-age=600")])).await;
    let forms = HttpOrigin::start(|_| http_origin::ok("thanks", &[])).await;
    let config = format!(
        r#"
[server]
name = "edge-test"

[origins.app]
kind = "http"
url = "{}"
response_timeout = "30s"

[origins.forms]
kind = "http"
url = "{}"

[[routes]]
path = "/forms/"
origin = "forms"
methods = "all"
key = {{ cookies = ["sid"] }}

[[routes]]
path = "/"
origin = "app"
"#,
        app.url(),
        forms.url()
    );
    let edge = TestEdge::start(&config).await;
    let client = Client::new();
    app.gate.hold();
    let url = edge.url("/page");
    let fill = {
        let client = client.clone();
        tokio::spawn(async move { client.request("GET", &url, &[]).await })
    };
    app.gate.wait_for_requests(1).await;
    let form = edge.url("/forms/contact");
    for _ in 0..POSTS {
        assert_eq!(client.request("POST", &form, &[]).await.status, 200);
    }
    app.gate.release();
    assert_eq!(fill.await.unwrap().body, "page");
    let again = client.request("GET", &edge.url("/page"), &[]).await;
    assert_eq!(
        (again.x_cache(), app.requests()),
        ("Hit from edge-test", 1),
        "POSTs to /forms/ kept /page from being stored"
    );
}
