//! Counting and holding requests: lets a test hold an origin's answers
//! and wait until a number of requests arrived, without sleeping.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

pub struct Gate {
    arrived: watch::Sender<usize>,
    open: watch::Sender<bool>,
    served: AtomicUsize,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            arrived: watch::channel(0).0,
            open: watch::channel(true).0,
            served: AtomicUsize::new(0),
        }
    }
}

impl Gate {
    /// Counts a request and waits while the gate is closed.
    pub async fn pass(&self) {
        self.arrived.send_modify(|n| *n += 1);
        let mut open = self.open.subscribe();
        let _ = open.wait_for(|o| *o).await;
        self.served.fetch_add(1, Ordering::SeqCst);
    }

    pub fn requests(&self) -> usize {
        *self.arrived.borrow()
    }

    pub fn hold(&self) {
        self.open.send_replace(false);
    }

    pub fn release(&self) {
        self.open.send_replace(true);
    }

    /// Waits until at least `n` requests arrived (bounded: 10 s).
    pub async fn wait_for_requests(&self, n: usize) {
        let mut arrived = self.arrived.subscribe();
        tokio::time::timeout(std::time::Duration::from_secs(10), arrived.wait_for(|a| *a >= n))
            .await
            .expect("origin requests did not arrive within 10 s")
            .expect("gate alive");
    }
}
