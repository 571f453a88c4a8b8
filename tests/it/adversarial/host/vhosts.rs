//! A signed route in front of an origin that serves several sites by
//! `Host` (`preserve_host`): the `Host` the origin is sent chooses the
//! site, so a policy signed for one of this site's names must not open the
//! same path on another site of the origin's. With `hostnames` configured
//! a `Host` that is none of them is checked against every name (it does
//! not reach an S3 or a fixed-host origin), but here it would be the
//! origin's choice of site: refused.

use super::wire::{h1_get, h2_get};
use super::{OWN, SECRET, USER1_POLICY, sign};
use crate::support::{HttpOrigin, TestEdge, http_origin};

/// An origin with two sites: cdn.example.com (user1's file) and
/// intranet.example (a secret at the same path).
async fn two_sites() -> (HttpOrigin, TestEdge) {
    let origin = HttpOrigin::start(|seen| {
        let host = seen.headers.get("host").map_or("", |h| h.to_str().unwrap_or(""));
        let body = if host.starts_with("cdn.example.com") {
            OWN
        } else {
            SECRET
        };
        http_origin::ok(body, &[("cache-control", "max-age=60")])
    })
    .await;
    let keys = format!(
        "\n[trusted_keys]\n{} = \"{}/ec-public.pem\"\n",
        super::KEY_ID,
        super::FIXTURES
    );
    let config = origin
        .config("signed = true")
        .replace("kind = \"http\"", "kind = \"http\"\npreserve_host = true")
        .replacen("[server]\n", "[server]\nhostnames = [\"cdn.example.com\"]\n", 1)
        + &keys;
    let edge = TestEdge::start(&config).await;
    (origin, edge)
}

#[tokio::test]
async fn a_policy_for_this_site_does_not_open_another_site_of_the_origin() {
    let (origin, edge) = two_sites().await;
    let user1 = sign(USER1_POLICY);
    let target = format!("/media/user1/own.txt?{}", user1.query);
    let got = h1_get(edge.addr, &target, "cdn.example.com", None).await;
    assert_eq!((got.status, got.body.as_str()), (200, OWN));
    let got = h1_get(edge.addr, &target, "intranet.example", None).await;
    got.assert_no_secret("HTTP/1.1, Host intranet.example");
    let got = h1_get(
        edge.addr,
        "/media/user1/own.txt",
        "intranet.example",
        Some(&user1.cookie),
    )
    .await;
    got.assert_no_secret("HTTP/1.1 signed cookies, Host intranet.example");
    let got = h2_get(edge.addr, &format!("http://intranet.example{target}"), &[]).await;
    got.assert_no_secret("h2, :authority intranet.example");
    let hosts: Vec<String> = origin
        .seen()
        .iter()
        .filter_map(|s| s.headers.get("host").map(|h| h.to_str().unwrap().to_string()))
        .collect();
    assert_eq!(hosts, ["cdn.example.com"], "the origin was asked for another site");
}
