//! The `[server]` keys for watching a node: the access log (and how many
//! lines it queues), the key id the admin API accepts in SigV4 requests, and
//! the application log format.

use std::path::Path;

use toml::Spanned;

use super::raw::RawServer;
use super::validate::Checker;
use crate::access_log::Destination;

/// How application logs (tracing) are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub const DEFAULT_ADMIN_KEY_ID: &str = "cachefront";

/// Lines queued for the access-log writer: a few seconds of a busy node's
/// requests, so a disk stall of that long loses nothing (~2 MiB at most).
pub const DEFAULT_ACCESS_LOG_BUFFER: usize = 8192;
const MAX_ACCESS_LOG_BUFFER: i64 = 1 << 20;

pub(super) fn access_log(c: &mut Checker<'_>, raw: &RawServer, base_dir: &Path) -> Option<Destination> {
    raw.access_log.as_ref().and_then(|v| match v.get_ref().trim() {
        "" => c.err(
            "server.access_log",
            "empty: give a file path or \"-\" for stdout",
            v.span(),
        ),
        "-" => Some(Destination::Stdout),
        path => {
            // `serve` would fail at start creating the file: say so here,
            // where `check` sees it too, with the key and its line.
            let file = base_dir.join(path);
            match file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                Some(dir) if !dir.is_dir() => c.err(
                    "server.access_log",
                    format!(
                        "the folder {} does not exist: create it, or use \"-\" for stdout",
                        dir.display()
                    ),
                    v.span(),
                ),
                _ => Some(Destination::File(file)),
            }
        }
    })
}

pub(super) fn access_log_buffer(c: &mut Checker<'_>, raw: &RawServer) -> usize {
    match &raw.access_log_buffer {
        None => DEFAULT_ACCESS_LOG_BUFFER,
        Some(n) if (1..=MAX_ACCESS_LOG_BUFFER).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => c
            .err(
                "server.access_log_buffer",
                "must be between 1 and 1048576 (lines)",
                n.span(),
            )
            .unwrap_or(DEFAULT_ACCESS_LOG_BUFFER),
    }
}

pub(super) fn admin_key_id(c: &mut Checker<'_>, raw: &RawServer) -> String {
    match &raw.admin_key_id {
        Some(v) if v.get_ref().is_empty() || !v.get_ref().chars().all(|ch| ch.is_ascii_alphanumeric()) => {
            let msg = "an access key id: letters and digits only";
            c.err("server.admin_key_id", msg, v.span()).unwrap_or_default()
        }
        Some(v) => v.get_ref().clone(),
        None => DEFAULT_ADMIN_KEY_ID.to_string(),
    }
}

pub(super) fn log_format(c: &mut Checker<'_>, raw: &RawServer) -> LogFormat {
    match raw.log_format.as_ref().map(|v| (v.get_ref().as_str(), v)) {
        None | Some(("text", _)) => LogFormat::Text,
        Some(("json", _)) => LogFormat::Json,
        Some((_, v)) => c
            .err("server.log_format", "\"text\" or \"json\"", Spanned::span(v))
            .unwrap_or_default(),
    }
}
