//! The `cachefront` binary: `check` on good and broken configs.

use std::process::Command;

fn check(config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cachefront"))
        .args(["check", "--config"])
        .arg(&path)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn check_accepts_the_bundled_config() {
    let out = Command::new(env!("CARGO_BIN_EXE_cachefront"))
        .args([
            "check",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config/cachefront.toml"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn check_reports_an_unknown_key_with_its_line() {
    let (ok, text) = check("[server]\nlisten = \"127.0.0.1:8080\"\nlisten_port = 1\n");
    assert!(!ok);
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("listen_port"), "{text}");
}

#[test]
fn check_reports_every_semantic_error_with_key_and_line() {
    let config = r#"
[server]
listen = "not an address"

[cache]
capacity = "lots"

[origins.assets]
kind = "s3"
bucket = "b"

[[routes]]
path = "static/"
origin = "nowhere"
error_ttl = "10 fortnights"
"#;
    let (ok, text) = check(config);
    assert!(!ok);
    for (key, line) in [
        ("server.listen", 3),
        ("cache.capacity", 6),
        ("routes[0].path", 13),
        ("routes[0].origin", 14),
        ("routes[0].error_ttl", 15),
    ] {
        assert!(
            text.contains(&format!("line {line}, column")) && text.contains(key),
            "{key} at line {line} missing in:\n{text}"
        );
    }
}

#[test]
fn check_reports_a_missing_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_cachefront"))
        .args(["check", "--config", "/nonexistent/cachefront.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn check_rejects_zero_workers() {
    let (ok, text) = check(
        "[server]\nworkers = 0\n\n[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/\"\norigin = \"o\"\n",
    );
    assert!(!ok);
    assert!(text.contains("server.workers") && text.contains("line 2"), "{text}");
}

#[test]
fn check_rejects_an_access_log_buffer_of_zero_lines() {
    let routes =
        "[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/\"\norigin = \"o\"\n";
    let (ok, text) = check(&format!(
        "[server]\naccess_log = \"-\"\naccess_log_buffer = 0\n\n{routes}"
    ));
    assert!(!ok);
    assert!(
        text.contains("server.access_log_buffer") && text.contains("line 3"),
        "{text}"
    );
    let (ok, text) = check(&format!(
        "[server]\naccess_log = \"-\"\naccess_log_buffer = 1\n\n{routes}"
    ));
    assert!(ok, "{text}");
}

#[test]
fn check_reports_serving_errors_with_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad_pem = dir.path().join("bad.pem");
    std::fs::write(&bad_pem, "not a certificate").unwrap();
    let config = r#"[server]
tls_listen = "127.0.0.1:8443"
tls_cert = "/nonexistent/cert.pem"
trusted_proxies = ["10.0.0.0/8", "not-a-net"]
drain_delay = "soon"

[origins.o]
kind = "http"
url = "http://127.0.0.1:1"

[[routes]]
path = "/"
origin = "o"
"#
    .to_string();
    let (ok, text) = check(&config);
    assert!(!ok);
    for (key, line) in [
        ("server.tls_listen", 2),
        ("server.tls_cert", 3),
        ("server.trusted_proxies[1]", 4),
        ("server.drain_delay", 5),
    ] {
        assert!(
            text.contains(&format!("line {line}, column")) && text.contains(key),
            "{key} at line {line} missing in:\n{text}"
        );
    }

    let config = config
        .replace("/nonexistent/cert.pem", &bad_pem.display().to_string())
        .replace(", \"not-a-net\"", "")
        .replace(
            "drain_delay = \"soon\"",
            &format!("tls_key = \"{}\"", bad_pem.display()),
        );
    let (ok, text) = check(&config);
    assert!(!ok);
    assert!(text.contains("server.tls_cert") && text.contains("bad.pem"), "{text}");
}

#[test]
fn check_reports_immutable_errors_with_key_and_line() {
    let config = r#"[origins.o]
kind = "http"
url = "http://127.0.0.1:1"

[[routes]]
path = "/a/"
origin = "o"
immutable = "sometimes"

[[routes]]
path = "/b/"
origin = "o"
immutable = "hashed"
hashed_pattern = "("
cache_control_unhashed = "bad\u0001"

[[routes]]
path = "/c/"
origin = "o"
immutable = "never"
cache_control = "public, max-age=60, immutable"

[[routes]]
path = "/d/"
origin = "o"
cache_control_unhashed = "no-cache"
"#;
    let (ok, text) = check(config);
    assert!(!ok);
    for (key, line) in [
        ("routes[0].immutable", 8),
        ("routes[1].hashed_pattern", 14),
        ("routes[1].cache_control_unhashed", 15),
        ("routes[2].cache_control", 21),
        ("routes[3].cache_control_unhashed", 26),
    ] {
        assert!(
            text.contains(&format!("line {line}, column")) && text.contains(key),
            "{key} at line {line} missing in:\n{text}"
        );
    }
}

#[test]
fn check_reports_response_header_and_cors_errors() {
    let config = r#"[origins.o]
kind = "http"
url = "http://127.0.0.1:1"

[[routes]]
path = "/a/"
origin = "o"
headers = { X-Cache = "mine" }
cors = { allow_origins = ["www.example.com"], allow_methods = ["G E T"], max_age = "soon" }
"#;
    let (ok, text) = check(config);
    assert!(!ok);
    for key in [
        "routes[0].headers.X-Cache",
        "routes[0].cors.allow_origins",
        "routes[0].cors.allow_methods",
        "routes[0].cors.max_age",
    ] {
        assert!(text.contains(key), "{key} missing in:\n{text}");
    }
}

#[test]
fn check_reports_warm_errors() {
    let config = r#"[origins.o]
kind = "http"
url = "http://127.0.0.1:1"

[[routes]]
path = "/static/"
origin = "o"

[warm]
manifest = "/media/staticfiles.json"
concurrency = 0
"#;
    let (ok, text) = check(config);
    assert!(!ok);
    for (key, line) in [("warm.manifest", 10), ("warm.concurrency", 11)] {
        assert!(
            text.contains(&format!("line {line}, column")) && text.contains(key),
            "{key} at line {line} missing in:\n{text}"
        );
    }
}

#[test]
fn check_reports_signed_route_and_trusted_key_errors() {
    let config = r#"[origins.o]
kind = "http"
url = "http://127.0.0.1:1"

[[routes]]
path = "/private/"
origin = "o"
signed = true
"#;
    let (ok, text) = check(config);
    assert!(!ok);
    assert!(text.contains("routes[0].signed") && text.contains("line 8"), "{text}");
    let (ok, text) = check(&format!("{config}\n[trusted_keys]\nKBAD = \"/nonexistent.pem\"\n"));
    assert!(!ok);
    assert!(text.contains("trusted_keys.KBAD") && text.contains("line 11"), "{text}");
}

#[test]
fn check_reports_error_page_errors() {
    let config = r#"[origins.o]
kind = "http"
url = "http://127.0.0.1:1"

[[routes]]
path = "/static/"
origin = "o"
error_pages = { 404 = { path = "404.html" }, 200 = { path = "/ok.html" }, 403 = { path = "/x", status = 99, ttl = "soon" } }
"#;
    let (ok, text) = check(config);
    assert!(!ok);
    for key in [
        "routes[0].error_pages.404.path",
        "routes[0].error_pages.200",
        "routes[0].error_pages.403.status",
    ] {
        assert!(text.contains(key), "{key} missing in:\n{text}");
    }
}
