use super::*;
use crate::config::TtlBounds;

use crate::headers::map as h;

const DAY: Duration = Duration::from_secs(86400);
const BOUNDS: TtlBounds = TtlBounds {
    min: Duration::from_secs(60),
    default: DAY,
    max: Duration::from_secs(7 * 86400),
};

fn plain() -> RoutePolicy {
    RoutePolicy {
        cache_control: None,
        ttl: None,
        error_ttl: None,
        compress: false,
        zstd: true,
        all_methods: false,
        store_set_cookie: false,
        stale_while_revalidate: Duration::ZERO,
        stale_if_error: Duration::ZERO,
        slice: None,
        immutable: crate::immutable::Immutable::Always,
        ttl_cap: None,
        headers: Vec::new().into(),
        cors: None,
        signed: None,
        error_pages: Vec::new().into(),
    }
}

fn cdn() -> RoutePolicy {
    RoutePolicy {
        ttl: Some(BOUNDS),
        error_ttl: Some(Duration::from_secs(10)),
        ..plain()
    }
}

fn fresh(status: u16, headers: &[(&str, &str)], policy: &RoutePolicy) -> Option<Duration> {
    let st = StatusCode::from_u16(status).unwrap();
    decide(
        st,
        &h(headers),
        RequestFacts::default(),
        policy,
        status == 404,
        SystemTime::now(),
    )
    .map(|l| l.fresh)
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

#[test]
fn explicit_freshness_order() {
    assert_eq!(
        fresh(200, &[("cache-control", "max-age=10, s-maxage=20")], &plain()),
        secs(20)
    );
    assert_eq!(
        fresh(
            200,
            &[("cache-control", "max-age=10"), ("cdn-cache-control", "max-age=99")],
            &plain()
        ),
        secs(99)
    );
    let e = [
        ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("expires", "Sun, 06 Nov 1994 08:50:37 GMT"),
    ];
    assert_eq!(fresh(200, &e, &plain()), secs(60));
    assert_eq!(fresh(200, &[("expires", "0")], &plain()), secs(0));
    assert_eq!(
        fresh(200, &[("cache-control", "max-age=5"), ("expires", "0")], &plain()),
        secs(5)
    );
}

#[test]
fn not_stored() {
    for cc in ["no-store", "private", "private, max-age=60", "max-age=60, no-store"] {
        assert_eq!(fresh(200, &[("cache-control", cc)], &cdn()), None, "{cc}");
    }
    assert_eq!(
        fresh(200, &[("set-cookie", "a=b"), ("cache-control", "max-age=60")], &plain()),
        None
    );
    assert_eq!(
        fresh(200, &[("vary", "*"), ("cache-control", "max-age=60")], &plain()),
        None
    );
    assert_eq!(fresh(500, &[("cache-control", "max-age=60")], &plain()), None);
    // 302 is not heuristically cacheable: only with explicit freshness.
    assert_eq!(
        fresh(302, &[("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT")], &plain()),
        None
    );
    assert_eq!(fresh(302, &[("cache-control", "max-age=60")], &plain()), secs(60));
}

#[test]
fn set_cookie_stored_when_the_route_allows() {
    let p = RoutePolicy {
        store_set_cookie: true,
        ..plain()
    };
    assert_eq!(
        fresh(200, &[("set-cookie", "a=b"), ("cache-control", "max-age=60")], &p),
        secs(60)
    );
}

#[test]
fn authorization_needs_public_must_revalidate_or_s_maxage() {
    let auth = RequestFacts { authorization: true };
    let d = |cc: &str| {
        decide(
            StatusCode::OK,
            &h(&[("cache-control", cc)]),
            auth,
            &plain(),
            false,
            SystemTime::now(),
        )
    };
    assert!(d("max-age=60").is_none());
    assert!(d("public, max-age=60").is_some());
    assert!(d("must-revalidate, max-age=60").is_some());
    assert!(d("s-maxage=60").is_some());
}

#[test]
fn must_understand_overrides_no_store_for_understood_statuses() {
    assert_eq!(
        fresh(
            200,
            &[("cache-control", "must-understand, no-store, max-age=60")],
            &plain()
        ),
        secs(60)
    );
}

#[test]
fn route_default_and_bounds() {
    assert_eq!(fresh(200, &[], &cdn()), Some(DAY));
    assert_eq!(fresh(200, &[("cache-control", "max-age=1")], &cdn()), secs(60));
    assert_eq!(
        fresh(200, &[("cache-control", "max-age=99999999")], &cdn()),
        secs(7 * 86400)
    );
}

#[test]
fn errors_use_error_ttl_unless_explicit() {
    assert_eq!(fresh(404, &[], &cdn()), secs(10));
    assert_eq!(fresh(404, &[("cache-control", "max-age=300")], &cdn()), secs(300));
    let zero = RoutePolicy {
        error_ttl: Some(Duration::ZERO),
        ..plain()
    };
    assert_eq!(fresh(404, &[], &zero), secs(0));
}

#[test]
fn heuristic_is_a_tenth_of_last_modified_age_capped() {
    let hm = [
        ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("last-modified", "Sun, 06 Nov 1994 07:49:37 GMT"),
    ];
    assert_eq!(fresh(200, &hm, &plain()), secs(360));
    let old = [
        ("date", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ("last-modified", "Tue, 06 Nov 1984 08:49:37 GMT"),
    ];
    assert_eq!(fresh(200, &old, &plain()), Some(HEURISTIC_CAP));
    assert_eq!(fresh(200, &[], &plain()), secs(0));
}

#[test]
fn stale_windows_from_origin_or_route() {
    let route = RoutePolicy {
        stale_while_revalidate: Duration::from_secs(5),
        stale_if_error: Duration::from_secs(50),
        ..plain()
    };
    let l = decide(
        StatusCode::OK,
        &h(&[("cache-control", "max-age=1")]),
        RequestFacts::default(),
        &route,
        false,
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(
        (l.stale_while_revalidate, l.stale_if_error, l.must_revalidate),
        (secs(5).unwrap(), secs(50).unwrap(), false)
    );
    let origin = [(
        "cache-control",
        "max-age=1, stale-while-revalidate=7, stale-if-error=70, must-revalidate",
    )];
    let l = decide(
        StatusCode::OK,
        &h(&origin),
        RequestFacts::default(),
        &route,
        false,
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(
        (l.stale_while_revalidate, l.stale_if_error, l.must_revalidate),
        (secs(7).unwrap(), secs(70).unwrap(), true)
    );
}

#[test]
fn initial_age_takes_the_larger_of_apparent_and_corrected() {
    let now = SystemTime::now();
    let date = httpdate::fmt_http_date(now - Duration::from_secs(30));
    assert_eq!(initial_age(&h(&[("date", &date)]), now, now).as_secs(), 30);
    assert_eq!(
        initial_age(&h(&[("age", "100"), ("date", &date)]), now, now).as_secs(),
        100
    );
    let requested = now - Duration::from_secs(2);
    assert_eq!(initial_age(&h(&[("age", "10")]), requested, now).as_secs(), 12);
    assert_eq!(upstream_age(&h(&[("age", "x")])), Duration::ZERO);
}

#[test]
fn ttl_cap_bounds_explicit_and_clamped_freshness() {
    let capped = RoutePolicy {
        ttl_cap: Some(Duration::from_secs(300)),
        ..cdn()
    };
    assert_eq!(
        fresh(
            200,
            &[("cache-control", "public, max-age=31536000, immutable")],
            &capped
        ),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        fresh(200, &[("cache-control", "max-age=60")], &capped),
        Some(Duration::from_secs(60))
    );
}
