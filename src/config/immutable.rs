//! A route's `immutable`, `cache_control_unhashed` and `hashed_pattern`.

use http::HeaderValue;
use regex::Regex;

use super::raw::RawRoute;
use super::validate::Checker;
use crate::immutable::{self, HashedNames, Immutable};

pub(super) fn immutable(
    c: &mut Checker<'_>,
    key: &dyn Fn(&str) -> String,
    raw: &RawRoute,
    cache_control: Option<&HeaderValue>,
) -> Immutable {
    let choice = raw.immutable.as_ref().map_or("always", |s| s.get_ref().as_str());
    if choice != "hashed" {
        for (field, v) in [
            ("cache_control_unhashed", &raw.cache_control_unhashed),
            ("hashed_pattern", &raw.hashed_pattern),
        ] {
            if let Some(v) = v {
                c.err::<()>(&key(field), "only applies with immutable = \"hashed\"", v.span());
            }
        }
    }
    match choice {
        "always" => Immutable::Always,
        "never" => {
            let says_immutable = cache_control
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("immutable")));
            if says_immutable {
                let span = raw.cache_control.as_ref().expect("set").span();
                c.err::<()>(
                    &key("cache_control"),
                    "says `immutable` on a route with immutable = \"never\"",
                    span,
                );
            }
            Immutable::Never
        }
        "hashed" => {
            let unhashed = raw
                .cache_control_unhashed
                .as_ref()
                .map_or(immutable::DEFAULT_UNHASHED_CACHE_CONTROL, |s| s.get_ref().as_str());
            let unhashed_cache_control = match HeaderValue::from_str(unhashed) {
                Ok(v) => v,
                Err(_) => {
                    let span = raw.cache_control_unhashed.as_ref().expect("default is valid").span();
                    c.err::<()>(&key("cache_control_unhashed"), "not a valid header value", span);
                    HeaderValue::from_static(immutable::DEFAULT_UNHASHED_CACHE_CONTROL)
                }
            };
            let pattern_text = raw
                .hashed_pattern
                .as_ref()
                .map_or(immutable::DJANGO_HASHED, |s| s.get_ref().as_str());
            let pattern = match Regex::new(pattern_text) {
                Ok(r) => r,
                Err(e) => {
                    let span = raw.hashed_pattern.as_ref().expect("default compiles").span();
                    c.err::<()>(&key("hashed_pattern"), format!("invalid regex: {e}"), span);
                    Regex::new(immutable::DJANGO_HASHED).expect("default compiles")
                }
            };
            Immutable::Hashed(HashedNames {
                pattern,
                unhashed_max_age: immutable::max_age(unhashed),
                unhashed_cache_control,
            })
        }
        other => {
            let span = raw.immutable.as_ref().expect("set").span();
            c.err::<()>(
                &key("immutable"),
                format!("unknown {other:?}; use \"hashed\", \"always\" or \"never\""),
                span,
            );
            Immutable::Always
        }
    }
}
