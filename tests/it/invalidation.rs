//! Invalidation through the admin API: exact and wildcard paths remove
//! every variant and slice, a request afterwards is a Miss, a fill in
//! flight cannot store the purged object again, and CloudFront's rules
//! on paths are enforced.

use crate::support::http_origin::{Seen, ranged};
use crate::support::{HttpOrigin, S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

fn css(version: &str) -> String {
    format!("/* {version} */ body {{ color: black; }}\n").repeat(80)
}

fn id_of(reply: &crate::support::client::Reply) -> String {
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["status"], "Completed", "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn exact_and_wildcard_paths_remove_every_variant() {
    let origin = S3Origin::start().await;
    origin.put("static/css/site.css", css("v1"));
    origin.put("static/js/app.js", "console.log(1);\n".repeat(100));
    origin.put("media/a.txt", "media");
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    let admin = edge.admin_client();
    let br = [("accept-encoding", "br")];
    for path in ["/static/css/site.css", "/static/js/app.js", "/media/a.txt"] {
        assert!(edge.get(path).await.x_cache().starts_with("Miss"));
        assert!(edge.request("GET", path, &br).await.x_cache().starts_with("Hit"));
    }
    let fetched = origin.requests();

    let r = admin.invalidate(&["/static/css/site.css"]).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = id_of(&r);
    let status = admin.get(&format!("/invalidations/{id}")).await;
    assert_eq!(status.status, 200);
    assert!(String::from_utf8_lossy(&status.body).contains("\"Completed\""));

    origin.put("static/css/site.css", css("v2"));
    let after = edge.request("GET", "/static/css/site.css", &br).await;
    assert!(after.x_cache().starts_with("Miss"), "the br variant went too");
    assert_eq!(after.header("content-encoding"), "br");
    assert_eq!(origin.requests(), fetched + 1);
    let identity = edge.get("/static/css/site.css").await;
    assert!(identity.body == css("v2").as_bytes(), "the new version");
    assert!(
        edge.get("/static/js/app.js").await.x_cache().starts_with("Hit"),
        "a sibling stays"
    );

    assert_eq!(admin.invalidate(&["/static/*"]).await.status, 201);
    assert!(edge.get("/static/js/app.js").await.x_cache().starts_with("Miss"));
    assert!(
        edge.request("GET", "/static/css/site.css", &br)
            .await
            .x_cache()
            .starts_with("Miss")
    );
    assert!(
        edge.get("/media/a.txt").await.x_cache().starts_with("Hit"),
        "another route stays"
    );

    assert_eq!(admin.invalidate(&["/*"]).await.status, 201);
    assert!(edge.get("/media/a.txt").await.x_cache().starts_with("Miss"));
    let unknown = admin.get("/invalidations/INOPE").await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn an_invalidation_removes_every_slice() {
    let body = bytes::Bytes::from(vec![7u8; 3 << 20]);
    let b = body.clone();
    let origin = HttpOrigin::start(move |seen: &Seen| ranged(seen, &b, "\"v1\"")).await;
    let toml = format!(
        "[cache]\nmax_object_size = \"1MiB\"\n{}\nslice = \"1MiB\"",
        origin.config("")
    );
    let edge = TestEdge::start(&toml).await;
    assert_eq!(edge.get("/video.mp4").await.body, body);
    assert_eq!(origin.requests(), 3, "three slices");
    assert!(edge.running().cache_usage().entries >= 4);

    let r = edge.admin_client().invalidate(&["/video.mp4"]).await;
    assert_eq!(r.status, 201);
    assert_eq!(edge.running().cache_usage().entries, 0, "object and slices gone");
    let part = edge
        .request("GET", "/video.mp4", &[("range", "bytes=1048576-1048586")])
        .await;
    assert_eq!(part.status, 206);
    assert!(part.x_cache().starts_with("Miss"));
    assert_eq!(origin.requests(), 4);
}

#[tokio::test]
async fn a_fill_in_flight_cannot_put_the_invalidated_object_back() {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", css("old"));
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    origin.gate.hold();
    let client = edge.client.clone();
    let url = edge.url("/static/a.css");
    let first = tokio::spawn(async move { client.request("GET", &url, &[]).await });
    origin.gate.wait_for_requests(1).await;

    // A fill that started before the invalidation is held at the origin
    // (the test S3 origin reads the object only once released).
    let r = edge.admin_client().invalidate(&["/static/a.css"]).await;
    assert_eq!(r.status, 201);
    origin.gate.release();
    let first = first.await.unwrap();
    assert!(first.x_cache().starts_with("Miss"));
    assert!(
        first.body == css("old").as_bytes(),
        "the waiting client gets its answer"
    );

    let next = edge.get("/static/a.css").await;
    assert!(next.x_cache().starts_with("Miss"), "not stored by the fill from before");
    assert_eq!(origin.requests(), 2);
    assert!(edge.get("/static/a.css").await.x_cache().starts_with("Hit"));
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn paths_follow_cloudfronts_rules() {
    let origin = S3Origin::start().await;
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    let admin = edge.admin_client();
    let long = format!("/{}", "a".repeat(4000));
    let fifteen: Vec<String> = (0..15).map(|i| format!("/static/{i}/*")).collect();
    let sixteen: Vec<String> = (0..16).map(|i| format!("/static/{i}/*")).collect();
    let exact: Vec<String> = (0..3001).map(|i| format!("/static/{i}.css")).collect();
    for (paths, reason) in [
        (vec![], "no paths"),
        (vec!["static/a.css"], "does not start with '/'"),
        (vec!["/static/*.css"], "not its last character"),
        (vec![long.as_str()], "the limit is 4000"),
        (refs(&sixteen), "too many invalidations in progress"),
        (refs(&exact), "too many invalidations in progress"),
    ] {
        let r = admin.invalidate(&paths).await;
        assert_eq!(r.status, 400, "{paths:.3?}");
        let body = String::from_utf8_lossy(&r.body);
        assert!(body.contains(reason), "{body}");
    }
    assert_eq!(admin.invalidate(&refs(&fifteen)).await.status, 201);
    assert_eq!(admin.invalidate(&refs(&exact[..3000])).await.status, 201);
    let json = [("content-type", "application/json")];
    let bad_json = admin.send("POST", "/invalidations", &json, "{\"path\": []}").await;
    assert_eq!(bad_json.status, 400);
}
