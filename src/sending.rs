//! The body of every response as a connection sends it: the handler's
//! `EdgeBody`, holding the request's in-flight guard until it is done and,
//! on HTTP/2, handed out in pieces of at most [`PIECE`] bytes so that the
//! connection watcher can tell a stream that sends from one that is stuck
//! (`send_timeout`, see `idle`).
//!
//! Why pieces: hyper hands each frame whole to h2, which queues it and only
//! then asks the body for more. A 30 MiB hit is one frame, so from outside a
//! stream sending it slowly and a stream whose client never opens its
//! flow-control window look the same. In pieces, the body is asked for the
//! next one only as the previous one drains (h2 queues at most
//! `max_send_buf_size` per stream), so "asked again" is send progress, and a
//! body left waiting belongs to a stalled stream. Pieces are `Bytes`
//! slices of the same buffer: nothing is copied. HTTP/1 needs none of this
//! (the socket itself says when it is full) and passes frames through.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::body::EdgeBody;
use crate::idle::InFlight;
use crate::origin::BoxError;

/// The largest piece an HTTP/2 body hands out at once: a client must take
/// this much per `send_timeout` to count as reading.
pub const PIECE: usize = 64 * 1024;

pub struct Sending {
    body: EdgeBody,
    /// HTTP/2: what is left of the frame being handed out in pieces.
    rest: Option<Bytes>,
    in_flight: InFlight,
    h2: bool,
    /// HTTP/2: a piece went out and the body has not been asked again.
    waiting: bool,
}

impl Sending {
    pub fn new(body: EdgeBody, in_flight: InFlight, h2: bool) -> Sending {
        Sending {
            body,
            rest: None,
            in_flight,
            h2,
            waiting: false,
        }
    }

    fn next_piece(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut data = match self.rest.take() {
            Some(rest) => rest,
            None => match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => data,
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                other => return Poll::Ready(other),
            },
        };
        if data.len() > PIECE {
            self.rest = Some(data.split_off(PIECE));
        }
        self.waiting = true;
        self.in_flight.waiting();
        Poll::Ready(Some(Ok(Frame::data(data))))
    }
}

impl Body for Sending {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if !this.h2 {
            return Pin::new(&mut this.body).poll_frame(cx);
        }
        if std::mem::take(&mut this.waiting) {
            this.in_flight.taken();
        }
        this.next_piece(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_none() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let hint = self.body.size_hint();
        let Some(rest) = &self.rest else {
            return hint;
        };
        let n = rest.len() as u64;
        if let Some(exact) = hint.exact() {
            return SizeHint::with_exact(exact + n);
        }
        let mut sum = SizeHint::new();
        if let Some(upper) = hint.upper() {
            sum.set_upper(upper + n);
        }
        sum.set_lower(hint.lower() + n);
        sum
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        if self.waiting {
            self.in_flight.taken();
        }
    }
}
