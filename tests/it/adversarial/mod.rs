//! Attacks on the edge (issue 18), one module per class: each test
//! reproduces an attack on real sockets and checks what a victim sees.

mod fill_limits;
mod sharing;
