//! The access log: CloudFront's standard format field by field, and
//! reopening the file after rotation.

use std::path::Path;

use cachefront::config::Config;

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

async fn edge_logging_to(origin: &S3Origin, file: &Path) -> TestEdge {
    let toml = origin.config(DJANGO_ROUTES).replacen(
        "[server]",
        &format!("[server]\naccess_log = {:?}", file.display().to_string()),
        1,
    );
    let config = Config::parse(&toml, Path::new(".")).unwrap();
    TestEdge::start_config(config, Default::default()).await
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
    let edge = edge_logging_to(&origin, &file).await;
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

#[tokio::test]
async fn a_reopen_starts_a_new_file_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    let origin = S3Origin::start().await;
    origin.put("static/a.css", "body{}");
    let edge = edge_logging_to(&origin, &file).await;
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
