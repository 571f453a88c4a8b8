//! `POST /warm[?manifest=/static/staticfiles.json]`: warms the cache from
//! Django's manifest now and answers the summary (the manifest defaults to
//! `[warm]`'s).

use http::StatusCode;

use super::{Admin, text};
use crate::body::EdgeBody;
use crate::warm::{self, Progress, Target};

pub(super) async fn answer(admin: &Admin, query: Option<&str>) -> http::Response<EdgeBody> {
    let config = admin.reloader.current().config.clone();
    let manifest = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("manifest="))
        .map(|m| percent_encoding::percent_decode_str(m).decode_utf8_lossy().into_owned())
        .or_else(|| config.warm.as_ref().map(|w| w.manifest.clone()));
    let Some(manifest) = manifest else {
        return text(
            StatusCode::BAD_REQUEST,
            "no manifest: POST /warm?manifest=/static/staticfiles.json or set [warm]\n".into(),
        );
    };
    let concurrency = config
        .warm
        .as_ref()
        .map_or(warm::DEFAULT_CONCURRENCY, |w| w.concurrency);
    let target = Target::Site(admin.reloader.site.clone());
    match warm::warm(&target, &manifest, concurrency, config.cache.capacity, Progress::Lines).await {
        Ok(summary) => text(StatusCode::OK, format!("{summary}\n")),
        Err(e) => text(StatusCode::BAD_GATEWAY, format!("{e}\n")),
    }
}
