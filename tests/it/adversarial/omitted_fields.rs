//! `Cache-Control: private="Set-Cookie"` (or `no-cache="Set-Cookie"`)
//! lets a shared cache store the response without that field (RFC 9111
//! §5.2.2.4, §5.2.2.7): the body is shared, Alice's `Set-Cookie` is hers
//! alone. A hit drops it; a client that waited on Alice's fill, or whose
//! revalidation refreshed Alice's stored response, must not get it either.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::client::{Client, Reply};
use crate::support::{HttpOrigin, TestEdge, http_origin};

const WAITERS: &str = "cachefront_coalesced_waiters_total";
const ALICE_COOKIE: &str = "session=alice-secret";

fn config(origin: &HttpOrigin) -> String {
    origin
        .config("")
        .replace("response_timeout = \"1s\"", "response_timeout = \"30s\"")
}

/// Alice's fill is held while Bob and an anonymous client join it.
async fn waiters_of(client: Client, cache_control: &'static str, status: u16) -> Vec<Reply> {
    let origin = HttpOrigin::start(move |_| {
        let mut r = http_origin::ok(
            "shared body",
            &[("cache-control", cache_control), ("set-cookie", ALICE_COOKIE)],
        );
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        r
    })
    .await;
    let edge = TestEdge::start(&config(&origin)).await;
    let url = edge.url("/home");
    origin.gate.hold();
    let spawn = |headers: &'static [(&'static str, &'static str)]| {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move { client.request("GET", &url, headers).await })
    };
    let alice = spawn(&[]);
    origin.gate.wait_for_requests(1).await;
    let bob = spawn(&[("cookie", "session=bob")]);
    let anonymous = spawn(&[]);
    edge.admin_client().wait_for_metric(WAITERS, 2).await;
    origin.gate.release();
    let alice = alice.await.unwrap();
    assert_eq!(alice.header("set-cookie"), ALICE_COOKIE, "Alice's own answer keeps it");
    assert_eq!(origin.requests(), 1, "the body is shareable: one fill");
    vec![bob.await.unwrap(), anonymous.await.unwrap()]
}

async fn waiters_do_not_get_a_field_the_response_keeps_private(client: Client) {
    let cases = [
        ("max-age=60, private=\"Set-Cookie\"", 200),
        ("max-age=60, no-cache=\"set-cookie\"", 200),
        // An origin error is never stored, but shared with waiters when
        // a shared cache could store it: the same fields are Alice's.
        ("private=\"Set-Cookie\"", 500),
    ];
    for (cc, status) in cases {
        for r in waiters_of(client.clone(), cc, status).await {
            assert_eq!(
                (r.status.as_u16(), r.body.as_ref()),
                (status, &b"shared body"[..]),
                "{cc}"
            );
            assert!(
                r.headers.get("set-cookie").is_none(),
                "{cc}: a waiter got Alice's {:?}",
                r.headers.get("set-cookie")
            );
        }
    }
}

#[tokio::test]
async fn waiters_do_not_get_a_field_the_response_keeps_private_h1() {
    waiters_do_not_get_a_field_the_response_keeps_private(Client::new()).await;
}

#[tokio::test]
async fn waiters_do_not_get_a_field_the_response_keeps_private_h2() {
    waiters_do_not_get_a_field_the_response_keeps_private(Client::http2()).await;
}

/// Alice's answer is stored stale at once (`max-age=0` with an `ETag`);
/// Bob's request revalidates it and the origin confirms with a 304 that
/// carries no cookie: Bob gets the stored response, without Alice's.
async fn a_refreshed_response_keeps_the_stored_cookie_private(client: Client) {
    let n = AtomicUsize::new(0);
    let origin = HttpOrigin::start(move |seen| {
        if n.fetch_add(1, Ordering::SeqCst) == 0 {
            return http_origin::ok(
                "shared body",
                &[
                    ("cache-control", "max-age=0, private=\"Set-Cookie\""),
                    ("etag", "\"v1\""),
                    ("set-cookie", ALICE_COOKIE),
                ],
            );
        }
        if seen.headers.get("if-none-match").is_none_or(|v| v != "\"v1\"") {
            return http_origin::ok("refetched", &[]);
        }
        let mut r = http_origin::ok("", &[("cache-control", "max-age=60"), ("etag", "\"v1\"")]);
        *r.status_mut() = http::StatusCode::NOT_MODIFIED;
        r
    })
    .await;
    let edge = TestEdge::start(&config(&origin)).await;
    let url = edge.url("/home");
    let alice = client.request("GET", &url, &[]).await;
    assert_eq!(alice.header("set-cookie"), ALICE_COOKIE);
    let bob = client.request("GET", &url, &[("cookie", "session=bob")]).await;
    assert_eq!((bob.status.as_u16(), bob.body.as_ref()), (200, &b"shared body"[..]));
    assert_eq!(origin.requests(), 2, "Bob's request was a revalidation");
    assert!(
        bob.headers.get("set-cookie").is_none(),
        "Bob got Alice's {:?} ({})",
        bob.headers.get("set-cookie"),
        bob.x_cache()
    );
    let later = client.request("GET", &url, &[]).await;
    assert!(later.headers.get("set-cookie").is_none(), "a hit drops it");
}

#[tokio::test]
async fn a_refreshed_response_keeps_the_stored_cookie_private_h1() {
    a_refreshed_response_keeps_the_stored_cookie_private(Client::new()).await;
}

#[tokio::test]
async fn a_refreshed_response_keeps_the_stored_cookie_private_h2() {
    a_refreshed_response_keeps_the_stored_cookie_private(Client::http2()).await;
}
