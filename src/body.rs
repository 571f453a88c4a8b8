//! The response body type: a cached `Bytes` (the hit path: no boxing, one
//! clone of a reference-counted buffer) or a stream from an origin.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::origin::{BoxError, OriginBody};

pub enum EdgeBody {
    Full(Option<Bytes>),
    Stream(OriginBody),
}

impl EdgeBody {
    pub fn empty() -> EdgeBody {
        EdgeBody::Full(None)
    }

    pub fn bytes(b: Bytes) -> EdgeBody {
        EdgeBody::Full(Some(b))
    }
}

impl Body for EdgeBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            EdgeBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            EdgeBody::Stream(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            EdgeBody::Full(b) => b.is_none(),
            EdgeBody::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            EdgeBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            EdgeBody::Stream(s) => s.size_hint(),
        }
    }
}

/// The error of a body whose origin went quiet (a timeout: 504 to a fill).
#[derive(Debug, thiserror::Error)]
#[error("origin sent nothing for {0:?} mid-body")]
pub struct Stalled(pub std::time::Duration);

/// An origin body that fails when no frame arrives for `idle`: a stalled
/// origin must not hold a client (or a fill) forever. The client of a
/// response already started sees it aborted, never completed short.
pub struct IdleTimeout {
    inner: OriginBody,
    idle: std::time::Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl IdleTimeout {
    pub fn wrap(inner: OriginBody, idle: std::time::Duration) -> OriginBody {
        use http_body_util::BodyExt;
        IdleTimeout {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
        .boxed_unsync()
    }
}

impl Body for IdleTimeout {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + this.idle;
                this.timer.as_mut().reset(deadline);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(Stalled(this.idle))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
