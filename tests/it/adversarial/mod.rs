//! Issue 18's attacks, each reproduced against the edge on real sockets
//! (a raw-byte logging origin shows what reaches the origin).

mod forwarded;
mod framing;
