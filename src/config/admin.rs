//! The `[server]` keys that bound the admin listener: how long a client
//! may take to send a request (`admin_timeout`), and which regions a SigV4
//! credential scope may name (`admin_regions`). Kept apart from the edge's
//! client limits: the admin API takes bodies and credentials, the edge
//! neither.

use std::time::Duration;

use super::raw::RawServer;
use super::validate::Checker;

/// Time for a whole admin request head, then for its whole body.
pub const DEFAULT_ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The region the AWS CLI signs CloudFront calls for.
pub const DEFAULT_ADMIN_REGION: &str = "us-east-1";

pub(super) fn admin_timeout(c: &mut Checker<'_>, raw: &RawServer) -> Duration {
    let value = c.duration("server.admin_timeout", &raw.admin_timeout, DEFAULT_ADMIN_TIMEOUT);
    if let Some(v) = &raw.admin_timeout
        && value.is_zero()
    {
        c.err::<()>("server.admin_timeout", "must be more than 0s", v.span());
        return DEFAULT_ADMIN_TIMEOUT;
    }
    value
}

pub(super) fn admin_regions(c: &mut Checker<'_>, raw: &RawServer) -> Vec<String> {
    let Some(list) = &raw.admin_regions else {
        return vec![DEFAULT_ADMIN_REGION.to_string()];
    };
    if list.get_ref().is_empty() {
        let msg = "name at least one region, e.g. [\"us-east-1\"]";
        c.err::<()>("server.admin_regions", msg, list.span());
    }
    let mut regions = Vec::new();
    for (i, region) in list.get_ref().iter().enumerate() {
        if is_region(region.get_ref()) {
            regions.push(region.get_ref().clone());
        } else {
            let msg = format!("{:?} is not a region name such as \"us-east-1\"", region.get_ref());
            c.err::<()>(&format!("server.admin_regions[{i}]"), msg, region.span());
        }
    }
    regions
}

/// Lower-case letters, digits and '-', as AWS region names are.
fn is_region(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    const ROUTE: &str =
        "[origins.app]\nkind = \"http\"\nurl = \"http://127.0.0.1:8000\"\n[[routes]]\npath = \"/\"\norigin = \"app\"\n";

    fn parse(server: &str) -> Result<Config, crate::config::ConfigErrors> {
        Config::parse(&format!("[server]\n{server}\n{ROUTE}"), Path::new("."))
    }

    #[test]
    fn admin_keys_have_defaults_and_are_checked() {
        let c = parse("").unwrap();
        assert_eq!(c.server.admin_timeout, super::DEFAULT_ADMIN_TIMEOUT);
        assert_eq!(c.server.admin_regions, ["us-east-1"]);
        let c = parse("admin_timeout = \"2s\"\nadmin_regions = [\"eu-west-1\", \"us-east-1\"]").unwrap();
        assert_eq!(c.server.admin_timeout, std::time::Duration::from_secs(2));
        assert_eq!(c.server.admin_regions, ["eu-west-1", "us-east-1"]);
        for bad in [
            "admin_timeout = \"0s\"",
            "admin_regions = []",
            "admin_regions = [\"US East\"]",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.to_string().contains("server.admin_"), "{bad}: {e}");
        }
    }
}
