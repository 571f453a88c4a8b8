//! `immutable = "hashed"`: Django's hashed names are immutable for a year,
//! the unhashed originals and `staticfiles.json` are not, at the client and
//! at the edge.

use std::time::Duration;

use crate::support::http_origin::ok;
use crate::support::{HttpOrigin, S3Origin, TestEdge};

const YEAR: &str = "public, max-age=31536000, immutable";

fn route(extra: &str) -> String {
    format!(
        r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
cache_control = "{YEAR}"
ttl = {{ min = "0s", default = "1d", max = "365d" }}
immutable = "hashed"
{extra}
"#
    )
}

#[tokio::test]
async fn hashed_names_get_the_routes_cache_control_and_others_the_unhashed_one() {
    let origin = S3Origin::start().await;
    origin.put("static/css/site.a7408308e012.css", "body{}");
    origin.put("static/css/site.css", "body{}");
    origin.put("static/staticfiles.json", r#"{"paths":{}}"#);
    let edge = TestEdge::start(&origin.config(&route(""))).await;

    let hashed = edge.get("/static/css/site.a7408308e012.css").await;
    assert_eq!(hashed.header("cache-control"), YEAR);
    for path in ["/static/css/site.css", "/static/staticfiles.json"] {
        let r = edge.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("cache-control"),
            "public, max-age=300, must-revalidate",
            "{path}"
        );
        // The same on a hit: decided at fill time, stored with the object.
        let hit = edge.get(path).await;
        assert_eq!(hit.x_cache(), "Hit from edge-test");
        assert_eq!(hit.header("cache-control"), "public, max-age=300, must-revalidate");
    }
    assert_eq!(
        edge.get("/static/css/site.a7408308e012.css")
            .await
            .header("cache-control"),
        YEAR
    );
}

#[tokio::test]
async fn the_edge_ttl_of_an_unhashed_name_is_capped_at_its_max_age() {
    let origin = S3Origin::start().await;
    origin.put("static/app.2401bdcab665.js", "v1");
    origin.put("static/app.js", "v1");
    let edge = TestEdge::start(&origin.config(&route(r#"cache_control_unhashed = "public, max-age=1""#))).await;
    edge.get("/static/app.2401bdcab665.js").await;
    edge.get("/static/app.js").await;
    assert_eq!(origin.requests(), 2);
    origin.put("static/app.js", "v2");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let hashed = edge.get("/static/app.2401bdcab665.js").await;
    assert_eq!(hashed.x_cache(), "Hit from edge-test", "a day of edge TTL");
    let unhashed = edge.get("/static/app.js").await;
    assert_eq!(unhashed.body, "v2", "capped at 1 s, then fetched again");
    assert_eq!(unhashed.header("cache-control"), "public, max-age=1");
}

#[tokio::test]
async fn a_year_in_the_origins_metadata_does_not_pin_an_unhashed_name() {
    // django-storages often uploads originals with a year and `immutable`.
    let origin = HttpOrigin::start(|_| ok("x", &[("cache-control", YEAR)])).await;
    let edge = TestEdge::start(&origin.config(
        r#"cache_control_unhashed = "public, max-age=1"
immutable = "hashed""#,
    ))
    .await;
    edge.get("/site.css").await;
    edge.get("/site.0123456789ab.css").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(edge.get("/site.0123456789ab.css").await.x_cache(), "Hit from edge-test");
    let r = edge.get("/site.css").await;
    assert_ne!(r.x_cache(), "Hit from edge-test");
    assert_eq!(r.header("cache-control"), "public, max-age=1");
    assert_eq!(origin.requests(), 3);
}

#[tokio::test]
async fn always_keeps_the_plain_behaviour() {
    let origin = S3Origin::start().await;
    origin.put("static/site.css", "x");
    let edge = TestEdge::start(&origin.config(&route("").replace("\"hashed\"", "\"always\""))).await;
    assert_eq!(edge.get("/static/site.css").await.header("cache-control"), YEAR);
}

#[tokio::test]
async fn a_custom_pattern_decides_what_is_hashed() {
    let origin = S3Origin::start().await;
    origin.put("static/site-abcdef01.css", "x");
    origin.put("static/site.0123456789ab.css", "x");
    let edge = TestEdge::start(&origin.config(&route(r#"hashed_pattern = '-[0-9a-f]{8}\.css$'"#))).await;
    assert_eq!(
        edge.get("/static/site-abcdef01.css").await.header("cache-control"),
        YEAR
    );
    assert_eq!(
        edge.get("/static/site.0123456789ab.css").await.header("cache-control"),
        "public, max-age=300, must-revalidate"
    );
}
