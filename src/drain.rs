//! Graceful drain, in phases every listener and connection follows:
//!
//! 1. `Draining` (the shutdown signal): `/readyz` answers 503, listeners
//!    still accept, HTTP/1.1 responses carry `Connection: close` so clients
//!    reconnect (to another node, once the balancer noticed), HTTP/2
//!    connections that made a request get GOAWAY.
//! 2. `Closing` (after `drain_delay`): listeners close; every connection is
//!    shut down gracefully (idle HTTP/1.1 closed, GOAWAY on the rest) and
//!    in-flight requests and streams finish.
//! 3. `Forced` (after `drain_timeout` more): whatever is left is dropped.
//!
//! Connections are counted so that the last phase ends as soon as the last
//! one closes, not when the timeout runs out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Serving,
    Draining,
    Closing,
    Forced,
}

/// The node-wide drain state, shared by listeners and connections.
#[derive(Clone)]
pub struct Drain {
    phase: watch::Sender<Phase>,
    /// `phase >= Draining`, readable per response without a lock.
    draining: Arc<AtomicBool>,
    /// Open connections.
    open: watch::Sender<usize>,
}

impl Default for Drain {
    fn default() -> Self {
        Drain {
            phase: watch::channel(Phase::Serving).0,
            draining: Arc::new(AtomicBool::new(false)),
            open: watch::channel(0).0,
        }
    }
}

/// Counts one open connection while alive.
pub struct ConnectionGuard {
    open: watch::Sender<usize>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.open.send_modify(|n| *n -= 1);
    }
}

impl Drain {
    /// `phase >= Draining` as a flag, for a connection to read per response
    /// without a lock.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.draining.clone()
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// Completes once the drain reached `phase` (at once if it has).
    pub async fn reached(&self, phase: Phase) {
        let mut rx = self.phase.subscribe();
        let _ = rx.wait_for(|p| *p >= phase).await;
    }

    pub fn connection(&self) -> ConnectionGuard {
        self.open.send_modify(|n| *n += 1);
        ConnectionGuard {
            open: self.open.clone(),
        }
    }

    fn enter(&self, phase: Phase) {
        if phase >= Phase::Draining {
            self.draining.store(true, Ordering::Relaxed);
        }
        self.phase.send_if_modified(|p| {
            let later = phase > *p;
            if later {
                *p = phase;
            }
            later
        });
    }

    /// Runs the whole drain; returns when every connection closed or was
    /// dropped. `true` if all finished within `timeout`.
    pub async fn run(&self, delay: Duration, timeout: Duration) -> bool {
        self.enter(Phase::Draining);
        tracing::info!(?delay, "draining: /readyz answers 503, listeners close after the delay");
        tokio::time::sleep(delay).await;
        self.enter(Phase::Closing);
        tracing::info!(?timeout, "listeners closed; finishing in-flight requests");
        let mut open = self.open.subscribe();
        let finished = tokio::time::timeout(timeout, open.wait_for(|n| *n == 0)).await.is_ok();
        if !finished {
            tracing::warn!(
                ?timeout,
                open = *open.borrow(),
                "connections still open after the drain timeout; closing them"
            );
            self.enter(Phase::Forced);
            // Dropped connections deregister as their tasks end.
            let _ = tokio::time::timeout(Duration::from_secs(1), open.wait_for(|n| *n == 0)).await;
        }
        finished
    }
}
