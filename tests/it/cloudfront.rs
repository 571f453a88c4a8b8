//! `server.cloudfront_compat`: the header sets CloudFront documents
//! (Developer Guide: "Adding headers that CloudFront adds", X-Cache values,
//! error responses), compared as a table.

use regex::Regex;

use crate::support::{S3Origin, TestEdge};

const ROUTE: &str = r#"
[[routes]]
path = "/static/"
origin = "s3"
key_prefix = "static/"
ttl = { default = "1d" }
"#;

async fn compat_edge(origin: &S3Origin) -> TestEdge {
    let config = origin
        .config(ROUTE)
        .replace("name = \"edge-test\"", "name = \"edge-test\"\ncloudfront_compat = true");
    TestEdge::start(&config).await
}

/// CloudFront's documented forms.
fn pattern(header: &str) -> Regex {
    Regex::new(match header {
        "via" => r"^1\.1 [0-9a-f]{32}\.cloudfront\.net \(CloudFront\)$",
        "x-amz-cf-pop" => r"^[A-Z]{3}[0-9]+-[CP][0-9]+$",
        "x-amz-cf-id" => r"^[A-Za-z0-9_-]{54}==$",
        _ => unreachable!(),
    })
    .unwrap()
}

#[tokio::test]
async fn responses_carry_cloudfronts_header_set() {
    let origin = S3Origin::start().await;
    origin.put("static/site.css", "body { color: red }\n".repeat(100));
    let edge = compat_edge(&origin).await;
    let css = [("accept-encoding", "gzip, deflate, br, zstd")];
    // (path, request headers, status, X-Cache, Server)
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str, &'a str);
    let table: [Row<'_>; 4] = [
        ("/static/site.css", &css, 200, "Miss from cloudfront", "AmazonS3"),
        ("/static/site.css", &css, 200, "Hit from cloudfront", "AmazonS3"),
        ("/static/missing.css", &[], 403, "Error from cloudfront", "AmazonS3"),
        ("/nowhere", &[], 404, "Error from cloudfront", "CloudFront"),
    ];
    let mut ids = Vec::new();
    for (path, headers, status, x_cache, server) in table {
        let r = edge.request("GET", path, headers).await;
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.x_cache(), x_cache, "{path}");
        assert_eq!(r.header("server"), server, "{path}");
        for name in ["via", "x-amz-cf-pop", "x-amz-cf-id"] {
            assert!(
                pattern(name).is_match(r.header(name)),
                "{path}: {name}: {:?}",
                r.header(name)
            );
        }
        ids.push(r.header("x-amz-cf-id").to_string());
    }
    ids.dedup();
    assert_eq!(ids.len(), 4, "a fresh X-Amz-Cf-Id per response");
}

#[tokio::test]
async fn a_missing_s3_key_is_s3s_access_denied() {
    let origin = S3Origin::start().await;
    let edge = compat_edge(&origin).await;
    let r = edge.get("/static/missing.css").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("content-type"), "application/xml");
    let body = String::from_utf8_lossy(&r.body);
    assert!(
        body.contains("<Code>AccessDenied</Code><Message>Access Denied</Message>"),
        "{body}"
    );
}

#[tokio::test]
async fn no_zstd_only_gzip_and_br() {
    let origin = S3Origin::start().await;
    origin.put("static/site.css", "body { color: red }\n".repeat(100));
    let edge = compat_edge(&origin).await;
    for (accept, want) in [("zstd", ""), ("zstd, gzip", "gzip"), ("br, zstd", "br")] {
        let r = edge
            .request("GET", "/static/site.css", &[("accept-encoding", accept)])
            .await;
        assert_eq!(r.header("content-encoding"), want, "{accept}");
    }
}

#[tokio::test]
async fn edge_made_errors_are_cloudfronts_pages() {
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = closed.local_addr().unwrap().port();
    let origin = S3Origin::start().await;
    let config = origin
        .config(ROUTE)
        .replace(&origin.endpoint(), &format!("http://127.0.0.1:{port}"))
        .replace("name = \"edge-test\"", "name = \"edge-test\"\ncloudfront_compat = true");
    let edge = TestEdge::start(&config).await;
    let r = edge.get("/static/a.css").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("server"), "CloudFront");
    assert_eq!(r.header("content-type"), "text/html");
    assert_eq!(r.x_cache(), "Error from cloudfront");
    let body = String::from_utf8_lossy(&r.body);
    assert!(body.contains("<H1>502 ERROR</H1>"), "{body}");
    assert!(body.contains("The request could not be satisfied."), "{body}");
    assert!(
        body.contains(&format!("Request ID: {}", r.header("x-amz-cf-id"))),
        "{body}"
    );
}

#[tokio::test]
async fn without_compat_the_node_speaks_for_itself() {
    let origin = S3Origin::start().await;
    origin.put("static/site.css", "x");
    let edge = TestEdge::start(&origin.config(ROUTE)).await;
    let r = edge.get("/static/site.css").await;
    assert_eq!(r.header("via"), "1.1 edge-test");
    assert_eq!(r.header("x-amz-cf-id"), "");
    assert_eq!(edge.get("/static/missing.css").await.status, 404);
}
