//! Attacks reproduced as tests (issue 18): each failed on the code before
//! its fix. One module per part of the edge.

mod admin;
mod admin_sigv4;
