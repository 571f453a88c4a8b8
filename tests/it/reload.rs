//! Live reload (`POST /reload` on the admin listener; SIGHUP does the same):
//! new routes and policies apply to open connections, unchanged routes keep
//! their cache, and a bad config is refused with the old one kept.

use std::path::Path;

use crate::support::client::Client;
use crate::support::http_origin::ok;
use crate::support::tls::Conn;
use crate::support::{HttpOrigin, TestEdge};

fn config(origin: &HttpOrigin, page_cc: &str, extra_route: &str) -> String {
    format!(
        r#"
[server]
name = "edge-test"
drain_delay = "0s"

[origins.app]
kind = "http"
url = "{}"
connect_timeout = "2s"
response_timeout = "2s"

[[routes]]
path = "/page/"
origin = "app"
cache_control = "{page_cc}"

[[routes]]
path = "/keep/"
origin = "app"
cache_control = "public, max-age=30"

{extra_route}
"#,
        origin.url()
    )
}

async fn reload(edge: &TestEdge) -> (u16, String) {
    let r = Client::new()
        .request("POST", &format!("http://{}/reload", edge.admin), &[])
        .await;
    (r.status.as_u16(), String::from_utf8_lossy(&r.body).into_owned())
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn reload_applies_to_an_open_connection_and_a_bad_config_is_refused() {
    let origin =
        HttpOrigin::start(|seen| ok(&format!("body of {}", seen.uri), &[("cache-control", "max-age=600")])).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    let old_extra = "[[routes]]\npath = \"/old/\"\norigin = \"app\"\n";
    write(&path, &config(&origin, "public, max-age=60", old_extra));
    let edge = TestEdge::start_file(&path).await;
    let mut conn = Conn::plain(edge.addr, false).await;

    assert_eq!(conn.get("/page/a").await.header("cache-control"), "public, max-age=60");
    assert_eq!(conn.get("/keep/a").await.x_cache(), "Miss from edge-test");
    assert_eq!(conn.get("/old/a").await.status, 200);
    assert_eq!(conn.get("/new/a").await.status, 404);
    assert_eq!(edge.running().cache_usage().entries, 3);
    assert_eq!(origin.requests(), 3);

    // Good config: /page/ has a new policy, /old/ is gone, /new/ is added.
    write(
        &path,
        &config(
            &origin,
            "public, max-age=120",
            "[[routes]]\npath = \"/new/\"\norigin = \"app\"\n",
        ),
    );
    let (status, body) = reload(&edge).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("2 dropped"), "{body}");

    let page = conn.get("/page/a").await;
    assert_eq!(
        page.header("cache-control"),
        "public, max-age=120",
        "same connection, new policy"
    );
    assert_eq!(page.x_cache(), "Miss from edge-test", "a redefined route starts empty");
    assert_eq!(
        conn.get("/keep/a").await.x_cache(),
        "Hit from edge-test",
        "an unchanged route keeps its cache"
    );
    assert_eq!(conn.get("/new/a").await.status, 200);
    assert_eq!(conn.get("/old/a").await.status, 404);
    assert_eq!(origin.requests(), 5);
    // /keep/a, the new /page/a and /new/a; the removed route's entry is gone.
    assert_eq!(edge.running().cache_usage().entries, 3);

    // Bad config: refused, naming the key and line; the old one stays.
    write(
        &path,
        &config(
            &origin,
            "public, max-age=5",
            "[[routes]]\npath = \"/new/\"\norigin = \"nowhere\"\n",
        ),
    );
    let (status, body) = reload(&edge).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("routes[2].origin") && body.contains("line 24"), "{body}");
    let page = conn.get("/page/a").await;
    assert_eq!(page.header("cache-control"), "public, max-age=120");
    assert_eq!(page.x_cache(), "Hit from edge-test");
    assert_eq!(conn.get("/new/a").await.status, 200);

    write(&path, "[server]\nlisten = \n");
    let (status, body) = reload(&edge).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("line 2"), "{body}");
    assert_eq!(conn.get("/keep/a").await.x_cache(), "Hit from edge-test");
}

#[tokio::test]
async fn reload_swaps_tls_certificates_for_new_handshakes() {
    let ca = crate::support::tls::TestCa::new();
    let (cert1, key1, der1) = ca.issue("one", &["127.0.0.1"]);
    let (cert2, key2, der2) = ca.issue("two", &["127.0.0.1"]);
    let origin = HttpOrigin::start(|_| ok("x", &[("cache-control", "max-age=60")])).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    let tls = |c: &str, k: &str| format!("tls_listen = \"127.0.0.1:0\"\ntls_cert = \"{c}\"\ntls_key = \"{k}\"\n");
    let cfg =
        |c: &str, k: &str| config(&origin, "public", "").replace("[server]\n", &format!("[server]\n{}", tls(c, k)));
    write(&path, &cfg(&cert1, &key1));
    let edge = TestEdge::start_file(&path).await;
    let client = ca.client(&[&rustls::version::TLS13], &["http/1.1"]);

    let (hs, mut before) = client.connect(edge.tls.unwrap(), "127.0.0.1").await.unwrap();
    assert!(hs.leaf == der1);
    write(&path, &cfg(&cert2, &key2));
    assert_eq!(reload(&edge).await.0, 200);
    let (hs, mut after) = client.connect(edge.tls.unwrap(), "127.0.0.1").await.unwrap();
    assert!(hs.leaf == der2, "a new handshake gets the new certificate");
    assert_eq!(before.get("/page/x").await.status, 200, "the old connection stays open");
    assert_eq!(after.get("/page/x").await.status, 200);

    // A key that does not match its certificate is refused.
    write(&path, &cfg(&cert1, &key2));
    let (status, body) = reload(&edge).await;
    assert_eq!(status, 422, "{body}");
    let (hs, _) = client.connect(edge.tls.unwrap(), "127.0.0.1").await.unwrap();
    assert!(hs.leaf == der2);
}
