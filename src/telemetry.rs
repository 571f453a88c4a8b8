//! Logging: a `tracing` subscriber honouring `RUST_LOG` (default `info`),
//! as text or JSON lines (`server.log_format`). Per-request spans and
//! events are at `debug`, so the hit path pays only a disabled-callsite
//! check unless asked for them. (The access log is separate: `access_log`.)

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
