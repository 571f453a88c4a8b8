//! A line field by field, absent fields, and the per-second date cache.

use super::*;

fn line(req: &RequestFields<'_>, resp: &ResponseFields<'_>) -> String {
    let mut out = Vec::new();
    super::line(req, resp, "edge-1", &mut out);
    String::from_utf8(out).unwrap()
}

fn request() -> RequestFields<'static> {
    RequestFields {
        client: "192.0.2.7".parse().unwrap(),
        method: b"GET",
        host: Some(b"cdn.example.com"),
        stem: b"/static/a%20b.css",
        query: b"v=1&x=%7B",
        referer: None,
        user_agent: Some(b"curl/8.0 (x\"y\") 100%"),
        cookie: Some(b""),
        forwarded_for: None,
        https: true,
        version: Version::HTTP_2,
        request_bytes: 120,
        request_id: 42,
    }
}

fn response() -> ResponseFields<'static> {
    ResponseFields {
        at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        status: 206,
        result: "Hit",
        response_bytes: 1400,
        content_type: Some(b"text/css"),
        content_length: Some(1000),
        range: Some((0, 999)),
        elapsed: Duration::from_micros(1600),
    }
}

#[test]
fn a_line_field_by_field() {
    let line = line(&request(), &response());
    assert!(line.ends_with('\n'));
    let f: Vec<&str> = line.trim_end_matches('\n').split('\t').collect();
    assert_eq!(f.len(), FIELDS.len());
    let expected = [
        "2023-11-14",
        "22:13:20",
        "edge-1",
        "1400",
        "192.0.2.7",
        "GET",
        "cdn.example.com",
        "/static/a%20b.css",
        "206",
        "-",
        "curl/8.0%20(x%22y%22)%20100%25",
        "v=1&x=%7B",
        "-",
        "Hit",
        "cf000000000000002a",
        "cdn.example.com",
        "https",
        "120",
        "0.002",
        "-",
        "-",
        "-",
        "Hit",
        "HTTP/2.0",
        "-",
        "-",
        "-",
        "0.002",
        "Hit",
        "text/css",
        "1000",
        "0",
        "999",
    ];
    for (i, (got, want)) in f.iter().zip(expected).enumerate() {
        assert_eq!(*got, want, "field {i} ({})", FIELDS[i]);
    }
}

#[test]
fn absent_fields_ipv6_and_long_durations() {
    let mut req = request();
    req.client = "2001:db8::1".parse().unwrap();
    req.host = None;
    req.query = b"";
    req.user_agent = None;
    req.https = false;
    req.version = Version::HTTP_11;
    let mut resp = response();
    resp.content_type = None;
    resp.content_length = None;
    resp.range = None;
    resp.elapsed = Duration::from_millis(12_345);
    let line = line(&req, &resp);
    let f: Vec<&str> = line.trim_end_matches('\n').split('\t').collect();
    assert_eq!(f.len(), FIELDS.len());
    assert_eq!(f[4], "2001:db8::1");
    assert_eq!((f[6], f[11], f[15]), ("-", "-", "-"));
    assert_eq!((f[16], f[23]), ("http", "HTTP/1.1"));
    assert_eq!((f[18], f[27]), ("12.345", "12.345"));
    assert_eq!(&f[29..], ["-", "-", "-", "-"]);
}

#[test]
fn the_date_follows_the_clock_across_seconds_and_days() {
    let mut out = Vec::new();
    for (secs, want) in [
        (1_700_000_000, "2023-11-14\t22:13:20"),
        (1_700_000_001, "2023-11-14\t22:13:21"),
        (1_700_000_000 + 86_400, "2023-11-15\t22:13:20"),
        (1_700_000_000, "2023-11-14\t22:13:20"),
    ] {
        out.clear();
        date_time(SystemTime::UNIX_EPOCH + Duration::from_secs(secs), &mut out);
        assert_eq!(String::from_utf8_lossy(&out), want);
    }
}

#[test]
fn escaping_matches_the_percent_encoding_crate_for_every_byte() {
    use percent_encoding::{AsciiSet, CONTROLS, percent_encode};
    const CF_URI: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'<')
        .add(b'>')
        .add(b'\\')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    const CF_HEADER: &AsciiSet = &CF_URI.add(b'%');
    for (table, set) in [(URI, CF_URI), (HEADER, CF_HEADER)] {
        for b in 0..=255u8 {
            let input = [b'a', b, b'z'];
            let mut out = Vec::new();
            encoded(&mut out, Some(&input), table);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                percent_encode(&input, set).to_string(),
                "byte {b:#04x}"
            );
        }
    }
}

#[test]
fn durations_round_to_the_millisecond_and_carry() {
    for (micros, want) in [
        (0, "0.000"),
        (499, "0.000"),
        (500, "0.001"),
        (1_999_499, "1.999"),
        (1_999_500, "2.000"),
        (86_400_000_000, "86400.000"),
    ] {
        let mut out = Vec::new();
        seconds(&mut out, Duration::from_micros(micros));
        assert_eq!(String::from_utf8(out).unwrap(), want, "{micros} us");
    }
}
