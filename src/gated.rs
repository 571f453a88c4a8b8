//! A future polled only after its own waker fired.
//!
//! `tokio::select!` polls every branch whenever the task wakes. A
//! connection's task wakes for every request, but its watcher (drain
//! phases, idle and head timeouts) has work only when the drain moves or
//! its tick comes: polling it per request cost a hit about 300
//! instructions (callgrind). `Gated` gives the inner future a waker of its
//! own that records the wake-up and passes it on to the task; on any other
//! wake-up a poll is one atomic swap.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use futures_util::task::{ArcWake, AtomicWaker, waker};

pub struct Gated<F> {
    inner: Pin<Box<F>>,
    flag: Arc<Flag>,
    waker: Waker,
}

struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl ArcWake for Flag {
    fn wake_by_ref(this: &Arc<Self>) {
        this.woken.store(true, Ordering::Release);
        this.task.wake();
    }
}

impl<F: Future> Gated<F> {
    pub fn new(inner: F) -> Gated<F> {
        let flag = Arc::new(Flag {
            // The first poll runs the inner future up to its first wait.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Gated {
            inner: Box::pin(inner),
            waker: waker(flag.clone()),
            flag,
        }
    }
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Kept current whoever woke the task (its waker may change).
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::Acquire) {
            return Poll::Pending;
        }
        let this = &mut *self;
        this.inner.as_mut().poll(&mut Context::from_waker(&this.waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts its polls; ready on the third.
    struct Counting(Arc<AtomicUsize>);

    impl Future for Counting {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
            if n == 3 {
                return Poll::Ready(());
            }
            // Wakes itself on the first poll only.
            if n == 1 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }

    #[test]
    fn the_inner_future_is_polled_only_when_its_own_waker_fired() {
        let polls = Arc::new(AtomicUsize::new(0));
        let mut gated = Box::pin(Gated::new(Counting(polls.clone())));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(gated.as_mut().poll(&mut cx).is_pending()); // first poll runs it
        assert!(gated.as_mut().poll(&mut cx).is_pending()); // it woke itself
        assert_eq!(polls.load(Ordering::Relaxed), 2);
        for _ in 0..5 {
            assert!(gated.as_mut().poll(&mut cx).is_pending()); // nobody woke it
        }
        assert_eq!(polls.load(Ordering::Relaxed), 2);
        gated.flag.wake_by_ref_for_test();
        assert!(gated.as_mut().poll(&mut cx).is_ready());
        assert_eq!(polls.load(Ordering::Relaxed), 3);
    }

    impl Flag {
        fn wake_by_ref_for_test(self: &Arc<Self>) {
            ArcWake::wake_by_ref(self);
        }
    }
}
