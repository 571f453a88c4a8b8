//! Content encodings: which responses are compressed (CloudFront's rules),
//! and which stored variant a request gets (`Accept-Encoding`).
//!
//! The `Accept-Encoding` parser is ours: it runs on every hit, so it scans
//! the header in place without allocating, and no maintained crate offers
//! q-value selection over a fixed set of codings without allocation.

pub mod compress;

use crate::cache::directives::Directives;
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// A stored representation's content coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Br,
    Zstd,
    Gzip,
}

impl Encoding {
    /// Compressed codings in the server's order of preference.
    pub const COMPRESSED: [Encoding; 3] = [Encoding::Br, Encoding::Zstd, Encoding::Gzip];

    pub fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Br => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }

    pub fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(self.token())
    }
}

/// CloudFront compresses bodies from 1,000 to 10,000,000 bytes.
pub const MIN_COMPRESS: usize = 1_000;
pub const MAX_COMPRESS: usize = 10_000_000;

/// Whether a filled response qualifies for compression: status 200, size
/// in range, compressible type, not already encoded, no `no-transform`
/// (RFC 9111 §5.2.2.6).
pub fn qualifies(status: StatusCode, headers: &HeaderMap, body_len: usize) -> bool {
    if status != StatusCode::OK || !(MIN_COMPRESS..=MAX_COMPRESS).contains(&body_len) {
        return false;
    }
    if headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return false;
    }
    if Directives::parse(headers.get_all(header::CACHE_CONTROL)).no_transform {
        return false;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(compressible_type)
}

/// CloudFront's list of compressible types, plus every `text/*` and the
/// `+json` / `+xml` structured suffixes.
fn compressible_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence.starts_with("text/") || essence.ends_with("+json") || essence.ends_with("+xml") {
        return true;
    }
    const LIST: &[&str] = &[
        "application/dash+xml",
        "application/eot",
        "application/font",
        "application/font-sfnt",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "application/opentype",
        "application/otf",
        "application/pkcs7-mime",
        "application/protobuf",
        "application/rss+xml",
        "application/truetype",
        "application/ttf",
        "application/vnd.apple.mpegurl",
        "application/vnd.mpegurl",
        "application/vnd.ms-fontobject",
        "application/wasm",
        "application/x-font-opentype",
        "application/x-font-truetype",
        "application/x-font-ttf",
        "application/x-httpd-cgi",
        "application/x-javascript",
        "application/x-mpegurl",
        "application/x-opentype",
        "application/x-otf",
        "application/x-perl",
        "application/x-ttf",
        "application/xhtml+xml",
        "application/xml",
        "application/xml+rss",
        "font/eot",
        "font/otf",
        "font/opentype",
        "font/ttf",
        "image/svg+xml",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "vnd.apple.mpegurl",
    ];
    LIST.contains(&essence.as_str())
}

/// Picks the variant for a request among `available` (identity is always
/// available): the highest q-value wins, ties go to br > zstd > gzip >
/// identity. HTTP/1.0 clients always get identity.
pub fn choose(accept: Option<&HeaderValue>, available: &[Encoding], http10: bool) -> Encoding {
    let Some(accept) = accept.filter(|_| !http10) else {
        return Encoding::Identity;
    };
    let Ok(accept) = accept.to_str() else {
        return Encoding::Identity;
    };
    let mut best = (0u16, Encoding::Identity);
    for &enc in Encoding::COMPRESSED.iter().filter(|e| available.contains(e)) {
        let q = qvalue(accept, enc.token());
        if q > best.0 {
            best = (q, enc);
        }
    }
    // Identity competes only when the client ranks it (by name or `*`);
    // otherwise any acceptable coding is preferred, as nginx and CloudFront
    // do. A compressed variant with the same q wins.
    let identity_q = qvalue(accept, "identity");
    if best.0 > 0 && best.0 >= identity_q {
        best.1
    } else {
        Encoding::Identity
    }
}

