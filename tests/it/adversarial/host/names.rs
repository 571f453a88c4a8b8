//! `server.hostnames` (and a route's `hostnames`): the names a signed
//! policy is checked against are the site's, never the client's; and, for
//! any `Host` a client sends, with or without them, a user1 policy never
//! opens user2's file.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use super::wire::{h1_get, h2_get, h2_raw};
use super::{OWN, USER1_POLICY, media_edge, sign};

fn own(query: &str) -> String {
    format!("/media/user1/own.txt?{query}")
}

#[tokio::test]
async fn with_hostnames_the_policy_is_checked_against_the_configured_names() {
    let (origin, edge) = media_edge("hostnames = [\"cdn.example.com\", \"www.example.com\"]", "").await;
    let user1 = sign(USER1_POLICY);
    // Any Host (or none): the resource is a configured name, so user1's
    // policy opens user1's file...
    for host in ["cdn.example.com", "CDN.example.com:8080", "evil.example", "127.0.0.1"] {
        let got = h1_get(edge.addr, &own(&user1.query), host, None).await;
        assert_eq!((got.status, got.body.as_str()), (200, OWN), "Host {host}");
        let got = h1_get(edge.addr, "/media/user2/secret.txt", host, Some(&user1.cookie)).await;
        got.assert_no_secret(host);
        assert_eq!(got.status, 403, "Host {host}");
    }
    let got = super::wire::h1(edge.addr, &format!("GET {} HTTP/1.0\r\n\r\n", own(&user1.query))).await;
    assert_eq!((got.status, got.body.as_str()), (200, OWN), "HTTP/1.0 without Host");
    let got = h2_get(edge.addr, &format!("http://evil.example{}", own(&user1.query)), &[]).await;
    assert_eq!(
        (got.status, got.body.as_str()),
        (200, OWN),
        "h2, :authority evil.example"
    );
    // ...and a policy for a name the site does not have opens nothing,
    // even when the client sends that name.
    let other = sign("http://old.example.com/media/*");
    for host in ["old.example.com", "cdn.example.com"] {
        let got = h1_get(edge.addr, &own(&other.query), host, None).await;
        assert_eq!(got.status, 403, "Host {host}: {got:?}");
    }
    // When the Host is one of the names, only that name is the resource's.
    let www = sign("http://www.example.com/media/user1/*");
    let got = h1_get(edge.addr, &own(&www.query), "cdn.example.com", None).await;
    assert_eq!(got.status, 403, "{got:?}");
    let got = h1_get(edge.addr, &own(&www.query), "WWW.example.com", None).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert!(origin.uris().iter().all(|u| !u.contains("user2")));
}

#[tokio::test]
async fn a_routes_hostnames_replace_the_servers() {
    let (_origin, edge) = media_edge(
        "hostnames = [\"cdn.example.com\"]",
        "hostnames = [\"media.example.com:8443\"]",
    )
    .await;
    let cdn = sign(USER1_POLICY);
    let media = sign("https://media.example.com:8443/media/user1/*");
    for host in ["cdn.example.com", "media.example.com:8443"] {
        let got = h1_get(edge.addr, &own(&cdn.query), host, None).await;
        assert_eq!(got.status, 403, "Host {host}: {got:?}");
    }
    // The listener is plain HTTP: an https policy matches only behind a
    // proxy that says so; here `http*` would. The name and port are the route's.
    let media_any = sign("http*://media.example.com:8443/media/user1/*");
    let got = h1_get(edge.addr, &own(&media_any.query), "evil.example", None).await;
    assert_eq!((got.status, got.body.as_str()), (200, OWN));
    let got = h1_get(edge.addr, &own(&media.query), "media.example.com:8443", None).await;
    assert_eq!(got.status, 403, "scheme is http here: {got:?}");
}

#[test]
fn hostnames_that_are_not_host_port_are_config_errors() {
    let config = |server: &str, route: &str| {
        format!(
            "[server]\n{server}\n[origins.o]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/m/\"\norigin = \"o\"\n{route}\n"
        )
    };
    let parse = |text: String| cachefront::config::Config::parse(&text, std::path::Path::new("."));
    for bad in ["cdn.example.com/media", "u@cdn.example.com", "cdn.example.com:", ""] {
        let err = parse(config(&format!("hostnames = [{bad:?}]"), ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.hostnames[0]") && err.contains("line 2"), "{err}");
        let err = parse(config("", &format!("hostnames = [{bad:?}]")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("routes[0].hostnames[0]"), "{err}");
    }
    let err = parse(config("hostnames = []", "")).unwrap_err().to_string();
    assert!(err.contains("server.hostnames"), "{err}");
    assert!(parse(config("hostnames = [\"CDN.example.com\", \"[::1]:8080\"]", "")).is_ok());
}

/// Host values an attacker might try: pieces of URLs, delimiters, the
/// policy's own path, control and non-ASCII bytes (no CR/LF: those end the
/// header line in HTTP/1 and are not a Host value at all).
fn hostile_host() -> impl Strategy<Value = String> {
    let piece = proptest::sample::select(vec![
        "cdn.example.com",
        "/media/user1",
        "/media/user1/",
        "/",
        "//",
        "@",
        ":",
        ":80",
        "[",
        "]",
        "[::1]",
        "%2f",
        "%2F",
        "%",
        "..",
        ".",
        "?",
        "#",
        " ",
        "\t",
        "*",
        "\\",
        "user1",
        "evil.example",
        "\u{1}",
        "é",
        ";",
        "=",
    ]);
    proptest::collection::vec(piece, 1..7).prop_map(|p| p.concat())
}

#[tokio::test]
async fn for_any_host_a_user1_policy_never_opens_user2() {
    let mut runner = TestRunner::deterministic();
    let strategy = hostile_host();
    let hosts: Vec<String> = (0..96)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let user1 = sign(USER1_POLICY);
    let user2 = format!("/media/user2/secret.txt?{}", user1.query);
    for hostnames in ["", "hostnames = [\"cdn.example.com\"]"] {
        let (origin, edge) = media_edge(hostnames, "").await;
        for host in &hosts {
            let what = format!("{hostnames:?}, Host {host:?}");
            h1_get(edge.addr, &user2, host, None).await.assert_no_secret(&what);
            h1_get(edge.addr, "/media/user2/secret.txt", host, Some(&user1.cookie))
                .await
                .assert_no_secret(&what);
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", user2.as_str())];
            for extra in [(":authority", host.as_str()), ("host", host.as_str())] {
                h2_raw(edge.addr, &[fields.as_slice(), &[extra]].concat())
                    .await
                    .assert_no_secret(&what);
            }
        }
        assert!(origin.uris().iter().all(|u| !u.contains("user2")), "{hostnames:?}");
    }
}
