//! Graceful drain: `/readyz` 503 at once, HTTP/1.1 clients told to close,
//! HTTP/2 clients sent GOAWAY, listeners open for `drain_delay`, in-flight
//! responses finished within `drain_timeout`.

use std::time::{Duration, Instant};

use crate::support::client::Client;
use crate::support::http_origin::ok;
use crate::support::tls::Conn;
use crate::support::{HttpOrigin, TestEdge};

async fn edge(origin: &HttpOrigin, delay: &str, timeout: &str) -> TestEdge {
    let config = origin.config("").replace(
        "[server]\n",
        &format!("[server]\ndrain_delay = \"{delay}\"\ndrain_timeout = \"{timeout}\"\n"),
    );
    TestEdge::start(&config).await
}

async fn wait_not_ready(edge: &TestEdge) {
    let client = Client::new();
    for _ in 0..200 {
        let r = client
            .request("GET", &format!("http://{}/readyz", edge.admin), &[])
            .await;
        if r.status == 503 {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("/readyz never turned 503");
}

#[tokio::test]
async fn drain_finishes_a_slow_response_and_tells_clients_to_leave() {
    let origin = HttpOrigin::start(|_| ok("slow or not", &[("cache-control", "max-age=60")])).await;
    let mut edge = edge(&origin, "1s", "10s").await;
    let mut h1 = Conn::plain(edge.addr, false).await;
    let mut h2 = Conn::plain(edge.addr, true).await;
    assert_eq!(h1.get("/fast").await.header("connection"), "");
    assert_eq!(h2.get("/fast").await.status, 200);

    origin.gate.hold();
    let client = edge.client.clone();
    let url = edge.url("/slow");
    let in_flight = tokio::spawn(async move { client.request("GET", &url, &[]).await });
    origin.gate.wait_for_requests(2).await;

    let started = Instant::now();
    let stopping = tokio::spawn(edge.running.take().unwrap().shutdown());
    wait_not_ready(&edge).await;

    let r = h1.get("/fast").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), "close", "HTTP/1.1: told to reconnect");
    tokio::time::timeout(Duration::from_secs(5), &mut h2.task)
        .await
        .expect("HTTP/2: GOAWAY closed the idle connection")
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(edge.addr).await.is_ok(),
        "still accepting during drain_delay"
    );

    origin.gate.release();
    let r = in_flight.await.unwrap();
    assert_eq!((r.status.as_u16(), &r.body[..]), (200, &b"slow or not"[..]));
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("drain completes")
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "listeners stayed for drain_delay"
    );
    assert!(
        tokio::net::TcpStream::connect(edge.addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn drain_timeout_bounds_a_response_that_never_finishes() {
    let origin = HttpOrigin::start(|_| ok("never", &[])).await;
    let mut edge = edge(&origin, "0s", "200ms").await;
    origin.gate.hold();
    let mut conn = Conn::plain(edge.addr, false).await;
    let in_flight = tokio::spawn(async move { conn.try_get("/stuck").await.map(|(_, r)| r.status) });
    origin.gate.wait_for_requests(1).await;

    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), edge.running.take().unwrap().shutdown())
        .await
        .expect("drain gives up after drain_timeout");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let outcome = in_flight.await.unwrap();
    assert!(outcome.is_err(), "the connection was cut: {outcome:?}");
    origin.gate.release();
}
