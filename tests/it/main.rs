//! The one integration test binary: real sockets, an in-process S3 origin
//! and a small HTTP origin, all on ephemeral loopback ports.

mod support;

mod access_log;
mod admin;
mod adversarial;
mod backlog;
mod cli;
mod client_addr;
mod cloudfront;
mod cloudfront_api;
mod coalescing;
mod compression;
mod conditional;
mod core;
mod cors;
mod dev_origin;
mod drain;
mod error_pages;
mod errors;
mod expiry;
mod faults;
mod hostile;
mod http2_limits;
mod http_origin;
mod https_origin;
mod immutable;
mod invalidation;
mod limits;
mod loops;
mod origin_checks;
mod paths;
mod probe;
mod properties;
mod range;
mod readme;
mod reload;
mod rfc9111;
mod shutdown;
mod signals;
mod signed;
mod size;
mod slices;
mod tls;
mod warm;
mod zerocopy;