/// q-value (0-1000) of `coding` in an Accept-Encoding value: its own
/// entry, else `*`'s, else 0.
fn qvalue(accept: &str, coding: &str) -> u16 {
    let mut star = None;
    for (name, q) in entries(accept) {
        if name.eq_ignore_ascii_case(coding) {
            return q;
        }
        if name == "*" {
            star = Some(q);
        }
    }
    star.unwrap_or(0)
}

/// `(coding, q*1000)` pairs; malformed q-values count as 0.
fn entries(accept: &str) -> impl Iterator<Item = (&str, u16)> {
    accept.split(',').filter_map(|item| {
        let mut parts = item.split(';');
        let name = parts.next()?.trim();
        if name.is_empty() {
            return None;
        }
        let mut q = 1000;
        for param in parts {
            let param = param.trim();
            if let Some(v) = param.strip_prefix("q=").or_else(|| param.strip_prefix("Q=")) {
                q = parse_q(v.trim());
            }
        }
        Some((name, q))
    })
}

fn parse_q(v: &str) -> u16 {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0'));
    match int {
        "0" => thousandths,
        "1" if thousandths == 0 => 1000,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Encoding; 4] = [Encoding::Identity, Encoding::Br, Encoding::Zstd, Encoding::Gzip];

    fn pick(accept: &str) -> Encoding {
        choose(Some(&HeaderValue::from_str(accept).unwrap()), &ALL, false)
    }

    #[test]
    fn table_of_accept_encoding_values() {
        use Encoding::*;
        let table = [
            ("gzip, deflate, br, zstd", Br),
            ("gzip, deflate, br", Br),
            ("gzip, deflate", Gzip),
            ("zstd", Zstd),
            ("br;q=0.5, gzip;q=0.8", Gzip),
            ("br;q=0, gzip", Gzip),
            ("br;q=0, gzip;q=0, zstd;q=0", Identity),
            ("*", Br),
            ("*;q=0.5, gzip", Gzip),
            ("*;q=0", Identity),
            ("identity", Identity),
            ("identity;q=1, br;q=0.9", Identity),
            ("deflate", Identity),
            ("", Identity),
            ("GZIP", Gzip),
            ("br;q=1.0", Br),
            ("br;q=0.001", Br),
            ("br;q=1.5", Identity),
            ("br;q=abc, gzip;q=0.1", Gzip),
            (" br ; q=0.9 , gzip ; q=0.9", Br),
        ];
        for (accept, want) in table {
            assert_eq!(pick(accept), want, "Accept-Encoding: {accept:?}");
        }
    }

    #[test]
    fn no_header_http10_or_missing_variant_means_identity() {
        assert_eq!(choose(None, &ALL, false), Encoding::Identity);
        assert_eq!(
            choose(Some(&HeaderValue::from_static("br")), &ALL, true),
            Encoding::Identity
        );
        let only_gzip = [Encoding::Identity, Encoding::Gzip];
        assert_eq!(
            choose(Some(&HeaderValue::from_static("br")), &only_gzip, false),
            Encoding::Identity
        );
        assert_eq!(
            choose(Some(&HeaderValue::from_static("br, gzip")), &only_gzip, false),
            Encoding::Gzip
        );
    }

    #[test]
    fn which_responses_qualify() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        );
        assert!(qualifies(StatusCode::OK, &h, 5000));
        assert!(!qualifies(StatusCode::OK, &h, 999), "too small");
        assert!(!qualifies(StatusCode::OK, &h, 10_000_001), "too large");
        assert!(!qualifies(StatusCode::NOT_FOUND, &h, 5000));
        for ct in [
            "application/javascript",
            "image/svg+xml",
            "application/wasm",
            "font/ttf",
            "application/ld+json",
        ] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            assert!(qualifies(StatusCode::OK, &h, 5000), "{ct}");
        }
        for ct in ["image/png", "application/octet-stream", "video/mp4", "application/pdf"] {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            assert!(!qualifies(StatusCode::OK, &h, 5000), "{ct}");
        }
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css"));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(!qualifies(StatusCode::OK, &h, 5000), "already encoded");
        h.remove(header::CONTENT_ENCODING);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, no-transform"));
        assert!(!qualifies(StatusCode::OK, &h, 5000), "no-transform");
    }
}
