//! Per-route response headers and CORS, as CloudFront's response headers
//! policies provide them.
//!
//! Fixed headers (`headers = {…}`) and `Vary: Origin` are rendered into the
//! object at fill time. The CORS answer depends on the request's `Origin`,
//! so it is added per request — but only when the route has `cors` and the
//! request carries `Origin`: a plain hit pays one header lookup. One stored
//! object serves every allowed origin (the cache does not vary on Origin).

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// A route's CORS rules, with every constant header value built once.
#[derive(Debug, Clone)]
pub struct Cors {
    pub origins: AllowOrigins,
    pub allow_methods: HeaderValue,
    pub allow_headers: AllowHeaders,
    pub expose_headers: Option<HeaderValue>,
    pub max_age: Option<HeaderValue>,
    pub allow_credentials: bool,
}

#[derive(Debug, Clone)]
pub enum AllowOrigins {
    Any,
    /// Serialized origins (`https://www.example.com`), lower-case.
    List(Vec<String>),
}

#[derive(Debug, Clone)]
pub enum AllowHeaders {
    /// Echo what the preflight asks for.
    Any,
    List(Option<HeaderValue>),
}

/// A preflight's outcome.
pub enum Preflight {
    Allowed(HeaderMap),
    Denied,
}

impl Cors {
    /// Whether the answer differs between origins (then `Vary: Origin`).
    pub fn varies(&self) -> bool {
        !matches!(self.origins, AllowOrigins::Any) || self.allow_credentials
    }

    fn allowed(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            AllowOrigins::Any => true,
            AllowOrigins::List(list) => {
                let o = origin.as_bytes();
                list.iter().any(|a| a.as_bytes().eq_ignore_ascii_case(o))
            }
        }
    }

    fn allow_origin(&self, origin: &HeaderValue) -> HeaderValue {
        if self.varies() {
            origin.clone()
        } else {
            HeaderValue::from_static("*")
        }
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn apply(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        if !self.allowed(origin) {
            return;
        }
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin(origin));
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(expose) = &self.expose_headers {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
        }
    }

    /// The answer to `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method` (the Fetch standard's preflight).
    pub fn preflight(&self, origin: &HeaderValue, request: &HeaderMap) -> Preflight {
        let method = request
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
        let method_ok = method.is_some_and(|m| {
            self.allow_methods
                .to_str()
                .is_ok_and(|list| list.split(',').any(|a| a.trim() == m.as_str()))
        });
        if !self.allowed(origin) || !method_ok {
            return Preflight::Denied;
        }
        let mut h = HeaderMap::new();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, self.allow_origin(origin));
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.clone());
        let asked = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS);
        match (&self.allow_headers, asked) {
            (AllowHeaders::Any, Some(asked)) => {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            }
            (AllowHeaders::List(Some(list)), _) => {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, list.clone());
            }
            _ => {}
        }
        if let Some(max_age) = &self.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.clone());
        }
        if self.allow_credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        h.insert(
            header::VARY,
            HeaderValue::from_static("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        );
        Preflight::Allowed(h)
    }
}

/// Whether a request is a CORS preflight.
pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Fill-time: the route's fixed headers and, where the CORS answer depends
/// on the origin, `Vary: Origin` (appended to any `Vary` already there).
pub fn render(headers: &mut HeaderMap, fixed: &[(HeaderName, HeaderValue)], cors: Option<&Cors>, status: StatusCode) {
    for (name, value) in fixed {
        headers.insert(name.clone(), value.clone());
    }
    if cors.is_some_and(Cors::varies) && !status.is_server_error() {
        let has_origin = headers
            .get_all(header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("origin") || t.trim() == "*");
        if !has_origin {
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
}
