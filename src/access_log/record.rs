//! A line's fields as a compact binary record: what a worker appends to the
//! queue. The writer thread renders a batch of records into text
//! (`format::line`) before writing it, as Varnish's `varnishncsa` renders
//! the binary records workers put in its shared-memory log.
//!
//! Why not render on the worker: a line rendered between two requests cost
//! a 1 KiB hit ~0.6 µs (its code and tables cold in the caches each time),
//! while the same rendering in a loop runs in ~0.15 µs. A record is a few
//! stores and copies of the raw field bytes, and the escaping, the number
//! formatting and the date run in the writer, hundreds of lines at a time.
//!
//! Layout, little-endian: the record's length (u32), the fixed fields,
//! then each byte string as a u32 length and its bytes. Records are only
//! ever read by the writer of the process that wrote them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, UNIX_EPOCH};

use http::Version;

use super::format::{RequestFields, ResponseFields};
// The result types a record carries, by index: the metrics' list.
use crate::metrics::RESULTS;

const VERSIONS: [Version; 5] = [
    Version::HTTP_09,
    Version::HTTP_10,
    Version::HTTP_11,
    Version::HTTP_2,
    Version::HTTP_3,
];

const HTTPS: u8 = 1;
const CONTENT_LENGTH: u8 = 2;
const RANGE: u8 = 4;
const V6: u8 = 8;

/// Appends the record of one request and its response to `out`, numbered
/// `request_id` (the queue numbers lines; `r.request_id` is not read).
pub fn write(request_id: u64, r: &RequestFields<'_>, s: &ResponseFields<'_>, out: &mut Vec<u8>) {
    let strings = [
        r.method,
        r.host.unwrap_or_default(),
        r.stem,
        r.query,
        r.referer.unwrap_or_default(),
        r.user_agent.unwrap_or_default(),
        r.cookie.unwrap_or_default(),
        r.forwarded_for.unwrap_or_default(),
        s.content_type.unwrap_or_default(),
    ];
    let len = FIXED + strings.iter().map(|s| 4 + s.len()).sum::<usize>();
    out.reserve(len);
    let at = s.at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (ip, v6) = match r.client {
        IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), 0),
        IpAddr::V6(v6) => (v6.octets(), V6),
    };
    let (start, end) = s.range.unwrap_or_default();
    let mut flags = v6;
    for (on, bit) in [
        (r.https, HTTPS),
        (s.content_length.is_some(), CONTENT_LENGTH),
        (s.range.is_some(), RANGE),
    ] {
        if on {
            flags |= bit;
        }
    }
    out.extend_from_slice(&(len as u32).to_le_bytes());
    for n in [
        request_id,
        at.as_secs(),
        u64::from(at.subsec_nanos()),
        u64::try_from(s.elapsed.as_nanos()).unwrap_or(u64::MAX),
        r.request_bytes,
        s.response_bytes,
        s.content_length.unwrap_or_default(),
        start,
        end,
    ] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&s.status.to_le_bytes());
    out.extend_from_slice(&[
        flags,
        VERSIONS.iter().position(|v| *v == r.version).unwrap_or(2) as u8,
        RESULTS.iter().position(|x| *x == s.result).unwrap_or(RESULTS.len()) as u8,
    ]);
    out.extend_from_slice(&ip);
    for s in strings {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s);
    }
}

/// Bytes before the strings: length, nine u64s, status, three flag bytes,
/// the address.
const FIXED: usize = 4 + 9 * 8 + 2 + 3 + 16;

