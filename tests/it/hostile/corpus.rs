//! The hostile request corpus: built here, not downloaded. Each case is
//! raw bytes for one connection and what it may be answered with.

/// What a case may answer.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// 400-499 only.
    ClientError,
    /// A 4xx, or a normal answer (200, 206, 304, 404, 416…).
    Sane,
}

pub struct Case {
    pub name: String,
    pub bytes: Vec<u8>,
    pub expect: Expect,
}

fn get(target: &str, extra: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: edge.test\r\n{extra}Connection: close\r\n\r\n").into_bytes()
}

pub fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>, expect| cases.push(Case { name, bytes, expect });

    // Traversal towards objects outside the key prefix, every encoding.
    let traversals = [
        "../secret.txt",
        "../../secret.txt",
        "..%2fsecret.txt",
        "%2e%2e/secret.txt",
        "%2e%2e%2fsecret.txt",
        "%2E%2E%2Fsecret.txt",
        ".%2e/secret.txt",
        "%252e%252e%252fsecret.txt",
        "%252e%252e/secret.txt",
        "..%252fsecret.txt",
        "%c0%ae%c0%ae/secret.txt",
        "..%c0%afsecret.txt",
        "..%e0%80%afsecret.txt",
        "%c0%2e%c0%2e/secret.txt",
        "..\\secret.txt",
        "..%5csecret.txt",
        "%2e%2e%5csecret.txt",
        "..%255csecret.txt",
        "app.css%00",
        "app.css%00.jpg",
        "%00../secret.txt",
        "a%01b",
        "a%7fb",
        "a%0d%0aX-Injected:%201",
        "./app.css",
        "%2e/app.css",
        "a/./../../secret.txt",
        "a/%2e%2e/%2e%2e/secret.txt",
        "....//secret.txt",
        "..;/secret.txt",
        "%ff%fe",
        "%",
        "%zz",
        "app.css?../../secret.txt",
        "app.css#/../../secret.txt",
    ];
    for prefix in ["/static/", "/media/", "/static/css/"] {
        for t in traversals {
            add(
                format!("traversal {prefix}{t}"),
                get(&format!("{prefix}{t}"), ""),
                Expect::Sane,
            );
        }
    }
    // Raw bytes hyper must refuse in a request target.
    for (i, b) in [0u8, 1, 9, 0x7f, 0x80, 0xff, b' ', b'"', b'<'].into_iter().enumerate() {
        let mut req = b"GET /static/a".to_vec();
        req.push(b);
        req.extend_from_slice(b"b HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n");
        add(format!("raw byte {i} in target"), req, Expect::Sane);
    }
    // Targets: absolute-form, authority-form, asterisk, no slash.
    for target in [
        "http://evil.example/static/app.css",
        "http://evil.example/static/../secret.txt",
        "https://edge.test/static/app.css",
        "http://edge.test:99999/static/app.css",
        "http://user:pass@edge.test/static/app.css",
        "evil.example:443",
        "*",
        "static/app.css",
        "//static/app.css",
        "/static//app.css",
        "///secret.txt",
        "/",
        "/secret.txt",
        "/STATIC/app.css",
    ] {
        add(format!("target {target}"), get(target, ""), Expect::Sane);
    }
    add(
        "CONNECT authority-form".into(),
        b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nConnection: close\r\n\r\n".to_vec(),
        Expect::ClientError,
    );
    // Host header games: well-formed hosts are served (the route does not
    // key them), anything that is not `host[:port]` is a 400 (SECURITY.md).
    for host in [
        "",
        "evil.example",
        "EDGE.test:8080",
        "[::1]:80",
        "127.0.0.1",
        &"h".repeat(4000),
    ] {
        let req = format!("GET /static/app.css HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        add(format!("host {:.20}", host), req.into_bytes(), Expect::Sane);
    }
    for host in [
        "a b",
        "edge.test:abc",
        "edge.test:",
        "[::1",
        "edge.test/static/x",
        "edge.test/media/user1",
        "user@edge.test",
        "edge.test?x=1",
        "edge.test#frag",
        "edge.test\\x",
        "edge.test\r\nHost: evil.example",
    ] {
        let req = format!("GET /static/app.css HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        add(format!("bad host {:.24}", host), req.into_bytes(), Expect::ClientError);
    }
    add(
        "no host".into(),
        b"GET /static/app.css HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
        Expect::Sane,
    );
    // Smuggling: CL + TE, duplicate or odd CL and TE.
    let smuggle = "GET /static/../secret.txt HTTP/1.1\r\nHost: e\r\n\r\n";
    for (name, headers) in [
        (
            "cl+te",
            "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n".to_string(),
        ),
        (
            "te+cl",
            format!("Transfer-Encoding: chunked\r\nContent-Length: {}\r\n", smuggle.len()),
        ),
        ("dup cl", "Content-Length: 0\r\nContent-Length: 45\r\n".into()),
        ("dup cl same", "Content-Length: 0\r\nContent-Length: 0\r\n".into()),
        ("cl list", "Content-Length: 0, 45\r\n".into()),
        ("cl negative", "Content-Length: -1\r\n".into()),
        ("cl plus", "Content-Length: +0\r\n".into()),
        ("cl hex", "Content-Length: 0x10\r\n".into()),
        ("te xchunked", "Transfer-Encoding: xchunked\r\n".into()),
        ("te chunked,identity", "Transfer-Encoding: chunked, identity\r\n".into()),
        ("te space", "Transfer-Encoding : chunked\r\n".into()),
        ("te tab", "Transfer-Encoding:\tchunked\r\n".into()),
        (
            "te dup",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n".into(),
        ),
    ] {
        for method in ["GET", "HEAD", "POST"] {
            let req = format!(
                "{method} /static/app.css HTTP/1.1\r\nHost: e\r\nConnection: close\r\n{headers}\r\n0\r\n\r\n{smuggle}"
            );
            add(format!("smuggle {name} {method}"), req.into_bytes(), Expect::Sane);
        }
    }
    // A GET or HEAD with a body, however framed: refused (issue 18), so
    // no framing of a dropped body ever reaches an origin connection.
    for method in ["GET", "HEAD"] {
        for (name, framing, body) in [
            (
                "cl",
                format!("Content-Length: {}\r\n", smuggle.len()),
                smuggle.to_string(),
            ),
            ("cl 1", "Content-Length: 1\r\n".to_string(), "x".to_string()),
            (
                "chunked",
                "Transfer-Encoding: chunked\r\n".to_string(),
                format!("{:x}\r\n{smuggle}\r\n0\r\n\r\n", smuggle.len()),
            ),
        ] {
            for path in ["/static/app.css", "/media/a.jpg", "/nowhere"] {
                let req = format!("{method} {path} HTTP/1.1\r\nHost: e\r\n{framing}\r\n{body}");
                add(
                    format!("body on {method} {name} {path}"),
                    req.into_bytes(),
                    Expect::ClientError,
                );
            }
        }
    }
    // Obsolete line folding.
    for fold in [
        "X-A: b\r\n c\r\n",
        "X-A: b\r\n\tc\r\n",
        " X-A: b\r\n",
        "Host: e\r\n evil\r\n",
    ] {
        add(format!("folding {fold:?}"), get("/static/app.css", fold), Expect::Sane);
    }
    // Methods and versions.
    for line in [
        "G ET /static/app.css HTTP/1.1",
        "GET\0 /static/app.css HTTP/1.1",
        "get /static/app.css HTTP/1.1",
        "FOO /static/app.css HTTP/1.1",
        "DELETE /static/app.css HTTP/1.1",
        "PUT /static/app.css HTTP/1.1",
        "TRACE /static/app.css HTTP/1.1",
        "OPTIONS * HTTP/1.1",
        "/static/app.css HTTP/1.1",
        "GET /static/app.css",
        "GET /static/app.css HTTP/1.2",
        "GET /static/app.css HTTP/2.0",
        "GET /static/app.css HTTP/0.9",
        "GET /static/app.css HTTP/1",
        "GET /static/app.css HTTPS/1.1",
        "GET /static/app.css HTTP/11.1",
        "GET /static/app.css http/1.1",
        "GET  /static/app.css  HTTP/1.1",
        "GET /static/app.css HTTP/1.1 extra",
        "\u{7f}GET /static/app.css HTTP/1.1",
    ] {
        let req = format!("{line}\r\nHost: e\r\nConnection: close\r\n\r\n");
        add(format!("line {line:?}"), req.into_bytes(), Expect::Sane);
    }
    // Header values: Range, Accept-Encoding, conditionals; on an object
    // that exists and one that does not.
    let many_ranges = (0..2000).map(|i| format!("{i}-{i}")).collect::<Vec<_>>().join(",");
    let headers = [
        "Range: bytes=0-99999999999999999999999999".to_string(),
        "Range: bytes=-0".into(),
        "Range: bytes=5-1".into(),
        "Range: bytes=a-b".into(),
        "Range: bytes=--1".into(),
        "Range: bytes=0-0,-1".into(),
        "Range: items=0-1".into(),
        "Range: bytes=".into(),
        "Range: bytes=18446744073709551615-".into(),
        format!("Range: bytes={many_ranges}"),
        "Range: bytes=0-1\r\nRange: bytes=2-3".into(),
        "Accept-Encoding: br;q=2, gzip;q=-1".into(),
        "Accept-Encoding: *;q=0, identity;q=0".into(),
        "Accept-Encoding: ;;;,,,=".into(),
        format!("Accept-Encoding: {}", "gzip, ".repeat(1000)),
        "Accept-Encoding: br;q=NaN".into(),
        "If-None-Match: *".into(),
        "If-None-Match: garbage".into(),
        "If-None-Match: W/\"".into(),
        format!("If-None-Match: {}", "\"x\", ".repeat(1000)),
        "If-Modified-Since: not a date".into(),
        "If-Modified-Since: Fri, 31 Dec 9999 23:59:59 GMT".into(),
        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT".into(),
        "If-Match: \"nope\"".into(),
        "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT".into(),
        "If-Range: garbage\r\nRange: bytes=0-1".into(),
        "If-Range: \"x\"\r\nRange: bytes=0-1".into(),
        "Cache-Control: max-age=-1, no-cache=\"".into(),
        "Pragma: no-cache".into(),
        "Authorization: Basic Zm9vOmJhcg==".into(),
        "Cookie: a=b".into(),
        "X-Forwarded-For: 1.2.3.4, garbage".into(),
        "Forwarded: for=\"[::1\"".into(),
        "Via: 1.1 edge-test".into(),
        "Expect: 100-continue".into(),
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA".into(),
    ];
    for path in ["/static/app.css", "/media/missing.jpg", "/media/a.jpg"] {
        for h in &headers {
            let name = format!("header {:.40} on {path}", h);
            add(name, get(path, &format!("{h}\r\n")), Expect::Sane);
        }
    }
    for (path, expect) in [("/static/big.txt", Expect::Sane), ("/nowhere", Expect::ClientError)] {
        for h in &headers[..11] {
            add(
                format!("range {:.30} on {path}", h),
                get(path, &format!("{h}\r\n")),
                expect,
            );
        }
    }
    cases
}
