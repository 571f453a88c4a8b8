//! The `cachefront` binary: `check` on good and broken configs.

use std::process::Command;

/// Runs `check` on `config`: whether it passed, and what it printed.
fn check(config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cachefront"))
        .args(["check", "--config"])
        .arg(&path)
        .env("RUST_LOG", "error")
        .env_remove("CACHEFRONT_ADMIN_TOKEN")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Runs `check` on `config`, which it must refuse; returns what it printed.
fn refused(config: &str) -> String {
    let (ok, text) = check(config);
    assert!(!ok, "accepted:\n{config}");
    text
}

/// `check` must refuse `config` and print each of `expected`.
fn assert_refused(config: &str, expected: &[&str]) {
    let text = refused(config);
    for s in expected {
        assert!(text.contains(s), "{s:?} missing in:\n{text}");
    }
}

/// `check` must refuse `config` and report each key at its line.
fn assert_refused_at(config: &str, errors: &[(&str, u32)]) {
    let text = refused(config);
    for (key, line) in errors {
        assert!(
            text.contains(&format!("line {line}, column")) && text.contains(key),
            "{key} at line {line} missing in:\n{text}"
        );
    }
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
    assert_refused(
        "[server]\nlisten = \"127.0.0.1:8080\"\nlisten_port = 1\n",
        &["line 3", "listen_port"],
    );
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
    assert_refused_at(
        config,
        &[
            ("server.listen", 3),
            ("cache.capacity", 6),
            ("routes[0].path", 13),
            ("routes[0].origin", 14),
            ("routes[0].error_ttl", 15),
        ],
    );
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
    assert_refused(
        "[server]\nworkers = 0\n\n[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/\"\norigin = \"o\"\n",
        &["server.workers", "line 2"],
    );
}

#[test]
fn check_rejects_an_access_log_buffer_of_zero_lines() {
    let routes =
        "[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/\"\norigin = \"o\"\n";
    assert_refused(
        &format!("[server]\naccess_log = \"-\"\naccess_log_buffer = 0\n\n{routes}"),
        &["server.access_log_buffer", "line 3"],
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
    assert_refused_at(
        &config,
        &[
            ("server.tls_listen", 2),
            ("server.tls_cert", 3),
            ("server.trusted_proxies[1]", 4),
            ("server.drain_delay", 5),
        ],
    );

    let config = config
        .replace("/nonexistent/cert.pem", &bad_pem.display().to_string())
        .replace(", \"not-a-net\"", "")
        .replace(
            "drain_delay = \"soon\"",
            &format!("tls_key = \"{}\"", bad_pem.display()),
        );
    assert_refused(&config, &["server.tls_cert", "bad.pem"]);

    // A good certificate with a key file that holds no key: named by its
    // own key (it was reported under `tls_cert`).
    let ca = crate::support::tls::TestCa::new();
    let (cert, _, _) = ca.issue("site", &["localhost"]);
    let keyless = config
        .replacen(&bad_pem.display().to_string(), &cert, 1)
        .replace(", \"not-a-net\"", "");
    let text = refused(&keyless);
    assert!(text.contains("server.tls_key") && text.contains("bad.pem"), "{text}");
    assert!(!text.contains("server.tls_cert"), "{text}");
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
    assert_refused_at(
        config,
        &[
            ("routes[0].immutable", 8),
            ("routes[1].hashed_pattern", 14),
            ("routes[1].cache_control_unhashed", 15),
            ("routes[2].cache_control", 21),
            ("routes[3].cache_control_unhashed", 26),
        ],
    );
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
    assert_refused(
        config,
        &[
            "routes[0].headers.X-Cache",
            "routes[0].cors.allow_origins",
            "routes[0].cors.allow_methods",
            "routes[0].cors.max_age",
        ],
    );
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
    assert_refused_at(config, &[("warm.manifest", 10), ("warm.concurrency", 11)]);
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
    assert_refused(config, &["routes[0].signed", "line 8"]);
    assert_refused(
        &format!("{config}\n[trusted_keys]\nKBAD = \"/nonexistent.pem\"\n"),
        &["trusted_keys.KBAD", "line 11"],
    );
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
    assert_refused(
        config,
        &[
            "routes[0].error_pages.404.path",
            "routes[0].error_pages.200",
            "routes[0].error_pages.403.status",
        ],
    );
}

/// What `serve` refuses at start, `check` refuses too, with the key and
/// its line: an access log in a folder that does not exist (`check` said
/// "ok" and `serve` failed creating the file).
#[test]
fn check_and_serve_refuse_an_access_log_in_a_missing_folder() {
    let missing = "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"off\"\naccess_log = \"no-such-folder/access.log\"\n\n[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/\"\norigin = \"o\"\n";
    assert_refused_at(missing, &[("server.access_log", 4)]);
    assert_refused(missing, &["no-such-folder", "does not exist"]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    std::fs::write(&path, missing).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cachefront"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("server.access_log"),
        "serve: {stderr}"
    );
}
