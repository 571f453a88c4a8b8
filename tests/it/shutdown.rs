//! Graceful shutdown: in-flight requests finish, new ones are refused.

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

#[tokio::test]
async fn shutdown_finishes_an_in_flight_request() {
    let origin = S3Origin::start().await;
    origin.put("static/app.js", "let x = 1;");
    let mut edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;

    origin.gate.hold();
    let client = edge.client.clone();
    let url = edge.url("/static/app.js");
    let in_flight = tokio::spawn(async move { client.request("GET", &url, &[]).await });
    origin.gate.wait_for_requests(1).await;

    let running = edge.running.take().unwrap();
    let stopping = tokio::spawn(running.shutdown());
    origin.gate.release();

    let r = in_flight.await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "let x = 1;");
    tokio::time::timeout(std::time::Duration::from_secs(10), stopping)
        .await
        .expect("shutdown completes")
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(edge.addr).await.is_err(),
        "listener closed"
    );
}
