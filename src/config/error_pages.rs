//! A route's `error_pages = { 404 = { path = "/static/404.html", status =
//! 404, ttl = "10s" } }`: CloudFront's custom error responses.

use std::time::Duration;

use http::StatusCode;

use super::ErrorPage;
use super::raw::RawRoute;
use super::validate::Checker;

pub(super) fn error_pages(c: &mut Checker<'_>, key: &dyn Fn(&str) -> String, raw: &RawRoute) -> Vec<ErrorPage> {
    let mut out = Vec::new();
    for (code, page) in raw.error_pages.iter().flatten() {
        let k = |f: &str| key(&format!("error_pages.{code}{f}"));
        let p = page.get_ref();
        let Some(code) = code.parse::<u16>().ok().filter(|c| (400..=599).contains(c)) else {
            c.err::<()>(&k(""), "keys are error statuses, 400 to 599", page.span());
            continue;
        };
        if !p.path.get_ref().starts_with('/') {
            c.err::<()>(&k(".path"), "must be a URL path starting with '/'", p.path.span());
            continue;
        }
        let status = match &p.status {
            None => StatusCode::from_u16(code).expect("checked range"),
            Some(s) => match u16::try_from(*s.get_ref())
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
            {
                Some(st) if st.as_u16() >= 200 => st,
                _ => {
                    c.err::<()>(&k(".status"), "must be an HTTP status from 200 to 599", s.span());
                    continue;
                }
            },
        };
        let ttl = p.ttl.as_ref().map(|_| c.duration(&k(".ttl"), &p.ttl, Duration::ZERO));
        out.push(ErrorPage {
            code,
            path: p.path.get_ref().clone(),
            status,
            ttl,
        });
    }
    out
}
