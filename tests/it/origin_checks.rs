//! S3 origins checked at start: the binary logs, at error level,
//! what is wrong (no such bucket, access denied with code and credential
//! source, endpoint unreachable), and `/readyz` waits for the check with
//! `ready_when_origins_ok`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::TestEdge;
use crate::support::s3_origin::{BUCKET, Misbehave, S3Origin};

fn config(endpoint: &str, bucket: &str) -> String {
    format!(
        r#"[server]
listen = "127.0.0.1:0"
admin_listen = "off"
workers = 1

[origins.assets]
kind = "s3"
bucket = "{bucket}"
endpoint = "{endpoint}"
force_path_style = true
credentials = "dev"
connect_timeout = "2s"
response_timeout = "2s"

[[routes]]
path = "/"
origin = "assets"
"#
    )
}

/// Without terminal colour codes, whatever the log format does.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs the binary on `toml` and returns its first output line (logs go
/// to stdout) about the origin check (bounded: 20 s, 200 lines).
async fn check_line(toml: &str) -> String {
    let (_dir, mut child, mut lines) = spawn(toml).await;
    let found = line_with(&mut lines, "S3 origin check").await;
    child.kill().await.unwrap();
    found
}

type Lines = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// The first line containing `needle` (bounded: 20 s, 200 lines).
async fn line_with(lines: &mut Lines, needle: &str) -> String {
    tokio::time::timeout(Duration::from_secs(20), async {
        for _ in 0..200 {
            let line = plain(&lines.next_line().await.unwrap().expect("output open"));
            if line.contains(needle) {
                return line;
            }
        }
        panic!("no {needle:?} in 200 lines");
    })
    .await
    .expect("the line within 20 s")
}

/// The binary on `toml` (kept in the returned folder), its output lines.
async fn spawn(toml: &str) -> (tempfile::TempDir, tokio::process::Child, Lines) {
    spawn_env(toml, &[]).await
}

/// As `spawn`, with the AWS chain confined to `env`: no profile files, no
/// instance metadata (nothing leaves loopback).
async fn spawn_env(toml: &str, env: &[(&str, &str)]) -> (tempfile::TempDir, tokio::process::Child, Lines) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cachefront.toml");
    std::fs::write(&path, toml).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cachefront"))
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "cachefront=info")
        .env("NO_COLOR", "1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (dir, child, lines)
}

#[tokio::test]
async fn s3_errors_at_fill_time_are_logged_with_their_code() {
    let origin = S3Origin::start().await;
    origin.misbehave(Misbehave::Status(500, "InternalError"));
    let (_dir, mut child, mut lines) = spawn(&config(&origin.endpoint(), BUCKET)).await;
    let welcome = line_with(&mut lines, "cachefront serving on ").await;
    let base = welcome
        .split("cachefront serving on ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    let client = crate::support::client::Client::new();
    assert_eq!(
        client.request("GET", &format!("{base}/site.css"), &[]).await.status,
        502
    );
    let line = line_with(&mut lines, "S3 error while filling").await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("code=\"InternalError\""), "{line}");
    assert!(line.contains("status=500"), "{line}");
    assert!(line.contains("key=\"site.css\""), "{line}");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn wrong_bucket_is_logged_as_no_such_bucket_naming_it() {
    let origin = S3Origin::start().await;
    let line = check_line(&config(&origin.endpoint(), "bukcet")).await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("no such bucket \"bukcet\""), "{line}");
    assert!(line.contains("origin=assets"), "{line}");
}

#[tokio::test]
async fn access_denied_names_the_code_and_the_credential_source() {
    let origin = S3Origin::start().await;
    origin.misbehave(Misbehave::Status(403, "InvalidAccessKeyId"));
    let line = check_line(&config(&origin.endpoint(), BUCKET)).await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("access denied"), "{line}");
    assert!(line.contains("403 InvalidAccessKeyId"), "{line}");
    assert!(line.contains("dev fixed keys"), "{line}");
}

#[tokio::test]
async fn access_denied_with_the_aws_chain_names_its_provider() {
    let origin = S3Origin::start().await;
    origin.misbehave(Misbehave::Status(403, "SignatureDoesNotMatch"));
    let toml = config(&origin.endpoint(), BUCKET).replace("credentials = \"dev\"\n", "");
    let env = [("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "wrong")];
    let (_dir, mut child, mut lines) = spawn_env(&toml, &env).await;
    let line = line_with(&mut lines, "S3 origin check").await;
    child.kill().await.unwrap();
    assert!(line.contains("access denied"), "{line}");
    assert!(line.contains("403 SignatureDoesNotMatch"), "{line}");
    assert!(line.contains("the AWS chain (provider EnvironmentVariable)"), "{line}");
}

#[tokio::test]
async fn no_credentials_in_the_aws_chain_is_said_so() {
    let origin = S3Origin::start().await;
    let toml = config(&origin.endpoint(), BUCKET).replace("credentials = \"dev\"\n", "");
    let (_dir, mut child, mut lines) = spawn_env(&toml, &[]).await;
    let line = line_with(&mut lines, "S3 origin check").await;
    child.kill().await.unwrap();
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("no credentials"), "{line}");
    assert_eq!(origin.bucket_requests(), 0, "nothing was sent unsigned");
}

#[tokio::test]
async fn nothing_listening_is_logged_as_unreachable_naming_the_endpoint() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let line = check_line(&config(&endpoint, BUCKET)).await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains(&format!("endpoint {endpoint} unreachable")), "{line}");
}

#[tokio::test]
async fn a_working_origin_is_logged_at_info() {
    let origin = S3Origin::start().await;
    let line = check_line(&config(&origin.endpoint(), BUCKET)).await;
    assert!(line.contains("INFO"), "{line}");
    assert!(line.contains("S3 origin check passed"), "{line}");
}

/// `/readyz` until it answers something other than 503 "origins"
/// (bounded: 100 tries over about 10 s).
async fn readyz_settled(edge: &TestEdge) -> (u16, String) {
    let admin = edge.admin_client();
    for _ in 0..100 {
        let r = admin.get("/readyz").await;
        let body = String::from_utf8_lossy(&r.body).to_string();
        if r.status != 503 {
            return (r.status.as_u16(), body);
        }
        assert_eq!(body, "origins\n");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (503, "origins\n".into())
}

#[tokio::test]
async fn readyz_waits_for_the_origin_check_when_asked() {
    let failing = S3Origin::start().await;
    failing.misbehave(Misbehave::Status(403, "AccessDenied"));
    let edge = TestEdge::start(
        &failing
            .config("[[routes]]\npath = \"/\"\norigin = \"s3\"\n")
            .replace("[server]\n", "[server]\nready_when_origins_ok = true\n"),
    )
    .await;
    let admin = edge.admin_client();
    for _ in 0..100 {
        if failing.bucket_requests() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failing.bucket_requests() > 0, "the check reached the origin");
    let r = admin.get("/readyz").await;
    assert_eq!((r.status.as_u16(), &r.body[..]), (503, &b"origins\n"[..]));

    let working = S3Origin::start().await;
    let edge = TestEdge::start(
        &working
            .config("[[routes]]\npath = \"/\"\norigin = \"s3\"\n")
            .replace("[server]\n", "[server]\nready_when_origins_ok = true\n"),
    )
    .await;
    assert_eq!(readyz_settled(&edge).await, (200, "ready\n".to_string()));
}
