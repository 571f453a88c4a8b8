//! The binary under signals: SIGHUP reloads the config file, SIGTERM drains
//! and exits 0.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::HttpOrigin;
use crate::support::client::Client;
use crate::support::http_origin::ok;

fn config(origin: &HttpOrigin, cc: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"
admin_listen = "off"
workers = 1
drain_delay = "0s"
drain_timeout = "5s"

[origins.app]
kind = "http"
url = "{}"

[[routes]]
path = "/"
origin = "app"
cache_control = "{cc}"
"#,
        origin.url()
    )
}

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The binary on `config`, once it printed its welcome line; and the base
/// URL that line names. Its stdout is closed after that line, as
/// `cachefront | head -1` would: the node must carry on.
async fn spawn_node(config: &std::path::Path) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cachefront"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the welcome line")
        .unwrap()
        .unwrap();
    let base = first.strip_prefix("cachefront serving on ").expect(&first).to_string();
    (child, base)
}

/// How the node exited, after its drain (bounded).
async fn exit_status(child: &mut tokio::process::Child) -> std::process::ExitStatus {
    tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after the drain")
        .unwrap()
}

#[tokio::test]
async fn sighup_reloads_and_sigterm_exits_zero() {
    let origin = HttpOrigin::start(|_| ok("hello", &[("cache-control", "max-age=60")])).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    std::fs::write(&path, config(&origin, "public, max-age=1")).unwrap();
    let (mut child, base) = spawn_node(&path).await;
    let client = Client::new();
    let cc = |r: crate::support::client::Reply| r.header("cache-control").to_string();
    assert_eq!(
        cc(client.request("GET", &format!("{base}/a"), &[]).await),
        "public, max-age=1"
    );

    std::fs::write(&path, config(&origin, "public, max-age=2")).unwrap();
    let pid = child.id().unwrap();
    signal(pid, "HUP");
    // The reload runs in the process after the signal: ask until it shows.
    let mut seen = String::new();
    for i in 0..200 {
        seen = cc(client.request("GET", &format!("{base}/a{i}"), &[]).await);
        if seen == "public, max-age=2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, "public, max-age=2", "SIGHUP reloaded the config");

    signal(pid, "TERM");
    let status = exit_status(&mut child).await;
    assert!(status.success(), "{status}");
}

/// Whoever reads the welcome line may signal at once: every signal the node
/// answers has its handler by then (without one, SIGHUP or SIGUSR1 would end
/// the process, and a PID 1 would ignore SIGTERM). The default config starts
/// the embedded S3 dev origin, which widens the window this once missed.
#[tokio::test]
async fn signals_sent_the_moment_the_welcome_line_appears_are_handled() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    let config = std::fs::read_to_string(format!("{root}/config/cachefront.toml"))
        .unwrap()
        .replace("127.0.0.1:8080", "127.0.0.1:0")
        .replace("127.0.0.1:9091", "127.0.0.1:0")
        .replace("\"../examples/s3\"", &format!("\"{root}/examples/s3\""))
        .replace(
            "[server]\n",
            &format!(
                "[server]\ndrain_delay = \"0s\"\naccess_log = \"{}\"\n",
                dir.path().join("access.log").display()
            ),
        );
    std::fs::write(&path, config).unwrap();
    for name in ["HUP", "USR1", "TERM"] {
        let (mut child, _) = spawn_node(&path).await;
        let pid = child.id().unwrap();
        signal(pid, name);
        if name != "TERM" {
            // Still serving: then TERM ends it.
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(child.try_wait().unwrap().is_none(), "SIG{name} ended the process");
            signal(pid, "TERM");
        }
        let status = exit_status(&mut child).await;
        assert!(status.success(), "SIG{name}: {status}");
    }
}

/// Two nodes on one machine: the second's `admin_listen` is taken. The
/// error names that key and address, not the edge's (which was free).
#[tokio::test]
async fn a_bind_error_names_the_key_and_address_that_failed() {
    let origin = HttpOrigin::start(|_| ok("x", &[])).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let toml = config(&origin, "max-age=60").replace(r#"admin_listen = "off""#, &format!(r#"admin_listen = "{addr}""#));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    std::fs::write(&path, toml).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_cachefront"))
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "warn")
            .output(),
    )
    .await
    .expect("exits at once")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot bind server.admin_listen = \"{addr}\"")),
        "{stderr}"
    );
    drop(taken);
}
