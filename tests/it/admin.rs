//! The admin listener: metrics after a known sequence of requests, bearer
//! token authentication, and the refusal to expose an unauthenticated
//! admin API off loopback.

use std::path::Path;

use cachefront::config::Config;
use cachefront::{Listeners, StartError};
use tokio::net::TcpListener;

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

#[tokio::test]
async fn metrics_count_a_known_sequence_of_requests() {
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}".repeat(10));
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    assert!(edge.get("/static/a.css").await.x_cache().starts_with("Miss"));
    assert!(edge.get("/static/a.css").await.x_cache().starts_with("Hit"));
    assert!(edge.get("/static/a.css").await.x_cache().starts_with("Hit"));
    assert_eq!(edge.get("/static/missing.css").await.status, 404);
    assert_eq!(edge.get("/elsewhere").await.status, 404);

    let admin = edge.admin_client();
    let resp = admin.get("/metrics").await;
    assert_eq!(resp.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    let m = admin.metrics().await;
    let show = m.join("\n");
    for line in [
        r#"cachefront_requests_total{route="/static/",status="2xx",cache="Miss"} 1"#,
        r#"cachefront_requests_total{route="/static/",status="2xx",cache="Hit"} 2"#,
        r#"cachefront_requests_total{route="/static/",status="4xx",cache="Error"} 1"#,
        r#"cachefront_requests_total{route="none",status="4xx",cache="Error"} 1"#,
        r#"cachefront_requests_total{route="/media/",status="2xx",cache="Hit"} 0"#,
        r#"cachefront_origin_requests_total{origin="s3"} 2"#,
        r#"cachefront_origin_errors_total{origin="s3"} 0"#,
        r#"cachefront_origin_response_seconds_count{origin="s3"} 2"#,
        "cachefront_cache_entries 2",
        "cachefront_coalesced_waiters_total 0",
        "cachefront_in_flight_requests 0",
        "cachefront_access_log_dropped_lines_total 0",
    ] {
        assert!(has(&m, line), "missing {line}\n{show}");
    }
    assert!(m.iter().any(|l| l.starts_with("cachefront_cache_bytes ")), "{show}");
    let sent: u64 = m
        .iter()
        .find_map(|l| l.strip_prefix(r#"cachefront_sent_bytes_total{route="/static/"} "#))
        .unwrap()
        .parse()
        .unwrap();
    assert!(sent >= 3 * 60, "three 60-byte bodies and a 404 page: {sent}");
    assert!(
        m.iter().any(|l| l.starts_with("cachefront_cache_evictions_total ")),
        "{show}"
    );
}

#[tokio::test]
async fn with_a_token_everything_but_the_probes_needs_it() {
    let origin = S3Origin::start().await;
    let mut config = Config::parse(&origin.config(DJANGO_ROUTES), Path::new(".")).unwrap();
    config.server.admin_token = Some("s3cret-token".into());
    let edge = TestEdge::start_config(config, Default::default()).await;
    let admin = edge.admin_client();
    // kubelet's and compose's HTTP probes send no header: the probes are
    // public, and say a word, nothing more.
    for (path, word) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
        let reply = admin.get(path).await;
        assert_eq!(
            (reply.status.as_u16(), &reply.body[..]),
            (200, word.as_bytes()),
            "{path}"
        );
    }
    for (method, path) in [
        ("GET", "/metrics"),
        ("POST", "/invalidations"),
        ("GET", "/invalidations/I1"),
        ("POST", "/reload"),
        ("GET", "/2020-05-31/distribution/LOCAL/invalidation"),
    ] {
        let none = admin.send(method, path, &[], "").await;
        assert_eq!(none.status, 401, "{method} {path}");
        assert!(none.header("www-authenticate").starts_with("Bearer"));
        let wrong = admin
            .send(method, path, &[("authorization", "Bearer s3cret-tokeN")], "")
            .await;
        assert_eq!(wrong.status, 401, "{method} {path}");
    }
    let ok = [("authorization", "Bearer s3cret-token")];
    assert_eq!(admin.send("GET", "/metrics", &ok, "").await.status, 200);
    assert_eq!(admin.send("GET", "/readyz", &ok, "").await.status, 200);
    let body = r#"{"paths": ["/static/*"]}"#;
    assert_eq!(admin.send("POST", "/invalidations", &ok, body).await.status, 201);
}

#[tokio::test]
async fn without_a_token_the_admin_listener_stays_on_loopback() {
    let origin = S3Origin::start().await;
    let config = || Config::parse(&origin.config(DJANGO_ROUTES), Path::new(".")).unwrap();
    let listeners = || async {
        Listeners {
            edge: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            tls: None,
            // Bound, never connected to: only the address matters.
            admin: Some(TcpListener::bind("0.0.0.0:0").await.unwrap()),
            workers: Default::default(),
        }
    };
    let refused = cachefront::start(config(), listeners().await).await;
    let Err(StartError::Admin(e)) = refused else {
        panic!("a public admin listener without a token must be refused")
    };
    assert!(e.to_string().contains("CACHEFRONT_ADMIN_TOKEN"), "{e}");
    let mut with_token = config();
    with_token.server.admin_token = Some("t".into());
    let running = cachefront::start(with_token, listeners().await).await;
    assert!(running.is_ok(), "with a token it may bind any address");
}
