//! Coalescing shares only what a shared cache may serve (RFC 9111 §3,
//! §3.5, §4), a hot private URL is not serialised behind one fill
//! (hit-for-miss), and a slow origin cannot take the fills of another.
//!
//! Alice's fill is held at a gated origin while Bob and an anonymous
//! client join it; the edge's `coalesced_waiters` counter says when they
//! have, so nothing sleeps to wait for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::support::client::{Client, Reply};
use crate::support::{HttpOrigin, TestEdge, http_origin};

const ALICE: &str = "Alice's private page";
const WAITERS: &str = "cachefront_coalesced_waiters_total";

type Headers = &'static [(&'static str, &'static str)];

/// A request of Alice's and the origin's answer to it.
struct Case {
    name: &'static str,
    request: Headers,
    response: Headers,
}

const AUTHORIZED: Headers = &[("authorization", "Bearer alice")];

/// Answers a shared cache must not give to anyone but Alice.
const UNSHAREABLE: &[Case] = &[
    Case {
        name: "private",
        request: &[],
        response: &[("cache-control", "private, max-age=60")],
    },
    Case {
        name: "no-store",
        request: &[],
        response: &[("cache-control", "no-store")],
    },
    Case {
        name: "set-cookie",
        request: &[],
        response: &[
            ("cache-control", "max-age=60"),
            ("set-cookie", "session=alice-secret; HttpOnly"),
        ],
    },
    Case {
        name: "authorization",
        request: AUTHORIZED,
        response: &[("cache-control", "max-age=60")],
    },
];

/// Answers to an authorized request that say a shared cache may reuse them.
const SHAREABLE_WITH_AUTHORIZATION: &[Case] = &[
    Case {
        name: "public",
        request: AUTHORIZED,
        response: &[("cache-control", "public, max-age=60")],
    },
    Case {
        name: "s-maxage",
        request: AUTHORIZED,
        response: &[("cache-control", "s-maxage=60")],
    },
    Case {
        name: "must-revalidate",
        request: AUTHORIZED,
        response: &[("cache-control", "must-revalidate, max-age=60")],
    },
];

/// An origin whose first answer (Alice's) is `alice`, and every later one
/// a private page naming its request's number.
async fn alice_first(alice: Headers) -> HttpOrigin {
    let n = AtomicUsize::new(0);
    HttpOrigin::start(move |_| match n.fetch_add(1, Ordering::SeqCst) {
        0 => http_origin::ok(ALICE, alice),
        i => http_origin::ok(&format!("page for request {i}"), &[("cache-control", "private")]),
    })
    .await
}

/// The origin's one-route config, with room for held answers.
fn config(origin: &HttpOrigin, cache: &str) -> String {
    origin
        .config("")
        .replace("response_timeout = \"1s\"", "response_timeout = \"30s\"")
        .replace("[[routes]]", &format!("[cache]\n{cache}\n\n[[routes]]"))
}

fn get(client: &Client, url: String, headers: Headers) -> JoinHandle<Reply> {
    let client = client.clone();
    tokio::spawn(async move { client.request("GET", &url, headers).await })
}

struct Coalesced {
    alice: Reply,
    bob: Reply,
    anonymous: Reply,
    origin_requests: usize,
}

/// Alice's request is at the origin, held; Bob and an anonymous client
/// ask for the same URL and wait on her fill; then the origin answers.
async fn alice_bob_and_anonymous(client: &Client, origin: HttpOrigin, alice_request: Headers) -> Coalesced {
    let edge = TestEdge::start(&config(&origin, "")).await;
    let url = edge.url("/account");
    origin.gate.hold();
    let alice = get(client, url.clone(), alice_request);
    origin.gate.wait_for_requests(1).await;
    let bob = get(client, url.clone(), &[("cookie", "session=bob")]);
    let anonymous = get(client, url, &[]);
    edge.admin_client().wait_for_metric(WAITERS, 2).await;
    origin.gate.release();
    Coalesced {
        alice: alice.await.unwrap(),
        bob: bob.await.unwrap(),
        anonymous: anonymous.await.unwrap(),
        origin_requests: origin.requests(),
    }
}

