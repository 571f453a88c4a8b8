//! Cache-Control (and CDN-Cache-Control) directives, parsed as RFC 9111
//! §5.2 and the HTTP caching conformance suite expect.
//!
//! Ours rather than `headers::CacheControl`: that parser rejects a whole
//! header over one malformed directive, splits quoted strings on commas,
//! and keeps no stale-while-revalidate / stale-if-error / must-understand;
//! each of those changes what a shared cache may store or serve.

use http::HeaderValue;

/// Cap for delta-seconds (RFC 9111 §1.2.2: 2^31).
const DELTA_MAX: u64 = 1 << 31;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directives {
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    pub no_store: bool,
    pub no_cache: bool,
    pub private: bool,
    pub public: bool,
    pub must_revalidate: bool,
    pub proxy_revalidate: bool,
    pub must_understand: bool,
    pub no_transform: bool,
    pub immutable: bool,
    pub stale_while_revalidate: Option<u64>,
    pub stale_if_error: Option<u64>,
    /// Request only: `max-stale` with or without a value (`Some(None)`).
    pub max_stale: Option<Option<u64>>,
    pub min_fresh: Option<u64>,
    pub only_if_cached: bool,
    /// Whether any directive was present at all.
    pub any: bool,
    /// Field names of a qualified `no-cache="..."` / `private="..."`: the
    /// response may be stored without them (RFC 9111 §5.2.2.4, §5.2.2.7).
    pub omit_fields: Vec<String>,
}

impl Directives {
    /// Parses every field line of a Cache-Control-style header. The first
    /// occurrence of a directive wins (RFC 9111 §4.2.1 allows "first").
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a HeaderValue>) -> Directives {
        let mut d = Directives::default();
        let mut seen: Vec<String> = Vec::new();
        for value in values {
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            for (name, arg) in split(text) {
                let name = name.to_ascii_lowercase();
                if seen.contains(&name) {
                    continue;
                }
                d.any = true;
                match name.as_str() {
                    "max-age" => d.max_age = Some(delta(arg)),
                    "s-maxage" => d.s_maxage = Some(delta(arg)),
                    "no-store" => d.no_store = true,
                    "no-cache" | "private" if arg.is_some_and(|a| a.starts_with('"')) => {
                        let list = arg.unwrap_or_default().trim_matches('"');
                        d.omit_fields.extend(
                            list.split(',')
                                .map(|f| f.trim().to_ascii_lowercase())
                                .filter(|f| !f.is_empty()),
                        );
                    }
                    "no-cache" => d.no_cache = true,
                    "private" => d.private = true,
                    "public" => d.public = true,
                    "must-revalidate" => d.must_revalidate = true,
                    "proxy-revalidate" => d.proxy_revalidate = true,
                    "must-understand" => d.must_understand = true,
                    "no-transform" => d.no_transform = true,
                    "immutable" => d.immutable = true,
                    "stale-while-revalidate" => d.stale_while_revalidate = Some(delta(arg)),
                    "stale-if-error" => d.stale_if_error = Some(delta(arg)),
                    "max-stale" => d.max_stale = Some(arg.map(|a| delta(Some(a)))),
                    "min-fresh" => d.min_fresh = Some(delta(arg)),
                    "only-if-cached" => d.only_if_cached = true,
                    _ => {}
                }
                seen.push(name);
            }
        }
        d
    }
}

/// Whether a CDN-Cache-Control field line is a valid Structured Field
/// dictionary (RFC 8941 §3.2), with integers for the directives that take
/// seconds. A hand check rather than a crate: we need only validity.
pub fn valid_structured_dictionary(value: &HeaderValue) -> bool {
    let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
        return false;
    };
    if text.trim().is_empty() {
        return true;
    }
    split_members(text).into_iter().all(|member| {
        let member = member.trim_matches(|c| c == ' ' || c == '\t');
        let (item, _params) = member.split_once(';').unwrap_or((member, ""));
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        let key_ok = key.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'*')
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b));
        let numeric = matches!(
            key,
            "max-age" | "s-maxage" | "stale-while-revalidate" | "stale-if-error"
        );
        key_ok
            && match value {
                None => true,
                Some(v) if numeric => sf_integer(v),
                Some(v) => sf_integer(v) || sf_string(v) || sf_token(v) || v == "?0" || v == "?1",
            }
    })
}

