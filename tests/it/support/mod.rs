//! Test support: real servers on ephemeral loopback ports — the edge, an
//! in-process S3 origin (s3s-fs), a small HTTP origin — and a client.

pub mod admin;
pub mod client;
pub mod edge;
pub mod faulty_origin;
pub mod gate;
pub mod http_origin;
pub mod raw_origin;
pub mod s3_origin;
pub mod sigv4;
pub mod tls;

pub use client::raw_request;
pub use edge::TestEdge;
pub use http_origin::HttpOrigin;
pub use s3_origin::S3Origin;