/// The first record of `buf` and the bytes after it; `None` when `buf` is
/// empty or does not hold a whole record.
pub fn read(buf: &[u8]) -> Option<(RequestFields<'_>, ResponseFields<'_>, &[u8])> {
    let len = Cursor(buf).u32()? as usize;
    let rest = buf.get(len..)?;
    let mut c = Cursor(buf.get(4..len)?);
    let mut numbers = [0; 9];
    for n in &mut numbers {
        *n = c.u64()?;
    }
    let [
        id,
        secs,
        nanos,
        elapsed,
        request_bytes,
        response_bytes,
        content_length,
        start,
        end,
    ] = numbers;
    let status = u16::from_le_bytes(c.array()?);
    let [flags, version, result] = c.array()?;
    let ip = Ipv6Addr::from(c.array::<16>()?);
    let client = if flags & V6 != 0 {
        IpAddr::V6(ip)
    } else {
        IpAddr::V4(ip.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED))
    };
    let mut strings: [&[u8]; 9] = [&[]; 9];
    for s in &mut strings {
        *s = c.bytes()?;
    }
    let [
        method,
        host,
        stem,
        query,
        referer,
        user_agent,
        cookie,
        forwarded_for,
        content_type,
    ] = strings;
    let request = RequestFields {
        client,
        method,
        host: some(host),
        stem,
        query,
        referer: some(referer),
        user_agent: some(user_agent),
        cookie: some(cookie),
        forwarded_for: some(forwarded_for),
        https: flags & HTTPS != 0,
        version: VERSIONS.get(usize::from(version)).copied().unwrap_or(Version::HTTP_11),
        request_bytes,
        request_id: id,
    };
    let response = ResponseFields {
        at: UNIX_EPOCH + Duration::new(secs, nanos as u32),
        status,
        result: RESULTS.get(usize::from(result)).copied().unwrap_or("-"),
        response_bytes,
        content_type: some(content_type),
        content_length: (flags & CONTENT_LENGTH != 0).then_some(content_length),
        range: (flags & RANGE != 0).then_some((start, end)),
        elapsed: Duration::from_nanos(elapsed),
    };
    Some((request, response, rest))
}

/// An absent field was written as an empty string.
fn some(v: &[u8]) -> Option<&[u8]> {
    Some(v).filter(|v| !v.is_empty())
}

/// Reads a record front to back; `None` past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access_log::format::line;

    fn rendered(r: &RequestFields<'_>, s: &ResponseFields<'_>) -> String {
        let mut out = Vec::new();
        line(r, s, "edge-1", &mut out);
        String::from_utf8(out).unwrap()
    }

    /// Every field survives the record: the line rendered from the record
    /// is the line rendered from the fields, for both address families,
    /// present and absent options, each version and result.
    #[test]
    fn a_record_renders_the_line_its_fields_do() {
        let mut buf = Vec::new();
        let mut want = Vec::new();
        let cases = [
            (
                "192.0.2.7",
                Some(&b"cdn.example.com"[..]),
                Version::HTTP_11,
                "Hit",
                Some(1000),
                Some((0, 999)),
            ),
            ("2001:db8::1", None, Version::HTTP_2, "RefreshHit", None, None),
            ("::ffff:192.0.2.9", Some(b"h"), Version::HTTP_10, "Miss", Some(0), None),
            ("10.0.0.1", Some(b"a b"), Version::HTTP_3, "Error", None, Some((5, 5))),
        ];
        for (i, (ip, host, version, result, content_length, range)) in cases.into_iter().enumerate() {
            let r = RequestFields {
                client: ip.parse().unwrap(),
                method: b"GET",
                host,
                stem: b"/static/a%20b.css",
                query: if i % 2 == 0 { b"v=1" } else { b"" },
                referer: Some(b"https://example.com/"),
                user_agent: Some(b"curl/8 (x)"),
                cookie: None,
                forwarded_for: Some(b"203.0.113.1"),
                https: i % 2 == 1,
                version,
                request_bytes: 120 + i as u64,
                request_id: i as u64,
            };
            let s = ResponseFields {
                at: UNIX_EPOCH + Duration::new(1_700_000_000 + i as u64, 123_456_789),
                status: 200 + i as u16,
                result,
                response_bytes: 1400,
                content_type: Some(b"text/css"),
                content_length,
                range,
                elapsed: Duration::from_micros(1_600 * i as u64),
            };
            write(i as u64, &r, &s, &mut buf);
            want.push(rendered(&r, &s));
        }
        let mut rest = &buf[..];
        let mut got = Vec::new();
        while let Some((r, s, tail)) = read(rest) {
            got.push(rendered(&r, &s));
            rest = tail;
        }
        assert!(rest.is_empty());
        assert_eq!(got, want);
        // A record cut short is not read.
        assert!(read(&buf[..buf.len() / 4 - 1]).is_none());
    }
}
