//! Keeping web pages away from a tokenless admin API. Without
//! `CACHEFRONT_ADMIN_TOKEN` the admin listener is on loopback with no
//! credentials, so anything that can make the operator's browser send a
//! request to it could purge the cache or read metrics:
//!
//! - DNS rebinding: a page whose name resolves to 127.0.0.1 talks to it as
//!   same-origin, with its own name in `Host`. Only IP literals and
//!   `localhost` are accepted as `Host`/`:authority`; a rebinding page
//!   cannot send those.
//! - Cross-site requests (CSRF): a form or a `no-cors` fetch can POST
//!   `text/plain`, `multipart/form-data` or form-encoded bodies without a
//!   preflight. Browsers mark such requests with `Origin` (every non-GET)
//!   and `Sec-Fetch-Site`; requests carrying either are refused (the admin
//!   API serves no pages, so no legitimate caller is a browser page). For
//!   browsers that send neither, a POST with a body must be
//!   `application/json` (XML on the CloudFront API paths), a type that
//!   needs a CORS preflight this listener never grants, or carry an
//!   `Authorization` header (the AWS CLI sends no type), which needs one too.
//!
//! tower-http's `CsrfLayer` lets same-origin requests (`Origin` equal to
//! `Host`) through, which here would be a rebound page; hence these rules.

use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use http::{HeaderMap, Method, Uri};

/// Why a tokenless request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("Host must be an IP address or localhost (with a token, any Host is accepted)")]
    Host,
    #[error("requests from web pages (Origin or Sec-Fetch-Site) are refused")]
    CrossSite,
    #[error("POST bodies must be Content-Type: application/json (XML on the CloudFront API)")]
    ContentType,
}

impl Refused {
    pub fn status(self) -> http::StatusCode {
        match self {
            Refused::Host | Refused::CrossSite => http::StatusCode::FORBIDDEN,
            Refused::ContentType => http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// What `check` looks at.
pub struct Head<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    /// Whether a body follows the head.
    pub has_body: bool,
    /// A CloudFront-API path (XML bodies).
    pub cloudfront: bool,
}

pub fn check(head: &Head<'_>) -> Result<(), Refused> {
    let hosts = head
        .uri
        .authority()
        .map(|a| a.as_str())
        .into_iter()
        .chain(head.headers.get_all(HOST).iter().map(|v| v.to_str().unwrap_or("")));
    for host in hosts {
        if !local_name(host) {
            return Err(Refused::Host);
        }
    }
    let fetch_site = head.headers.get("sec-fetch-site").map(|v| v.as_bytes());
    if head.headers.contains_key(ORIGIN) || fetch_site.is_some_and(|v| v != b"none") {
        return Err(Refused::CrossSite);
    }
    if matches!(*head.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    match head.headers.get(CONTENT_TYPE) {
        Some(v) if allowed_type(v.as_bytes(), head.cloudfront) => Ok(()),
        Some(_) => Err(Refused::ContentType),
        None if !head.has_body || head.headers.contains_key(AUTHORIZATION) => Ok(()),
        None => Err(Refused::ContentType),
    }
}

/// `host[:port]` where host is an IP literal or `localhost`.
fn local_name(authority: &str) -> bool {
    let Ok(authority) = authority.parse::<http::uri::Authority>() else {
        return false;
    };
    let host = authority.host();
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok()
}

/// The media type, parameters (`; charset=utf-8`) aside.
fn allowed_type(value: &[u8], cloudfront: bool) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if cloudfront {
        matches!(essence.as_str(), "application/xml" | "text/xml")
    } else {
        essence == "application/json"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &Method, uri: &str, headers: &[(&str, &str)], has_body: bool) -> Result<(), Refused> {
        let uri: Uri = uri.parse().unwrap();
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        check(&Head {
            method,
            uri: &uri,
            headers: &map,
            has_body,
            cloudfront: uri.path().starts_with("/2020-05-31/"),
        })
    }

    #[test]
    fn names_types_and_browser_headers() {
        let post = &Method::POST;
        let json = ("content-type", "application/json; charset=utf-8");
        assert_eq!(
            head(post, "/invalidations", &[("host", "127.0.0.1:9091"), json], true),
            Ok(())
        );
        assert_eq!(head(post, "http://[::1]:9/invalidations", &[json], true), Ok(()));
        assert_eq!(
            head(post, "/invalidations", &[("host", "LOCALHOST"), json], true),
            Ok(())
        );
        for host in ["evil.example", "127.0.0.1.evil.example:9091", "", "a b"] {
            let r = head(post, "/invalidations", &[("host", host), json], true);
            assert_eq!(r, Err(Refused::Host), "{host:?}");
        }
        assert_eq!(
            head(&Method::GET, "http://evil.example/metrics", &[], false),
            Err(Refused::Host)
        );
        let origin = ("origin", "null");
        assert_eq!(head(post, "/reload", &[origin], false), Err(Refused::CrossSite));
        let site = ("sec-fetch-site", "same-site");
        assert_eq!(head(&Method::GET, "/metrics", &[site], false), Err(Refused::CrossSite));
        assert_eq!(
            head(&Method::GET, "/metrics", &[("sec-fetch-site", "none")], false),
            Ok(())
        );
        let plain = ("content-type", "text/plain");
        assert_eq!(head(post, "/invalidations", &[plain], true), Err(Refused::ContentType));
        assert_eq!(head(post, "/reload", &[plain], false), Err(Refused::ContentType));
        assert_eq!(head(post, "/invalidations", &[], true), Err(Refused::ContentType));
        assert_eq!(head(post, "/reload", &[], false), Ok(()));
        let cf = "/2020-05-31/distribution/X/invalidation";
        assert_eq!(head(post, cf, &[("content-type", "text/xml")], true), Ok(()));
        assert_eq!(head(post, cf, &[json], true), Err(Refused::ContentType));
        assert_eq!(head(post, cf, &[("authorization", "AWS4-HMAC-SHA256 x")], true), Ok(()));
    }
}
