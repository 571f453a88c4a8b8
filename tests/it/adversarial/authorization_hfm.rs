//! Hit-for-miss is not a switch a client can flip. A request with
//! `Authorization` makes its own answer unshareable (RFC 9111 §3.5), but on
//! a route that does not forward `Authorization` the origin answered an
//! anonymous request: the answer is the URL's public one. If that marked
//! the URL hit-for-miss, any client could, with a made-up header, turn off
//! coalescing for everyone (each client to the origin at once) and drop a
//! stored object the edge would have revalidated, whenever it is not fresh.

use tokio::task::JoinHandle;

use crate::support::client::{Client, Reply};
use crate::support::{HttpOrigin, TestEdge, http_origin};

const WAITERS: &str = "cachefront_coalesced_waiters_total";
const ATTACKER: &[(&str, &str)] = &[("authorization", "Bearer made-up")];

fn get(client: &Client, url: &str) -> JoinHandle<Reply> {
    let (client, url) = (client.clone(), url.to_string());
    tokio::spawn(async move { client.request("GET", &url, &[]).await })
}

async fn an_authorization_header_does_not_turn_coalescing_off(client: Client) {
    let origin = HttpOrigin::start(|_| http_origin::ok("public page", &[("cache-control", "max-age=60")])).await;
    let config = origin
        .config("")
        .replace("response_timeout = \"1s\"", "response_timeout = \"30s\"");
    let edge = TestEdge::start(&config).await;
    let url = edge.url("/news");
    let attacker = client.request("GET", &url, ATTACKER).await;
    assert_eq!(attacker.body, "public page");

    origin.gate.hold();
    let first = get(&client, &url);
    origin.gate.wait_for_requests(2).await;
    let second = get(&client, &url);
    // Either the second client joins the first one's fill, or (the URL
    // marked hit-for-miss) it goes to the origin on its own.
    let admin = edge.admin_client();
    let joined = tokio::select! {
        () = admin.wait_for_metric(WAITERS, 1) => true,
        () = origin.gate.wait_for_requests(3) => false,
    };
    origin.gate.release();
    for r in [first.await.unwrap(), second.await.unwrap()] {
        assert_eq!(r.body, "public page");
    }
    assert!(joined, "one Authorization header made the URL uncoalesced for everyone");
    assert_eq!(client.request("GET", &url, &[]).await.x_cache(), "Hit from edge-test");
}

#[tokio::test]
async fn an_authorization_header_does_not_turn_coalescing_off_h1() {
    an_authorization_header_does_not_turn_coalescing_off(Client::new()).await;
}

#[tokio::test]
async fn an_authorization_header_does_not_turn_coalescing_off_h2() {
    an_authorization_header_does_not_turn_coalescing_off(Client::http2()).await;
}

/// A stored object that needs revalidation (`no-cache` with an `ETag`):
/// the attacker's revalidation must not replace it with a hit-for-miss
/// marker, so the next client revalidates too instead of refetching.
#[tokio::test]
async fn an_authorization_header_does_not_drop_a_stored_object() {
    let origin = HttpOrigin::start(|seen| {
        let headers = &[("cache-control", "no-cache"), ("etag", "\"v1\"")];
        let mut r = http_origin::ok("public page", headers);
        if seen.headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
            r = http_origin::ok("", headers);
            *r.status_mut() = http::StatusCode::NOT_MODIFIED;
        }
        r
    })
    .await;
    let edge = TestEdge::start(&origin.config("")).await;
    let url = edge.url("/news");
    let client = Client::new();
    assert_eq!(client.request("GET", &url, &[]).await.body, "public page");
    assert_eq!(client.request("GET", &url, ATTACKER).await.body, "public page");
    assert_eq!(client.request("GET", &url, &[]).await.body, "public page");
    let conditional: Vec<bool> = origin
        .seen()
        .iter()
        .map(|s| s.headers.contains_key("if-none-match"))
        .collect();
    assert_eq!(
        conditional,
        [false, true, true],
        "the stored object was dropped after the attacker's request"
    );
}

/// On a sliced route the first slice's answer decides whether the object
/// is cached: a made-up `Authorization` on the first request made it
/// `Pass` (streamed from the origin by everyone) for two minutes.
#[tokio::test]
async fn an_authorization_header_does_not_make_a_sliced_object_pass() {
    let body = bytes::Bytes::from(vec![7u8; 3 << 20]);
    let origin = HttpOrigin::start(move |seen| http_origin::ranged(seen, &body, "\"v1\"")).await;
    let config = format!(
        "[cache]\nmax_object_size = \"1MiB\"\n{}\nslice = \"1MiB\"",
        origin.config("")
    );
    let edge = TestEdge::start(&config).await;
    let url = edge.url("/video.mp4");
    let client = Client::new();
    let range = ("range", "bytes=0-9");
    let attacker = client.request("GET", &url, &[range, ATTACKER[0]]).await;
    assert!(attacker.status.is_success(), "{}", attacker.status);
    let first = client.request("GET", &url, &[range]).await;
    assert_eq!(first.status, 206);
    let second = client.request("GET", &url, &[range]).await;
    assert_eq!(
        (second.status.as_u16(), second.x_cache()),
        (206, "Hit from edge-test"),
        "the object was made a pass for everyone"
    );
}
