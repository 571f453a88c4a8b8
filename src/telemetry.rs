//! Logging: a `tracing` subscriber honouring `RUST_LOG` (default `info`).
//! Per-request spans and events are at `debug`, so the hit path pays only
//! a disabled-callsite check unless asked for them.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
