//! One CloudFront standard-log line from a `Record`.
//!
//! CloudFront URL-encodes, in every field taken from the request, the
//! bytes that would break the format or a reader: controls and space,
//! bytes ≥ 0x7F, and `"`, `#`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`.
//! Header fields (User-Agent, Referer, Cookie) have `%` encoded too, so the
//! logged value decodes back to what was sent; the URI stem and query are
//! logged as the client sent them (already percent-encoded).

use std::fmt::Write;

use http::{HeaderValue, Version};
use percent_encoding::{AsciiSet, CONTROLS, percent_encode};

use super::{Record, date_time};

/// CloudFront's standard log fields, in its order.
pub const FIELDS: [&str; 33] = [
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];

const URI: &AsciiSet = &CONTROLS
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
const HEADER: &AsciiSet = &URI.add(b'%');

/// Appends the line for `r` (with its newline) to `out`.
pub fn encode(r: &Record, location: &str, out: &mut String) {
    let (date, time) = date_time(r.at);
    let secs = r.elapsed.as_secs_f64();
    let stem = r.uri.path();
    let host = r.host.as_ref();
    let fields: [Field<'_>; 33] = [
        Field::Text(&date),
        Field::Text(&time),
        Field::Text(location),
        Field::Number(r.response_bytes),
        Field::Display(&r.client),
        Field::Text(r.method.as_str()),
        Field::Header(host),
        Field::Uri(stem),
        Field::Number(u64::from(r.status)),
        Field::Header(r.referer.as_ref()),
        Field::Header(r.user_agent.as_ref()),
        Field::Uri(r.uri.query().unwrap_or("")),
        Field::Header(r.cookie.as_ref()),
        Field::Text(r.result),
        Field::RequestId(r.request_id),
        Field::Header(host),
        Field::Text(if r.https { "https" } else { "http" }),
        Field::Number(r.request_bytes),
        Field::Seconds(secs),
        Field::Header(r.forwarded_for.as_ref()),
        Field::Text(""),
        Field::Text(""),
        Field::Text(r.result),
        Field::Text(version(r.version)),
        Field::Text(""),
        Field::Text(""),
        Field::Text(""),
        Field::Seconds(secs),
        Field::Text(r.result),
        Field::Header(r.content_type.as_ref()),
        r.content_length.map_or(Field::Text(""), Field::Number),
        r.range.map_or(Field::Text(""), |(a, _)| Field::Number(a)),
        r.range.map_or(Field::Text(""), |(_, b)| Field::Number(b)),
    ];
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        f.write(out);
    }
    out.push('\n');
}

enum Field<'a> {
    Text(&'a str),
    Uri(&'a str),
    Header(Option<&'a HeaderValue>),
    Number(u64),
    Seconds(f64),
    Display(&'a dyn std::fmt::Display),
    RequestId(u64),
}

impl Field<'_> {
    fn write(&self, out: &mut String) {
        let _ = match self {
            Field::Text("") | Field::Uri("") | Field::Header(None) => out.write_str("-"),
            Field::Text(s) => out.write_str(s),
            Field::Uri(s) => write!(out, "{}", percent_encode(s.as_bytes(), URI)),
            Field::Header(Some(v)) if v.is_empty() => out.write_str("-"),
            Field::Header(Some(v)) => write!(out, "{}", percent_encode(v.as_bytes(), HEADER)),
            Field::Number(n) => write!(out, "{n}"),
            Field::Seconds(s) => write!(out, "{s:.3}"),
            Field::Display(d) => write!(out, "{d}"),
            // CloudFront's ids are opaque base64-ish strings; ours are unique
            // per node run and sortable.
            Field::RequestId(n) => write!(out, "cf{n:016x}"),
        };
    }
}

fn version(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use http::{Method, Uri};

    use super::*;

    #[test]
    fn a_line_field_by_field() {
        let r = Record {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            client: "192.0.2.7".parse().unwrap(),
            method: Method::GET,
            uri: Uri::from_static("/static/a%20b.css?v=1&x=%7B"),
            host: Some(HeaderValue::from_static("cdn.example.com")),
            referer: None,
            user_agent: Some(HeaderValue::from_static("curl/8.0 (x\"y\") 100%")),
            cookie: Some(HeaderValue::from_static("")),
            forwarded_for: None,
            https: true,
            version: Version::HTTP_2,
            request_bytes: 120,
            status: 206,
            result: "Hit",
            response_bytes: 1400,
            content_type: Some(HeaderValue::from_static("text/css")),
            content_length: Some(1000),
            range: Some((0, 999)),
            elapsed: Duration::from_micros(1600),
            request_id: 42,
        };
        let mut line = String::new();
        encode(&r, "edge-1", &mut line);
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
}
