//! The access log: CloudFront's standard format field by field, reopening
//! the file after rotation, and dropping (never waiting) when the writer
//! cannot keep up.

use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use cachefront::config::Config;

use crate::support::edge::logging_to;
use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

async fn edge_logging_to(origin: &S3Origin, file: &Path, server_extra: &str) -> TestEdge {
    edge_logging_on(origin, file, server_extra, Default::default()).await
}

async fn edge_logging_on(
    origin: &S3Origin,
    file: &Path,
    server_extra: &str,
    workers: cachefront::server::Workers,
) -> TestEdge {
    let toml = logging_to(&origin.config(DJANGO_ROUTES), file, server_extra);
    let config = Config::parse(&toml, Path::new(".")).unwrap();
    TestEdge::start_config(config, workers).await
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn lines_follow_cloudfronts_standard_log_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    let origin = S3Origin::start().await;
    origin.put("static/a b.css", "body{}");
    let edge = edge_logging_to(&origin, &file, "").await;
    let headers = [
        ("user-agent", "Mozilla/5.0 (X11; \"test\")"),
        ("referer", "https://www.example.com/page"),
    ];
    assert_eq!(edge.request("GET", "/static/a%20b.css?v=1", &headers).await.status, 200);
    assert_eq!(edge.request("GET", "/static/a%20b.css", &[]).await.status, 200);
    assert_eq!(edge.get("/nowhere").await.status, 404);
    edge.running().access_log_flushed().await;

    let l = lines(&file);
    assert_eq!(l[0], "#Version: 1.0");
    assert_eq!(
        l[1],
        "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) \
         cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol \
         cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version \
         fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type \
         sc-content-len sc-range-start sc-range-end"
    );
    assert_eq!(l.len(), 5, "{l:#?}");
    let f: Vec<&str> = l[2].split('\t').collect();
    assert_eq!(f.len(), 33);
    assert_eq!(f[0].len(), 10, "date {}", f[0]);
    assert_eq!(f[1].len(), 8, "time {}", f[1]);
    assert_eq!(f[2], "edge-test");
    assert!(f[3].parse::<u64>().unwrap() > 6, "sc-bytes");
    assert_eq!(f[4], "127.0.0.1");
    assert_eq!(f[5], "GET");
    assert_eq!(f[6], edge.addr.to_string());
    assert_eq!(f[7], "/static/a%20b.css");
    assert_eq!(f[8], "200");
    assert_eq!(f[9], "https://www.example.com/page");
    assert_eq!(f[10], "Mozilla/5.0%20(X11;%20%22test%22)");
    assert_eq!(f[11], "v=1");
    assert_eq!(f[12], "-");
    assert_eq!(f[13], "Miss");
    assert!(f[14].starts_with("cf"));
    assert_eq!(f[15], edge.addr.to_string());
    assert_eq!(f[16], "http");
    assert!(f[17].parse::<u64>().unwrap() > 50, "cs-bytes");
    assert!(f[18].parse::<f64>().unwrap() >= 0.0);
    assert_eq!(&f[19..23], ["-", "-", "-", "Miss"]);
    assert_eq!(f[23], "HTTP/1.1");
    assert_eq!(&f[24..27], ["-", "-", "-"]);
    assert_eq!(f[28], "Miss");
    assert_eq!(f[29], "text/css;%20charset=utf-8");
    assert_eq!(f[30], "6");
    assert_eq!(&f[31..], ["-", "-"]);

    let hit: Vec<&str> = l[3].split('\t').collect();
    assert_eq!((hit[9], hit[10], hit[11], hit[13]), ("-", "-", "-", "Hit"));
    assert_ne!(hit[14], f[14], "request ids differ");
    let miss: Vec<&str> = l[4].split('\t').collect();
    assert_eq!((miss[7], miss[8], miss[13]), ("/nowhere", "404", "Error"));
}