fn sf_integer(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn sf_string(v: &str) -> bool {
    v.len() >= 2 && v.starts_with('"') && v.ends_with('"')
}

fn sf_token(v: &str) -> bool {
    v.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'*')
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"(),;<=>?@[\\]{}".contains(&b) || b == b':' || b == b'/')
}

/// Members of a comma-separated list, commas inside quotes kept.
fn split_members(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, b) in text.bytes().enumerate() {
        if quoted {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => quoted = false,
                _ => {}
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            out.push(&text[start..i]);
            start = i + 1;
        }
    }
    out.push(&text[start..]);
    out
}

/// delta-seconds; a malformed value (quoted-string digits excepted) counts
/// as 0, so that a response with a broken max-age is treated as stale
/// rather than fresh for a heuristic lifetime.
fn delta(arg: Option<&str>) -> u64 {
    let Some(arg) = arg else { return 0 };
    let arg = arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')).unwrap_or(arg);
    if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    arg.parse::<u64>().unwrap_or(DELTA_MAX).min(DELTA_MAX)
}

/// Splits `a, b=1, c="x, y"` into `(name, value)` pairs, respecting quoted
/// strings; a directive with whitespace around `=` is not recognised.
fn split(text: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b',' => {
                push(&mut out, &text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push(&mut out, &text[start..]);
    out
}

fn push<'a>(out: &mut Vec<(&'a str, Option<&'a str>)>, item: &'a str) {
    let item = item.trim();
    if item.is_empty() {
        return;
    }
    match item.split_once('=') {
        None => out.push((item, None)),
        // `max-age =3600` / `max-age= 3600`: not a directive we know.
        Some((name, value)) if name.ends_with([' ', '\t']) || value.starts_with([' ', '\t']) => {
            out.push(("", None));
        }
        Some((name, value)) => out.push((name, Some(value))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(values: &[&str]) -> Directives {
        let hv: Vec<HeaderValue> = values.iter().map(|v| HeaderValue::from_str(v).unwrap()).collect();
        Directives::parse(&hv)
    }

    #[test]
    fn parses_like_the_suite_expects() {
        assert_eq!(p(&["max-age=1800, max-age=1"]).max_age, Some(1800));
        assert_eq!(p(&["max-age=1800", "max-age=1"]).max_age, Some(1800));
        assert_eq!(p(&["max-age=\"3600\""]).max_age, Some(3600));
        assert_eq!(p(&["extension=\"max-age=3600\", max-age=1"]).max_age, Some(1));
        assert_eq!(p(&["max-age=1, extension=\"max-age=3600\""]).max_age, Some(1));
        assert_eq!(p(&["max-age =3600"]).max_age, None);
        assert_eq!(p(&["max-age= 3600"]).max_age, None);
        assert_eq!(p(&["max-age=003600"]).max_age, Some(3600));
        assert_eq!(p(&["max-age='3600'"]).max_age, Some(0));
        assert_eq!(p(&["max-age=3600.0"]).max_age, Some(0));
        assert_eq!(p(&["max-age=a3600"]).max_age, Some(0));
        assert_eq!(p(&["max-age=99999999999999999999"]).max_age, Some(DELTA_MAX));
        assert_eq!(p(&["MAX-AGE=5"]).max_age, Some(5));
    }

    #[test]
    fn flags_and_stale_windows() {
        let d = p(&[
            "public, no-cache, must-revalidate",
            "stale-while-revalidate=30, stale-if-error=600",
        ]);
        assert!(d.public && d.no_cache && d.must_revalidate && !d.no_store);
        assert_eq!(d.stale_while_revalidate, Some(30));
        assert_eq!(d.stale_if_error, Some(600));
        assert_eq!(p(&["max-stale"]).max_stale, Some(None));
        assert_eq!(p(&["max-stale=5"]).max_stale, Some(Some(5)));
        assert!(!p(&[""]).any);
        assert_eq!(p(&["no-cache=\"Set-Cookie, X-A\""]).omit_fields, ["set-cookie", "x-a"]);
        assert!(!p(&["no-cache=\"Set-Cookie\""]).no_cache);
    }

    #[test]
    fn structured_dictionary_validity() {
        let ok = |v: &str| valid_structured_dictionary(&HeaderValue::from_str(v).unwrap());
        assert!(ok("max-age=10000"));
        assert!(ok("max-age=10, no-store, foo=\"a,b\", bar=?1"));
        assert!(!ok("max-age=10000, &&&&&"));
        assert!(!ok("max-age=\"10000\""));
        assert!(!ok("Max-Age=5"));
    }
}
