//! One CloudFront standard-log line, written straight into bytes.
//!
//! CloudFront URL-encodes, in every field taken from the request, the
//! bytes that would break the format or a reader: controls and space,
//! bytes ≥ 0x7F, and `"`, `#`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`.
//! Header fields (User-Agent, Referer, Cookie) have `%` encoded too, so the
//! logged value decodes back to what was sent; the URI stem and query are
//! logged as the client sent them (already percent-encoded).
//!
//! A line is rendered in one pass, as the response leaves, from the
//! request's fields (borrowed from the request on a hit, captured before it
//! is consumed otherwise) and the response's. Numbers go through `itoa`,
//! the date is formatted once a second, and nothing goes through
//! `core::fmt` on the common path: with `write!` a line cost ~9,700
//! instructions (callgrind), more than the 1 KiB hit it logged.

use std::cell::Cell;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Version;
use time::OffsetDateTime;

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

/// Bytes escaped in fields from the request: controls (and DEL), every byte
/// ≥ 0x80, and CloudFront's list. A lookup table rather than the
/// `percent-encoding` crate's `AsciiSet`: its per-byte check was the
/// costliest loop of a line (callgrind), and the set is fixed.
const fn escapes(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b >= 0x7f;
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}
const URI: &[bool; 256] = &escapes(b" \"#<>\\^`{|}");
/// Header values escape `%` too, so they decode back to what was sent.
const HEADER: &[bool; 256] = &escapes(b" \"#<>\\^`{|}%");

/// What the log takes from a request (borrowed from it while it exists).
pub struct RequestFields<'a> {
    pub client: IpAddr,
    pub method: &'a [u8],
    pub host: Option<&'a [u8]>,
    pub stem: &'a [u8],
    pub query: &'a [u8],
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    pub cookie: Option<&'a [u8]>,
    pub forwarded_for: Option<&'a [u8]>,
    pub https: bool,
    pub version: Version,
    pub request_bytes: u64,
    pub request_id: u64,
}

/// What the log takes from a response.
pub struct ResponseFields<'a> {
    /// When the response left: CloudFront's `date` and `time` are when the
    /// server finished responding.
    pub at: SystemTime,
    pub status: u16,
    /// CloudFront's result type (`Hit`, `RefreshHit`, `Miss`, `Error`).
    pub result: &'static str,
    pub response_bytes: u64,
    pub content_type: Option<&'a [u8]>,
    pub content_length: Option<u64>,
    pub range: Option<(u64, u64)>,
    pub elapsed: Duration,
}

/// Appends one whole line (with its newline) to `out`.
pub fn line(r: &RequestFields<'_>, s: &ResponseFields<'_>, location: &str, out: &mut Vec<u8>) {
    // date, time, x-edge-location, sc-bytes, c-ip, cs-method
    date_time(s.at, out);
    tab(out);
    text(out, location);
    tab(out);
    number(out, s.response_bytes);
    tab(out);
    ip(out, r.client);
    tab(out);
    raw(out, r.method);
    tab(out);
    // cs(Host), cs-uri-stem, sc-status, cs(Referer), cs(User-Agent),
    // cs-uri-query, cs(Cookie)
    let host_at = out.len();
    encoded(out, r.host, HEADER);
    let host = host_at..out.len();
    tab(out);
    encoded(out, Some(r.stem), URI);
    tab(out);
    number(out, u64::from(s.status));
    tab(out);
    encoded(out, r.referer, HEADER);
    tab(out);
    encoded(out, r.user_agent, HEADER);
    tab(out);
    encoded(out, Some(r.query), URI);
    tab(out);
    encoded(out, r.cookie, HEADER);
    tab(out);
    // x-edge-result-type, x-edge-request-id, x-host-header, cs-protocol,
    // cs-bytes, time-taken, x-forwarded-for, ssl-protocol, ssl-cipher
    text(out, s.result);
    tab(out);
    request_id(out, r.request_id);
    tab(out);
    out.extend_from_within(host);
    tab(out);
    text(out, if r.https { "https" } else { "http" });
    tab(out);
    number(out, r.request_bytes);
    tab(out);
    seconds(out, s.elapsed);
    tab(out);
    encoded(out, r.forwarded_for, HEADER);
    out.extend_from_slice(b"\t-\t-\t");
    // x-edge-response-result-type, cs-protocol-version, fle-status,
    // fle-encrypted-fields, c-port, time-to-first-byte,
    // x-edge-detailed-result-type, sc-content-type, sc-content-len,
    // sc-range-start, sc-range-end
    text(out, s.result);
    tab(out);
    text(out, version(r.version));
    out.extend_from_slice(b"\t-\t-\t-\t");
    seconds(out, s.elapsed);
    tab(out);
    text(out, s.result);
    tab(out);
    encoded(out, s.content_type, HEADER);
    tab(out);
    optional_number(out, s.content_length);
    tab(out);
    optional_number(out, s.range.map(|(a, _)| a));
    tab(out);
    optional_number(out, s.range.map(|(_, b)| b));
    out.push(b'\n');
}

