//! The README's configs as a user copies them: each snippet is taken from
//! README.md itself, unedited except for port numbers, and run.

use std::path::Path;

use crate::support::{S3Origin, TestEdge};

/// The first ```toml block after `marker` in README.md.
fn snippet(marker: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let after = &readme[readme.find(marker).unwrap_or_else(|| panic!("README lost {marker:?}"))..];
    let start = after.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + after[start..].find("```").expect("its end");
    after[start..end].to_string()
}

/// The dev flow's `dev.toml` with Django's `DEBUG = True`: the page links
/// the unhashed `site.css`, which must not be served `immutable` for a year
/// (edits would never show); the hashed name still is.
#[tokio::test]
async fn the_readme_dev_config_keeps_immutable_for_hashed_names_only() {
    let origin = S3Origin::start().await;
    let bucket = origin.dir.path().join("site-assets/static/css");
    std::fs::create_dir_all(&bucket).unwrap();
    std::fs::write(bucket.join("site.css"), "body{color:red}").unwrap();
    std::fs::write(bucket.join("site.816a9253fc1b.css"), "body{color:red}").unwrap();
    let toml = snippet("an edge config that reads the dev origin (`dev.toml`)")
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replace("127.0.0.1:9092", "127.0.0.1:0")
        .replace("127.0.0.1:9000", &origin.addr.to_string());
    let edge = TestEdge::start(&toml).await;

    let unhashed = edge.get("/static/css/site.css").await;
    assert_eq!(
        (unhashed.status.as_u16(), &unhashed.body[..]),
        (200, &b"body{color:red}"[..])
    );
    let cc = unhashed.header("cache-control");
    assert!(!cc.contains("immutable") && !cc.contains("31536000"), "{cc}");
    let hashed = edge.get("/static/css/site.816a9253fc1b.css").await;
    assert_eq!(hashed.status, 200);
    assert_eq!(hashed.header("cache-control"), "public, max-age=31536000, immutable");
}

/// The README's dev config does not take the default admin port, so it
/// starts beside a node on the bundled config's defaults.
#[test]
fn the_readme_dev_config_does_not_collide_with_the_default_admin_port() {
    let dev = snippet("an edge config that reads the dev origin (`dev.toml`)");
    let config = cachefront::config::Config::parse(&dev, Path::new(".")).unwrap();
    let bundled =
        cachefront::config::Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/cachefront.toml"))
            .unwrap();
    assert_ne!(config.server.admin_listen, bundled.server.admin_listen);
    assert!(config.server.admin_listen.is_some(), "the dev node keeps its admin API");
}