/// What went wrong for the waiters of `case`, if anything.
fn shared_wrongly(case: &Case, c: &Coalesced) -> Vec<String> {
    let mut wrong = Vec::new();
    if c.alice.body != ALICE {
        wrong.push(format!("Alice got {:?}", c.alice.body));
    }
    for (who, r) in [("Bob", &c.bob), ("the anonymous client", &c.anonymous)] {
        if r.status != 200 || !r.body.starts_with(b"page for request ") {
            wrong.push(format!("{who} got {} {:?}", r.status, String::from_utf8_lossy(&r.body)));
        }
        if let Some(cookie) = r.headers.get("set-cookie") {
            wrong.push(format!("{who} got Set-Cookie {cookie:?}"));
        }
    }
    if c.bob.body == c.anonymous.body {
        wrong.push("Bob and the anonymous client got the same page".into());
    }
    if c.origin_requests != 3 {
        wrong.push(format!("the origin was asked {} times, not 3", c.origin_requests));
    }
    wrong.into_iter().map(|w| format!("{}: {w}", case.name)).collect()
}

async fn waiters_never_get_an_unshareable_response(client: Client) {
    let mut wrong = Vec::new();
    for case in UNSHAREABLE {
        let c = alice_bob_and_anonymous(&client, alice_first(case.response).await, case.request).await;
        wrong.extend(shared_wrongly(case, &c));
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn waiters_never_get_an_unshareable_response_h1() {
    waiters_never_get_an_unshareable_response(Client::new()).await;
}

#[tokio::test]
async fn waiters_never_get_an_unshareable_response_h2() {
    waiters_never_get_an_unshareable_response(Client::http2()).await;
}

async fn an_authorized_fill_is_shared_when_the_response_allows_it(client: Client) {
    for case in SHAREABLE_WITH_AUTHORIZATION {
        let c = alice_bob_and_anonymous(&client, alice_first(case.response).await, case.request).await;
        for r in [&c.alice, &c.bob, &c.anonymous] {
            assert_eq!(r.status, 200, "{}", case.name);
            assert_eq!(r.body, ALICE, "{}: §3.5 allows sharing it", case.name);
        }
        assert_eq!(c.origin_requests, 1, "{}: one fill for three clients", case.name);
    }
}

#[tokio::test]
async fn an_authorized_fill_is_shared_when_the_response_allows_it_h1() {
    an_authorized_fill_is_shared_when_the_response_allows_it(Client::new()).await;
}

#[tokio::test]
async fn an_authorized_fill_is_shared_when_the_response_allows_it_h2() {
    an_authorized_fill_is_shared_when_the_response_allows_it(Client::http2()).await;
}

/// An origin that answers private pages (numbered) until `cacheable`.
async fn private_until(cacheable: Arc<AtomicBool>) -> HttpOrigin {
    let n = AtomicUsize::new(0);
    HttpOrigin::start(move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        if cacheable.load(Ordering::SeqCst) {
            http_origin::ok("shared page", &[("cache-control", "max-age=60")])
        } else {
            http_origin::ok(&format!("private page {i}"), &[("cache-control", "private")])
        }
    })
    .await
}

/// `n` clients asking at once, each answered.
async fn all_at_once(client: &Client, url: &str, n: usize) -> Vec<JoinHandle<Reply>> {
    (0..n).map(|_| get(client, url.to_string(), &[])).collect()
}

async fn answers(tasks: Vec<JoinHandle<Reply>>) -> Vec<Reply> {
    let mut replies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200);
        replies.push(r);
    }
    replies
}

async fn a_hot_private_url_goes_to_the_origin_in_parallel(client: Client) {
    let cacheable = Arc::new(AtomicBool::new(false));
    let origin = private_until(cacheable.clone()).await;
    // Long enough for any machine; `hit_for_miss_ends_when_it_expires`
    // checks the end.
    let edge = TestEdge::start(&config(&origin, "hit_for_miss = \"1h\"")).await;
    let url = edge.url("/inbox");
    assert_eq!(client.request("GET", &url, &[]).await.body, "private page 0");

    // The URL is known to be private: eight clients are all at the origin
    // at once (coalesced, only one would be).
    origin.gate.hold();
    let tasks = all_at_once(&client, &url, 8).await;
    origin.gate.wait_for_requests(1 + 8).await;
    origin.gate.release();
    let mut bodies: Vec<_> = answers(tasks).await.into_iter().map(|r| r.body).collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 8, "each client its own page");
    assert_eq!(edge.admin_client().metric(WAITERS).await, 0, "nobody waited on another");

    // A storable answer ends it: cached at once.
    cacheable.store(true, Ordering::SeqCst);
    let first = client.request("GET", &url, &[]).await;
    assert_eq!(
        (first.body.as_ref(), first.x_cache()),
        (&b"shared page"[..], "Miss from edge-test")
    );
    let second = client.request("GET", &url, &[]).await;
    assert_eq!(
        (second.body.as_ref(), second.x_cache()),
        (&b"shared page"[..], "Hit from edge-test")
    );
    assert_eq!(origin.requests(), 10);
}

