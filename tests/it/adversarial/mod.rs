//! Attacks from issue 18, each reproduced on the wire against the real edge.

mod ranges;