/// One request on its own connection, as raw bytes; the whole response
/// back (the edge closes after `Connection: close`).
async fn exchange(edge: &TestEdge, request: &str) -> Vec<u8> {
    use tokio::io::AsyncWriteExt;
    let mut conn = tokio::net::TcpStream::connect(edge.addr).await.unwrap();
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    conn.read_to_end(&mut response).await.unwrap();
    response
}

/// `cs-bytes` and `sc-bytes` are what crossed the wire, counted on the
/// client's socket: for a miss (logged from fields captured before the
/// fill), a hit (read from the request itself), a 404 (a longer status
/// line than "200 OK") and a 304.
#[tokio::test]
async fn byte_counts_are_the_bytes_on_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    let origin = S3Origin::start().await;
    origin.put("static/app.css", "body{color:red}");
    let edge = edge_logging_to(&origin, &file, "").await;
    let get = |path: &str, extra: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: cdn.example.com\r\nUser-Agent: wire/1.0\r\n{extra}Connection: close\r\n\r\n"
        )
    };
    let requests = [
        get("/static/app.css?v=2", ""),
        get("/static/app.css", ""),
        get("/nowhere", ""),
        get("/static/app.css", "If-None-Match: *\r\n"),
    ];
    let mut sizes = Vec::new();
    for request in &requests {
        let response = exchange(&edge, request).await;
        sizes.push((
            request.len(),
            response.len(),
            String::from_utf8_lossy(&response[..12]).into_owned(),
        ));
    }
    edge.running().access_log_flushed().await;
    let l = lines(&file);
    assert_eq!(l.len(), 2 + requests.len(), "{l:#?}");
    for (line, (sent, received, status)) in l[2..].iter().zip(sizes) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f[8], &status[9..12], "{line}");
        assert_eq!(f[17], sent.to_string(), "cs-bytes of {line}");
        assert_eq!(f[3], received.to_string(), "sc-bytes of {line}");
    }
    let results: Vec<&str> = l[2..].iter().map(|l| l.split('\t').nth(13).unwrap()).collect();
    assert_eq!(results, ["Miss", "Hit", "Error", "Hit"]);
}

#[tokio::test]
async fn a_reopen_starts_a_new_file_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}");
    let edge = edge_logging_to(&origin, &file, "").await;
    edge.get("/static/a.css").await;
    edge.running().access_log_flushed().await;
    std::fs::rename(&file, dir.path().join("access.log.1")).unwrap();
    // What SIGUSR1 does (logrotate's postrotate).
    edge.running().access_log().unwrap().reopen();
    edge.get("/static/a.css").await;
    edge.running().access_log_flushed().await;
    let rotated = lines(&dir.path().join("access.log.1"));
    assert_eq!(rotated.len(), 3);
    let fresh = lines(&file);
    assert_eq!(fresh.len(), 3, "header lines and the new request: {fresh:#?}");
    assert_eq!(fresh[0], "#Version: 1.0");
    assert!(fresh[2].contains("\tHit\t"));
}

/// The writer runs as a batch thread, so its wake-ups never preempt a worker
/// mid-request on a shared core. Read from `/proc`: the scheduling policy of
/// every `access-log` thread of this test process (field 41 of a thread's
/// `stat`; SCHED_BATCH is 3).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_writer_never_preempts_a_worker() {
    let dir = tempfile::tempdir().unwrap();
    let origin = S3Origin::start().await;
    let edge = edge_logging_to(&origin, &dir.path().join("access.log"), "").await;
    edge.get("/static/a.css").await;
    // A flush returns once the writer has finished a batch: it has set its
    // policy by then.
    edge.running().access_log_flushed().await;
    let mut writers = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let task = task.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(task.join("comm")) else {
            continue;
        };
        if comm.trim_end() != "access-log" {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
            continue;
        };
        // Fields after the parenthesised name start at field 3.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let policy: u32 = after_name.split(' ').nth(41 - 3).unwrap().parse().unwrap();
        assert_eq!(
            policy,
            3,
            "access-log thread {} runs with policy {policy}",
            task.display()
        );
        writers += 1;
    }
    assert!(writers >= 1, "no access-log thread found");
}