#[tokio::test]
async fn a_hot_private_url_goes_to_the_origin_in_parallel_h1() {
    a_hot_private_url_goes_to_the_origin_in_parallel(Client::new()).await;
}

#[tokio::test]
async fn a_hot_private_url_goes_to_the_origin_in_parallel_h2() {
    a_hot_private_url_goes_to_the_origin_in_parallel(Client::http2()).await;
}

/// Three clients at once on a URL the edge does not know to be private:
/// two wait on the first one's fill, then ask the origin themselves.
async fn coalesced_again(edge: &TestEdge, origin: &HttpOrigin, url: &str) {
    let admin = edge.admin_client();
    let (waiters, asked) = (admin.metric(WAITERS).await, origin.requests());
    origin.gate.hold();
    let tasks = all_at_once(&edge.client, url, 3).await;
    admin.wait_for_metric(WAITERS, waiters + 2).await;
    origin.gate.release();
    answers(tasks).await;
    assert_eq!(origin.requests(), asked + 3);
}

#[tokio::test]
async fn hit_for_miss_ends_when_it_expires() {
    let origin = private_until(Arc::new(AtomicBool::new(false))).await;
    let edge = TestEdge::start(&config(&origin, "hit_for_miss = \"300ms\"")).await;
    edge.get("/inbox").await;
    // The configured marker lifetime, not a wait for readiness.
    tokio::time::sleep(Duration::from_millis(600)).await;
    coalesced_again(&edge, &origin, &edge.url("/inbox")).await;
}

#[tokio::test]
async fn invalidation_clears_hit_for_miss() {
    let origin = private_until(Arc::new(AtomicBool::new(false))).await;
    let edge = TestEdge::start(&config(&origin, "hit_for_miss = \"1h\"")).await;
    let url = edge.url("/inbox");
    edge.get("/inbox").await;
    origin.gate.hold();
    let tasks = all_at_once(&edge.client, &url, 2).await;
    origin.gate.wait_for_requests(1 + 2).await;
    origin.gate.release();
    answers(tasks).await;

    let r = edge.admin_client().invalidate(&["/inbox"]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    coalesced_again(&edge, &origin, &url).await;
}

#[tokio::test]
async fn hit_for_miss_can_be_turned_off() {
    let origin = private_until(Arc::new(AtomicBool::new(false))).await;
    let edge = TestEdge::start(&config(&origin, "hit_for_miss = \"0s\"")).await;
    edge.get("/inbox").await;
    coalesced_again(&edge, &origin, &edge.url("/inbox")).await;
}

#[tokio::test]
async fn an_origin_error_with_a_session_cookie_goes_only_to_its_client() {
    for client in [Client::new(), Client::http2()] {
        let n = AtomicUsize::new(0);
        let origin = HttpOrigin::start(move |_| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            let cookie: Headers = if i == 0 {
                &[("set-cookie", "session=alice-secret")]
            } else {
                &[]
            };
            let mut r = http_origin::ok(&format!("error page {i}"), cookie);
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
        .await;
        let c = alice_bob_and_anonymous(&client, origin, &[]).await;
        assert_eq!(
            (c.alice.status.as_u16(), c.alice.header("set-cookie")),
            (500, "session=alice-secret")
        );
        for r in [&c.bob, &c.anonymous] {
            assert_eq!(r.status, 500);
            assert!(r.body.starts_with(b"error page "), "{:?}", r.body);
            assert!(r.headers.get("set-cookie").is_none(), "a waiter got Alice's cookie");
        }
        assert_eq!(c.origin_requests, 3);
    }
}

#[test]
fn hit_for_miss_is_checked() {
    let text = |v: &str| {
        format!(
            "[cache]\nhit_for_miss = {v}\n\n[origins.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/\"\norigin = \"app\"\n"
        )
    };
    let parse = |v: &str| cachefront::config::Config::parse(&text(v), std::path::Path::new("."));
    assert_eq!(parse("\"1h\"").unwrap().cache.hit_for_miss, Duration::from_secs(3600));
    for bad in ["\"2h\"", "\"soon\""] {
        let err = parse(bad).unwrap_err().to_string();
        assert!(
            err.contains("line 2, column") && err.contains("cache.hit_for_miss"),
            "hit_for_miss = {bad}: {err}"
        );
    }
}
