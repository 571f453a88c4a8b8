//! `cachefront probe URL`: the container health check (exit 0 on 2xx only).

use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::process::Command;

use crate::support::{HttpOrigin, TestEdge};
use cachefront::config::Config;

/// Runs the binary's probe; (success, stdout + stderr).
async fn probe(url: &str, timeout: &str) -> (bool, String) {
    probe_with_token(url, timeout, None).await
}

/// The probe with `CACHEFRONT_ADMIN_TOKEN` set to `token` (or unset).
async fn probe_with_token(url: &str, timeout: &str, token: Option<&str>) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cachefront"));
    command.args(["probe", url, "--timeout", timeout]);
    match token {
        Some(t) => command.env("CACHEFRONT_ADMIN_TOKEN", t),
        None => command.env_remove("CACHEFRONT_ADMIN_TOKEN"),
    };
    let out = command.output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test]
async fn probe_succeeds_on_2xx_and_fails_on_anything_else() {
    let origin = HttpOrigin::start(|_| crate::support::http_origin::ok("x", &[])).await;
    let edge = TestEdge::start(&origin.config("")).await;
    let admin = format!("http://{}", edge.admin);

    let (ok, text) = probe(&format!("{admin}/healthz"), "2s").await;
    assert!(ok, "{text}");
    assert!(text.contains("200 OK"), "{text}");

    let (ok, text) = probe(&format!("{admin}/nope"), "2s").await;
    assert!(!ok, "a 404 is not healthy: {text}");
    assert!(text.contains("404"), "{text}");

    let (ok, text) = probe("https://127.0.0.1:1/healthz", "2s").await;
    assert!(!ok && text.contains("http://"), "{text}");

    // Nothing listening: connection refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let (ok, text) = probe(&format!("http://{closed}/healthz"), "2s").await;
    assert!(!ok, "{text}");
}

#[tokio::test]
async fn probe_gives_up_after_its_timeout() {
    // Accepts connections (the kernel does) but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let started = Instant::now();
    let (ok, text) = probe(&format!("http://{}/healthz", silent.local_addr().unwrap()), "300ms").await;
    assert!(!ok, "{text}");
    assert!(text.contains("no answer within"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    drop(silent);
}

#[tokio::test]
async fn with_a_token_probes_need_none_and_the_probe_sends_it_from_the_env() {
    let origin = HttpOrigin::start(|_| crate::support::http_origin::ok("x", &[])).await;
    let mut config = Config::parse(&origin.config(""), std::path::Path::new(".")).unwrap();
    config.server.admin_token = Some("probe-token".into());
    let edge = TestEdge::start_config(config, Default::default()).await;
    let admin = format!("http://{}", edge.admin);

    // What kubelet does: no header at all.
    for path in ["/healthz", "/readyz"] {
        let (ok, text) = probe(&format!("{admin}{path}"), "2s").await;
        assert!(ok, "{path}: {text}");
    }
    let (ok, text) = probe(&format!("{admin}/metrics"), "2s").await;
    assert!(!ok && text.contains("401"), "{text}");
    let (ok, text) = probe_with_token(&format!("{admin}/metrics"), "2s", Some("wrong")).await;
    assert!(!ok && text.contains("401"), "{text}");
    let (ok, text) = probe_with_token(&format!("{admin}/metrics"), "2s", Some("probe-token")).await;
    assert!(ok, "{text}");
}
