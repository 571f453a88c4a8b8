//! One origin request per key, however many clients ask at once, and a
//! fill that survives its first client.

use std::time::Duration;

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

#[tokio::test]
async fn hundred_concurrent_cold_gets_make_one_origin_get() {
    let origin = S3Origin::start().await;
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    origin.put("media/video/intro.bin", &body);
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;

    origin.gate.hold();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let client = edge.client.clone();
        let url = edge.url("/media/video/intro.bin");
        tasks.push(tokio::spawn(async move { client.request("GET", &url, &[]).await }));
    }
    origin.gate.wait_for_requests(1).await;
    // Let the other 99 reach the edge and join the fill in flight.
    tokio::time::sleep(Duration::from_millis(200)).await;
    origin.gate.release();

    let mut misses = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body.as_ref(), &body[..], "every client gets the same bytes");
        if r.x_cache().starts_with("Miss") {
            misses += 1;
        }
    }
    assert_eq!(origin.requests(), 1, "one origin GET for 100 clients");
    assert!(misses > 1, "requests overlapped the fill ({misses} waited on it)");
}

#[tokio::test]
async fn client_disconnect_does_not_cancel_the_fill() {
    let origin = S3Origin::start().await;
    origin.put("static/app.js", "console.log(1)");
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;

    origin.gate.hold();
    let client = edge.client.clone();
    let url = edge.url("/static/app.js");
    let impatient = tokio::spawn(async move { client.request("GET", &url, &[]).await });
    origin.gate.wait_for_requests(1).await;
    impatient.abort(); // the client goes away mid-fill
    let _ = impatient.await;
    origin.gate.release();

    // Either joins the fill still in flight or finds its stored result;
    // a cancelled fill would show as a second origin request.
    let r = edge.get("/static/app.js").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "console.log(1)");
    assert_eq!(edge.get("/static/app.js").await.x_cache(), "Hit from edge-test");
    assert_eq!(origin.requests(), 1);
}
