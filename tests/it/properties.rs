//! Property tests (proptest) for the parsers that face clients and
//! origins: object-key mapping, `Range`, `Accept-Encoding`, `Cache-Control`.
//! Each must never panic, and what it accepts must keep its promises.

use std::sync::Arc;

use cachefront::cache::Store;
use cachefront::cache::directives::Directives;
use cachefront::config::{Config, OriginKind};
use cachefront::encoding::{self, Encoding};
use cachefront::metrics::Metrics;
use cachefront::origin::metered::MeteredOrigin;
use cachefront::origin::{HttpOrigin, Origin};
use cachefront::range::{self, MAX_RANGES, RangeOutcome};
use cachefront::route::Route;
use http::HeaderValue;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

fn route() -> Route {
    let config = Config::parse(
        "[origins.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:1\"\n\n[[routes]]\npath = \"/static/\"\norigin = \"app\"\nkey_prefix = \"site/static/\"\n",
        std::path::Path::new("."),
    )
    .unwrap();
    let origin_cfg = &config.origins["app"];
    let OriginKind::Http(h) = &origin_cfg.kind else {
        unreachable!()
    };
    let origin = Origin::Http(HttpOrigin::new(origin_cfg, h, HeaderValue::from_static("1.1 t")));
    let metrics = Metrics::new(Store::new(
        1 << 20,
        std::time::Duration::ZERO,
        1,
        std::time::Duration::ZERO,
    ));
    let origin = MeteredOrigin::new(origin, metrics.origin("app"));
    Route::new(0, &config.routes[0], Arc::new(origin), metrics.route("/static/"), None)
}

/// A path segment a user might name: anything but `/`, `.`/`..`, NUL and `\`.
fn segment() -> impl Strategy<Value = String> {
    "[^/\\\\\u{0}]{1,12}".prop_filter("not a dot segment", |s| s != "." && s != "..")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the request path, an accepted key stays under key_prefix
    /// and has no traversal in it.
    #[test]
    fn object_keys_never_leave_the_key_prefix(rest in "(%[0-9a-fA-F]{2}|[ -~]|\u{80}|é|\u{0}){0,40}") {
        let route = route();
        if let Ok(key) = route.object_key(&format!("/static/{rest}")) {
            prop_assert!(key.starts_with("site/static/"));
            let tail = &key["site/static/".len()..];
            prop_assert!(!tail.split('/').any(|s| s == "." || s == ".."), "{key}");
            prop_assert!(!key.contains('\\') && !key.contains('\0'));
        }
    }

    /// Percent-encoding a name (once) maps back to exactly that name.
    #[test]
    fn percent_encoded_names_map_to_themselves(segments in prop::collection::vec(segment(), 1..5)) {
        let name = segments.join("/");
        let encoded: Vec<String> = segments.iter().map(|s| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()).collect();
        let key = route().object_key(&format!("/static/{}", encoded.join("/")));
        prop_assert_eq!(key, Ok(format!("site/static/{name}")));
    }

    /// Any Range value: no panic; satisfiable ranges lie inside the body,
    /// and never more than MAX_RANGES.
    #[test]
    fn ranges_stay_inside_the_body(value in "(bytes|BYTES|items| bytes)=[-0-9, ]{0,40}", len in 0u64..10_000) {
        match range::parse(&value, len) {
            RangeOutcome::Partial(ranges) => {
                prop_assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
                for (first, last) in ranges {
                    prop_assert!(first <= last && last < len, "{value} on {len}: {first}-{last}");
                }
            }
            RangeOutcome::Full | RangeOutcome::Unsatisfiable => {}
        }
    }

    #[test]
    fn a_single_range_inside_the_body_is_served(len in 1u64..1_000_000, a in 0u64..1_000_000, b in 0u64..1_000_000) {
        let (first, last) = (a.min(b) % len, a.max(b) % len);
        let (first, last) = (first.min(last), first.max(last));
        prop_assert_eq!(range::parse(&format!("bytes={first}-{last}"), len), RangeOutcome::Partial(vec![(first, last)]));
    }

    /// Any Accept-Encoding: no panic, and only what is available (or
    /// identity) is chosen; HTTP/1.0 always gets identity.
    #[test]
    fn accept_encoding_picks_only_available_variants(
        value in "([a-z*]{0,6}(;q=[0-9.]{0,5})?, ?){0,6}",
        gzip in any::<bool>(),
        br in any::<bool>(),
    ) {
        let mut available = vec![];
        if gzip { available.push(Encoding::Gzip); }
        if br { available.push(Encoding::Br); }
        let Ok(header) = HeaderValue::from_str(&value) else { return Ok(()) };
        let chosen = encoding::choose(Some(&header), &available, false);
        prop_assert!(chosen == Encoding::Identity || available.contains(&chosen), "{value}: {chosen:?}");
        prop_assert_eq!(encoding::choose(Some(&header), &available, true), Encoding::Identity);
    }

    /// Any Cache-Control text: no panic; a lone max-age is read back capped.
    #[test]
    fn cache_control_parses_anything(value in "[ -~]{0,60}") {
        if let Ok(header) = HeaderValue::from_str(&value) {
            let _ = Directives::parse([&header]);
        }
    }

    #[test]
    fn max_age_and_flags_round_trip(age in any::<u64>(), no_store in any::<bool>(), private in any::<bool>()) {
        let mut text = format!("max-age={age}");
        if no_store { text.push_str(", no-store"); }
        if private { text.push_str(", private"); }
        let d = Directives::parse([&HeaderValue::from_str(&text).unwrap()]);
        prop_assert_eq!(d.max_age, Some(age.min(1 << 31)));
        prop_assert_eq!(d.no_store, no_store);
        prop_assert_eq!(d.private, private);
    }
}
