//! Attacks on the edge (issue 18), one module per class: each test
//! reproduces an attack on real sockets, against the real edge, and checks
//! what a victim sees and what the origin received.

mod admin;
mod admin_sigv4;
mod authorization_hfm;
mod fill_limits;
mod forwarded;
mod framing;
mod host;
mod omitted_fields;
mod passed_methods;
mod purge_flood;
mod ranges;
mod sharing;
mod vary_bytes;
mod vary_host;
