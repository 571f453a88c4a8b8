//! Compression done once at fill: variants by Accept-Encoding, decompressed
//! bytes equal to the origin's, and the rules for what is compressed.

use std::io::Read;

use crate::support::{S3Origin, TestEdge, s3_origin::DJANGO_ROUTES};

fn css() -> String {
    (0..400)
        .map(|i| format!(".rule-{i} {{ margin: {i}px; color: #{i:06x}; }}\n"))
        .collect()
}

fn decode(encoding: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => brotli::BrotliDecompress(&mut &data[..], &mut out).unwrap(),
        "zstd" => out = zstd::stream::decode_all(data).unwrap(),
        "gzip" => {
            flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
        }
        "" => out = data.to_vec(),
        other => panic!("unexpected encoding {other}"),
    }
    out
}

async fn edge_with(files: &[(&str, &[u8])]) -> (S3Origin, TestEdge) {
    let origin = S3Origin::start().await;
    for (k, v) in files {
        origin.put(k, v);
    }
    let edge = TestEdge::start(&origin.config(DJANGO_ROUTES)).await;
    (origin, edge)
}

#[tokio::test]
async fn variant_per_accept_encoding_and_bytes_round_trip() {
    let body = css();
    let (origin, edge) = edge_with(&[("static/app.css", body.as_bytes())]).await;
    let table = [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, deflate", "gzip"),
        ("zstd;q=1, br;q=0.5", "zstd"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("identity", ""),
        ("", ""),
        ("*", "br"),
        ("*;q=0, identity", ""),
    ];
    for (accept, want) in table {
        let headers: Vec<(&str, &str)> = if accept.is_empty() {
            vec![]
        } else {
            vec![("accept-encoding", accept)]
        };
        let r = edge.request("GET", "/static/app.css", &headers).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), want, "Accept-Encoding: {accept:?}");
        assert_eq!(r.header("vary"), "Accept-Encoding", "{accept:?}");
        assert_eq!(r.header("content-length"), r.body.len().to_string());
        assert_eq!(decode(want, &r.body), body.as_bytes(), "{accept:?}");
        if want.is_empty() {
            assert!(r.header("etag").starts_with('"'));
        } else {
            assert!(
                r.header("etag").starts_with("W/\""),
                "compressed variant has a weak ETag"
            );
            assert!(r.body.len() < body.len() / 2);
        }
    }
    assert_eq!(origin.requests(), 1, "all variants from one fill");
}

#[tokio::test]
async fn best_level_variants_replace_fast_ones_in_the_background() {
    let body = css();
    let (origin, edge) = edge_with(&[("static/app.css", body.as_bytes())]).await;
    let fast = edge
        .request("GET", "/static/app.css", &[("accept-encoding", "br")])
        .await;
    edge.running().settled().await;
    let best = edge
        .request("GET", "/static/app.css", &[("accept-encoding", "br")])
        .await;
    assert_eq!(best.x_cache(), "Hit from edge-test");
    assert!(
        best.body.len() <= fast.body.len(),
        "best {} vs fast {}",
        best.body.len(),
        fast.body.len()
    );
    assert_eq!(decode("br", &best.body), body.as_bytes());
    assert_eq!(origin.requests(), 1);
}

#[tokio::test]
async fn small_incompressible_and_binary_objects_are_not_compressed() {
    let mut noise = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..50_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    let (_origin, edge) = edge_with(&[
        ("static/tiny.css", b"a{b:c}"),
        ("static/noise.txt", &noise),
        ("media/photo.png", css().as_bytes()),
    ])
    .await;
    for path in ["/static/tiny.css", "/static/noise.txt", "/media/photo.png"] {
        let r = edge
            .request("GET", path, &[("accept-encoding", "br, gzip, zstd")])
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), "", "{path}");
    }
    // Qualifying but incompressible: still varies on Accept-Encoding.
    let r = edge
        .request("GET", "/static/noise.txt", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(r.header("vary"), "Accept-Encoding");
    let r = edge
        .request("GET", "/static/tiny.css", &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(r.header("vary"), "", "too small to ever vary");
}

#[tokio::test]
async fn http10_clients_get_identity() {
    let (_origin, edge) = edge_with(&[("static/app.css", css().as_bytes())]).await;
    let (status, text) = crate::support::raw_request(
        edge.addr,
        b"GET /static/app.css HTTP/1.0\r\nHost: cdn\r\nAccept-Encoding: br, gzip\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        !text.to_ascii_lowercase().contains("content-encoding"),
        "{}",
        &text[..300]
    );
}

#[tokio::test]
async fn no_transform_and_route_compress_false_are_respected() {
    let body = css();
    let origin = crate::support::HttpOrigin::start(move |seen| {
        let cc = if seen.uri.contains("nt") {
            "public, max-age=60, no-transform"
        } else {
            "public, max-age=60"
        };
        crate::support::http_origin::ok(&body, &[("content-type", "text/css"), ("cache-control", cc)])
    })
    .await;
    let edge = TestEdge::start(&origin.config("")).await;
    let r = edge.request("GET", "/nt.css", &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.header("content-encoding"), "");
    let r = edge.request("GET", "/ok.css", &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.header("content-encoding"), "gzip");

    let off = TestEdge::start(&origin.config("compress = false")).await;
    let r = off.request("GET", "/ok.css", &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.header("content-encoding"), "");
}

#[tokio::test]
async fn origin_encoded_objects_pass_through_as_stored() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, css().as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let stored = gz.clone();
    let origin = crate::support::HttpOrigin::start(move |_| {
        let mut r = crate::support::http_origin::ok(
            "",
            &[
                ("content-type", "text/css"),
                ("content-encoding", "gzip"),
                ("cache-control", "max-age=60"),
            ],
        );
        *r.body_mut() = http_body_util::Full::new(bytes::Bytes::from(stored.clone()));
        r
    })
    .await;
    let edge = TestEdge::start(&origin.config("")).await;
    for accept in ["br", "gzip", "identity"] {
        let r = edge.request("GET", "/pre.css", &[("accept-encoding", accept)]).await;
        assert_eq!(r.header("content-encoding"), "gzip");
        assert_eq!(r.body.as_ref(), &gz[..]);
    }
}
