//! Warm-up from Django's manifest: `[warm]` at start-up (with `/readyz`
//! waiting for it), `POST /warm` on the admin listener, `cachefront warm`.

use std::process::Command;
use std::time::Duration;

use crate::support::{S3Origin, TestEdge};

const MANIFEST: &str = r#"{"paths": {"css/site.css": "css/site.a7408308e012.css", "js/app.js": "js/app.2401bdcab665.js", "img/logo.svg": "img/logo.5a98c8489866.svg", "gone.txt": "gone.0123456789ab.txt"}, "version": "1.1"}"#;
const HASHED: [&str; 3] = [
    "/static/css/site.a7408308e012.css",
    "/static/js/app.2401bdcab665.js",
    "/static/img/logo.5a98c8489866.svg",
];

const ROUTE: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
ttl = { default = "1d" }
immutable = "hashed"
"#;

async fn bucket() -> S3Origin {
    let origin = S3Origin::start().await;
    origin.put("static/staticfiles.json", MANIFEST);
    for path in HASHED {
        origin.put(path.trim_start_matches('/'), "x".repeat(1000));
    }
    origin
}

async fn admin(edge: &TestEdge, method: &str, path: &str) -> (u16, String) {
    let r = edge
        .client
        .request(method, &format!("http://{}{path}", edge.admin), &[])
        .await;
    (r.status.as_u16(), String::from_utf8_lossy(&r.body).into_owned())
}

async fn all_hits(edge: &TestEdge) {
    for path in HASHED {
        assert_eq!(edge.get(path).await.x_cache(), "Hit from edge-test", "{path}");
    }
}

#[tokio::test]
async fn post_warm_fills_every_hashed_path_and_lists_failures() {
    let origin = bucket().await;
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    let (status, text) = admin(&edge, "POST", "/warm?manifest=/static/staticfiles.json").await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.starts_with("warmed 3 objects, 3000 bytes, 1 failures, 0 skipped"),
        "{text}"
    );
    assert!(
        text.contains("failed /static/gone.0123456789ab.txt: status 404"),
        "{text}"
    );
    let fetched = origin.requests();
    all_hits(&edge).await;
    assert_eq!(origin.requests(), fetched, "warmed: no origin request");
    let (status, text) = admin(&edge, "POST", "/warm").await;
    assert_eq!(status, 400, "no [warm], no manifest: {text}");
}

#[tokio::test]
async fn startup_warm_holds_readyz_until_done() {
    let origin = bucket().await;
    origin.gate.hold();
    let config = origin.config(ROUTE)
        + "\n[warm]\nmanifest = \"/static/staticfiles.json\"\nready_after_warm = true\nconcurrency = 2\n";
    let edge = TestEdge::start(&config).await;
    assert_eq!(admin(&edge, "GET", "/readyz").await, (503, "warming\n".into()));
    origin.gate.release();
    let mut ready = false;
    for _ in 0..500 {
        if admin(&edge, "GET", "/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ready, "/readyz never became ready");
    let fetched = origin.requests();
    all_hits(&edge).await;
    assert_eq!(origin.requests(), fetched);
}

#[tokio::test]
async fn warming_stops_at_capacity() {
    let origin = bucket().await;
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    // One at a time, in path order: css (1000 B), gone (404), img (2000 B
    // reached: stop), js skipped.
    let (ok, stdout) = cli(&edge, &["--concurrency", "1", "--capacity", "1500B"]).await;
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("warmed 2 objects, 2000 bytes, 1 failures, 1 skipped (capacity)"),
        "{stdout}"
    );
}

async fn cli(edge: &TestEdge, extra: &[&str]) -> (bool, String) {
    let mut args: Vec<String> = ["warm", "--manifest", "/static/staticfiles.json", "--url"]
        .map(String::from)
        .to_vec();
    args.push(format!("http://{}", edge.addr));
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_cachefront"))
            .args(&args)
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn the_cli_warms_a_running_node() {
    let origin = bucket().await;
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    let (ok, text) = cli(&edge, &["--capacity", "1MiB"]).await;
    assert!(ok, "{text}");
    assert!(
        text.contains("warmed 3 objects, 3000 bytes, 1 failures, 0 skipped"),
        "{text}"
    );
    all_hits(&edge).await;
}
