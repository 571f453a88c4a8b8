//! Attacks from issue 18, each reproduced on the wire: what the edge must
//! refuse, and what it must still serve.

mod host;