/// The writer is made unable to keep up without sleeps: the log is a FIFO
/// that the test holds open for reading but does not read, so once the
/// pipe (64 KiB on Linux, a few hundred lines) and the writer's 8 KiB
/// buffer are full, the writer thread blocks in write(2) for as long as the
/// test likes. With `access_log_buffer = 1` every line after that is
/// dropped. Then the test drains the pipe and counts what was written.
#[tokio::test]
async fn a_writer_that_cannot_keep_up_drops_and_counts_lines_and_never_delays_a_request() {
    // Lines are over 300 bytes: 600 of them overflow a 64 KiB pipe, the
    // 8 KiB buffer and the one queued line about twice over.
    const N: u64 = 600;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("access.log");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo {}", fifo.display());
    // Opened non-blocking: the edge's open for writing then finds a reader
    // and does not wait, and the test's reads never block.
    let mut reader = tokio::net::unix::pipe::OpenOptions::new().open_receiver(&fifo).unwrap();
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}");
    // Connections are served on a worker runtime, as the binary serves
    // them: were a request to block on the log, it would block that
    // runtime, not the test's, and the timeout below would say so.
    let workers = cachefront::server::Workers::spawn(1).unwrap();
    let edge = edge_logging_on(&origin, &fifo, "access_log_buffer = 1", workers).await;

    for i in 0..N {
        let reply = tokio::time::timeout(Duration::from_secs(5), edge.get("/static/a.css"))
            .await
            .unwrap_or_else(|_| panic!("request {i} waited for the access log writer"));
        assert_eq!(reply.status, 200, "request {i}");
    }
    let dropped = dropped_lines(&edge).await;
    assert!(dropped > 0, "nothing dropped: the writer kept up");

    // Read while the writer catches up; once it has flushed, everything it
    // wrote is in the pipe, and reading until it is empty gets all of it.
    let mut text = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let flushed = edge.running().access_log_flushed();
    tokio::pin!(flushed);
    loop {
        tokio::select! {
            () = &mut flushed => break,
            n = reader.read(&mut buf) => text.extend_from_slice(&buf[..n.unwrap()]),
        }
    }
    text.extend(read_available(&reader));
    let text = String::from_utf8(text).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("#Version: 1.0"));
    assert!(lines.next().unwrap().starts_with("#Fields: "));
    let written: Vec<&str> = lines.collect();
    assert!(
        written.iter().all(|l| l.contains("\t/static/a.css\t200\t")),
        "{written:#?}"
    );
    assert_eq!(
        written.len() as u64 + dropped,
        N,
        "{} lines written, {dropped} dropped",
        written.len()
    );
    // Drained, the writer keeps up again: the next line is written.
    edge.get("/static/a.css").await;
    edge.running().access_log_flushed().await;
    let next = String::from_utf8(read_available(&reader)).unwrap();
    assert_eq!(next.lines().count(), 1, "{next}");
    assert_eq!(dropped_lines(&edge).await, dropped);
}

/// What is in the pipe now, without waiting for more. Read with read(2)
/// itself on a duplicate of the (non-blocking) descriptor: tokio's
/// `try_read` answers `WouldBlock` from its cached readiness, before the
/// reactor has seen the last bytes arrive.
fn read_available(reader: &tokio::net::unix::pipe::Receiver) -> Vec<u8> {
    let mut pipe = std::fs::File::from(reader.as_fd().try_clone_to_owned().unwrap());
    let mut text = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return text,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return text,
            Err(e) => panic!("reading the access log: {e}"),
        }
    }
}

async fn dropped_lines(edge: &TestEdge) -> u64 {
    edge.admin_client()
        .metric("cachefront_access_log_dropped_lines_total")
        .await
}
