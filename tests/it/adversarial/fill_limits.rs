//! One slow origin cannot take every fill (issue 18 item 7): fills queue
//! per origin (`origins.X.max_fills`, by default half of
//! `cache.max_fills`) before they take one of the node's, so a miss on
//! another origin is filled while the slow one's fills are all held.

use std::path::Path;
use std::time::Duration;

use cachefront::config::Config;
use tokio::task::JoinHandle;

use crate::support::client::{Client, Reply};
use crate::support::{HttpOrigin, S3Origin, TestEdge, http_origin};

/// Slow fills asked for at once: well beyond the node's 16.
const SLOW_CLIENTS: usize = 40;

/// An S3 origin on `/media/` and the slow HTTP origin on `/slow/`.
fn config(s3: &S3Origin, slow: &HttpOrigin, slow_extra: &str) -> String {
    s3.config(&format!(
        r#"
[cache]
max_fills = 16

[origins.slow]
kind = "http"
url = "{}"
response_timeout = "30s"
{slow_extra}

[[routes]]
path = "/media/"
origin = "s3"
key_prefix = "media/"

[[routes]]
path = "/slow/"
origin = "slow"
"#,
        slow.url()
    ))
}

/// Holds the slow origin, sends `SLOW_CLIENTS` misses to it, waits until
/// `held` of them are at the origin, then asks S3 for an object: it must
/// be answered while every slow fill is still held.
async fn s3_miss_beside_held_fills(client: Client, slow_extra: &str, held: usize) {
    let s3 = S3Origin::start().await;
    s3.put("media/a.txt", "media bytes");
    let slow = HttpOrigin::start(|_| http_origin::ok("slow", &[("cache-control", "max-age=60")])).await;
    let edge = TestEdge::start(&config(&s3, &slow, slow_extra)).await;
    slow.gate.hold();
    let tasks: Vec<JoinHandle<Reply>> = (0..SLOW_CLIENTS)
        .map(|i| {
            let (client, url) = (client.clone(), edge.url(&format!("/slow/{i}")));
            tokio::spawn(async move { client.request("GET", &url, &[]).await })
        })
        .collect();
    slow.gate.wait_for_requests(held).await;

    let media = tokio::time::timeout(
        Duration::from_secs(10),
        client.request("GET", &edge.url("/media/a.txt"), &[]),
    )
    .await
    .expect("the S3 miss is filled while the slow origin holds its fills");
    assert_eq!((media.status.as_u16(), media.body.as_ref()), (200, &b"media bytes"[..]));
    assert_eq!(slow.requests(), held, "the slow origin has its share of fills, no more");
    assert!(tasks.iter().all(|t| !t.is_finished()), "every slow fill still held");

    slow.gate.release();
    for t in tasks {
        assert_eq!(t.await.unwrap().body, "slow");
    }
    assert_eq!(slow.requests(), SLOW_CLIENTS);
}

#[tokio::test]
async fn a_slow_origin_takes_half_the_fills_by_default_h1() {
    s3_miss_beside_held_fills(Client::new(), "", 8).await;
}

#[tokio::test]
async fn a_slow_origin_takes_half_the_fills_by_default_h2() {
    s3_miss_beside_held_fills(Client::http2(), "", 8).await;
}

#[tokio::test]
async fn origin_max_fills_bounds_its_fills() {
    s3_miss_beside_held_fills(Client::new(), "max_fills = 3", 3).await;
}

#[test]
fn origin_max_fills_is_checked() {
    let text = |n: &str| {
        format!(
            "[cache]\nmax_fills = 16\n\n[origins.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\nmax_fills = {n}\n\n[[routes]]\npath = \"/\"\norigin = \"app\"\n"
        )
    };
    assert!(Config::parse(&text("16"), Path::new(".")).is_ok());
    for bad in ["0", "17", "-1"] {
        let err = Config::parse(&text(bad), Path::new(".")).unwrap_err().to_string();
        assert!(
            err.contains("line 7, column") && err.contains("origins.app.max_fills") && err.contains("between 1 and 16"),
            "max_fills = {bad}: {err}"
        );
    }
    let err = Config::parse(&text("\"many\""), Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 7"), "{err}");
}
