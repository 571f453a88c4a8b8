//! The TLS listener: TLS 1.2 and 1.3 only, h2 by ALPN, certificates by SNI
//! with a default; and h2c on the plain listener.

use http::Version;
use rustls::version::{TLS12, TLS13};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::http_origin::ok;
use crate::support::tls::{Conn, TestCa};
use crate::support::{HttpOrigin, TestEdge};

struct Setup {
    ca: TestCa,
    edge: TestEdge,
    origin: HttpOrigin,
    default: rustls::pki_types::CertificateDer<'static>,
    b: rustls::pki_types::CertificateDer<'static>,
    wildcard: rustls::pki_types::CertificateDer<'static>,
}

/// An edge whose default certificate names `default.test` and 127.0.0.1,
/// with `b.test` and `*.c.test` on certificates of their own.
async fn setup() -> Setup {
    let ca = TestCa::new();
    let (cert, key, default) = ca.issue("default", &["default.test", "127.0.0.1"]);
    let (b_cert, b_key, b) = ca.issue("b", &["b.test"]);
    let (w_cert, w_key, wildcard) = ca.issue("wild", &["*.c.test"]);
    let origin = HttpOrigin::start(|seen| {
        let proto = seen
            .headers
            .get("x-forwarded-proto")
            .map_or("-", |v| v.to_str().unwrap());
        ok(&format!("proto={proto}"), &[("cache-control", "max-age=60")])
    })
    .await;
    let config = origin.config("").replace(
        "[server]\n",
        &format!(
            r#"[server]
tls_listen = "127.0.0.1:0"
tls_cert = "{cert}"
tls_key = "{key}"
[[server.certs]]
names = ["b.test"]
cert = "{b_cert}"
key = "{b_key}"
[[server.certs]]
names = ["*.c.test"]
cert = "{w_cert}"
key = "{w_key}"
"#
        ),
    );
    // `[[server.certs]]` ends the [server] table: keep `name` before it.
    let config = config
        .replace("name = \"edge-test\"\n", "")
        .replace("[server]\n", "[server]\nname = \"edge-test\"\n");
    let edge = TestEdge::start(&config).await;
    Setup {
        ca,
        edge,
        origin,
        default,
        b,
        wildcard,
    }
}

#[tokio::test]
async fn tls_1_2_and_1_3_handshakes_serve_requests() {
    let s = setup().await;
    let addr = s.edge.tls.unwrap();
    for (version, expected) in [
        (&TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let client = s.ca.client(&[version], &["http/1.1"]);
        let (hs, mut conn) = client.connect(addr, "default.test").await.unwrap();
        assert_eq!(hs.version, expected);
        let r = conn.get("/page").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, "proto=https", "the origin hears the client came over TLS");
    }
    assert_eq!(s.origin.requests(), 1, "the second was a hit");
}

/// A hand-written TLS 1.1 ClientHello (rustls clients cannot speak 1.1):
/// the edge must answer with a fatal alert, never a ServerHello.
#[tokio::test]
async fn tls_1_1_is_refused() {
    let s = setup().await;
    let mut hello = vec![0x03, 0x02]; // client_version TLS 1.1
    hello.extend_from_slice(&[7u8; 32]); // random
    hello.push(0); // no session id
    hello.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2f, 0xc0, 0x13]); // ECDHE-RSA-AES128-GCM-SHA256, -SHA
    hello.extend_from_slice(&[0x01, 0x00]); // null compression
    let mut handshake = vec![0x01, 0x00, 0x00, hello.len() as u8];
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x02, 0x00, handshake.len() as u8];
    record.extend_from_slice(&handshake);

    let mut tcp = tokio::net::TcpStream::connect(s.edge.tls.unwrap()).await.unwrap();
    tcp.write_all(&record).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .expect("the edge closes the connection")
        .unwrap();
    assert!(answer.len() >= 7, "an alert record: {answer:?}");
    assert_eq!(answer[0], 0x15, "an alert, not a handshake record: {answer:?}");
    // rustls answers a hello offering nothing above TLS 1.1 with a fatal
    // handshake_failure (40); protocol_version (70) would do as well.
    assert_eq!(answer[5], 2, "a fatal alert: {answer:?}");
    assert!([40, 70].contains(&answer[6]), "{answer:?}");
}

#[tokio::test]
async fn alpn_h2_speaks_http2_over_tls() {
    let s = setup().await;
    let client = s.ca.client(&[&TLS13, &TLS12], &["h2", "http/1.1"]);
    let (hs, mut conn) = client.connect(s.edge.tls.unwrap(), "default.test").await.unwrap();
    assert_eq!(hs.alpn.as_deref(), Some(&b"h2"[..]));
    for expected in ["Miss from edge-test", "Hit from edge-test"] {
        let (version, r) = conn.try_get("/h2").await.unwrap();
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(r.status, 200);
        assert_eq!(r.x_cache(), expected);
    }
    let client = s.ca.client(&[&TLS13], &["http/1.1"]);
    let (hs, mut conn) = client.connect(s.edge.tls.unwrap(), "default.test").await.unwrap();
    assert_eq!(hs.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(conn.try_get("/h2").await.unwrap().0, Version::HTTP_11);
}

#[tokio::test]
async fn sni_picks_the_certificate_and_falls_back_to_the_default() {
    let s = setup().await;
    let client = s.ca.client(&[&TLS13], &["http/1.1"]);
    let addr = s.edge.tls.unwrap();
    for (name, expected) in [
        ("b.test", &s.b),
        ("x.c.test", &s.wildcard),
        ("default.test", &s.default),
        ("127.0.0.1", &s.default), // an IP address: no SNI at all
    ] {
        let (hs, mut conn) = client.connect(addr, name).await.unwrap();
        assert!(&hs.leaf == expected, "wrong certificate for {name}");
        assert_eq!(conn.get("/sni").await.status, 200);
    }
    // A name no certificate covers gets the default one, which the client
    // then rejects: the handshake itself was not refused by the edge.
    let err = client
        .connect(addr, "y.b.test")
        .await
        .err()
        .expect("certificate mismatch");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn h2c_by_prior_knowledge_on_the_plain_listener() {
    let s = setup().await;
    let mut conn = Conn::plain(s.edge.addr, true).await;
    let (version, r) = conn.try_get("/h2c").await.unwrap();
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "proto=http");
}
