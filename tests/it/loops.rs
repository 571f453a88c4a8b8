//! Tiering loop safety: a request that already passed through this node is
//! answered 508 instead of forwarded again; `Via` is passed up the tiers.

use tokio::net::TcpListener;

use crate::support::http_origin::ok;
use crate::support::{HttpOrigin, TestEdge};

#[tokio::test]
async fn a_request_whose_via_names_this_node_is_508_and_never_forwarded() {
    let origin = HttpOrigin::start(|_| ok("page", &[("cache-control", "max-age=60")])).await;
    let edge = TestEdge::start(&origin.config("")).await;

    for via in [
        "1.1 edge-test",
        "1.1 cdn-a, 1.1 edge-test (cachefront)",
        "HTTP/1.1 EDGE-TEST:8080",
    ] {
        let r = edge.request("GET", "/page", &[("via", via)]).await;
        assert_eq!(r.status, 508, "{via}");
        assert_eq!(r.x_cache(), "Error from edge-test");
        assert_eq!(r.header("cache-control"), "no-store");
    }
    assert_eq!(origin.requests(), 0, "a looping request never reaches the origin");

    // Another node's Via is forwarded, with ours appended.
    let r = edge.request("GET", "/page", &[("via", "1.1 edge-a")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(origin.requests(), 1);
    assert_eq!(origin.seen()[0].headers["via"], "1.1 edge-a, 1.1 edge-test");
}

#[tokio::test]
async fn two_tiers_pointing_at_each_other_stop_after_one_round() {
    let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = |name: &str, upstream: std::net::SocketAddr| {
        format!(
            "[server]\nname = \"{name}\"\n\n[origins.up]\nkind = \"http\"\nurl = \"http://{upstream}\"\n\
             response_timeout = \"5s\"\n\n[[routes]]\npath = \"/\"\norigin = \"up\"\n"
        )
    };
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let edge_a = TestEdge::start_on(&config("tier-a", b_addr), a, Default::default()).await;
    let _edge_b = TestEdge::start_on(&config("tier-b", a_addr), b, Default::default()).await;

    // a -> b -> a: a sees "1.1 tier-a, 1.1 tier-b" and answers 508, which
    // comes back down through b and a; nothing hangs until a timeout.
    let r = tokio::time::timeout(std::time::Duration::from_secs(3), edge_a.get("/x"))
        .await
        .expect("a loop is cut at once, not by the 5 s response timeout");
    assert_eq!(r.status, 508);
    assert_eq!(r.x_cache(), "Error from tier-a");
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("via"), "1.1 tier-a, 1.1 tier-b, 1.1 tier-a");
}