fn tab(out: &mut Vec<u8>) {
    out.push(b'\t');
}

fn text(out: &mut Vec<u8>, s: &str) {
    raw(out, s.as_bytes());
}

/// As is (a method is a token); `-` when empty.
fn raw(out: &mut Vec<u8>, s: &[u8]) {
    if s.is_empty() {
        out.push(b'-');
    } else {
        out.extend_from_slice(s);
    }
}

/// Percent-encoded (upper-case hex); `-` when absent or empty. Clean runs
/// are copied whole.
fn encoded(out: &mut Vec<u8>, v: Option<&[u8]>, escape: &[bool; 256]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let Some(mut rest) = v.filter(|v| !v.is_empty()) else {
        out.push(b'-');
        return;
    };
    while let Some(i) = rest.iter().position(|&b| escape[b as usize]) {
        let b = rest[i];
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn optional_number(out: &mut Vec<u8>, n: Option<u64>) {
    match n {
        Some(n) => number(out, n),
        None => out.push(b'-'),
    }
}

/// Seconds with three decimals, rounded to the millisecond.
fn seconds(out: &mut Vec<u8>, d: Duration) {
    // In u64: `as_micros` is a u128, and its division a libcall.
    let millis = d.as_secs().saturating_mul(1000) + u64::from((d.subsec_micros() + 500) / 1000);
    number(out, millis / 1000);
    let frac = (millis % 1000) as u16;
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

fn ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                number(out, u64::from(octet));
            }
        }
        IpAddr::V6(v6) => out.extend_from_slice(v6.to_string().as_bytes()),
    }
}

/// CloudFront's ids are opaque base64-ish strings; ours are unique per node
/// run and sortable: `cf` and 16 hex digits.
fn request_id(out: &mut Vec<u8>, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"cf");
    for shift in (0..16).rev() {
        out.push(HEX[(n >> (shift * 4)) as usize & 0xf]);
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

thread_local! {
    /// The last second formatted on this thread: `YYYY-MM-DD\tHH:MM:SS`.
    static DATE_TIME: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

/// `2024-05-01\t12:34:56` in UTC, formatted once a second per thread.
fn date_time(at: SystemTime, out: &mut Vec<u8>) {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (cached, mut text) = DATE_TIME.get();
    if cached != secs {
        let t = OffsetDateTime::from(at);
        let s = format!(
            "{:04}-{:02}-{:02}\t{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        // A year past 9999 would not fit; the log then says the epoch.
        if s.len() == text.len() {
            text.copy_from_slice(s.as_bytes());
        } else {
            text.copy_from_slice(b"1970-01-01\t00:00:00");
        }
        DATE_TIME.set((secs, text));
    }
    out.extend_from_slice(&text);
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
