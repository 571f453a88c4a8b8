//! An origin with its metrics (requests, errors and time to response
//! headers) and its share of fills (`origins.X.max_fills`, taken by
//! `Store::fill`). Derefs to `Origin`, so routes use it as one; `get` and
//! `forward` are shadowed to count.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use super::{Origin, OriginError, OriginRequest, OriginResponse, RequestBody};
use crate::metrics::OriginMetrics;

pub struct MeteredOrigin {
    origin: Origin,
    metrics: OriginMetrics,
    fill_permits: Arc<Semaphore>,
}

impl MeteredOrigin {
    /// With no fill limit of its own (the node's still applies).
    pub fn new(origin: Origin, metrics: OriginMetrics) -> MeteredOrigin {
        MeteredOrigin {
            origin,
            metrics,
            fill_permits: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
        }
    }

    /// At most `n` fills from this origin at once.
    pub fn with_max_fills(mut self, n: usize) -> MeteredOrigin {
        self.fill_permits = Arc::new(Semaphore::new(n));
        self
    }

    /// What a fill from this origin holds while it runs.
    pub fn fill_permits(&self) -> &Arc<Semaphore> {
        &self.fill_permits
    }

    pub async fn get(&self, req: &OriginRequest) -> Result<OriginResponse, OriginError> {
        let start = Instant::now();
        let result = self.origin.get(req).await;
        self.record(start, result.is_err());
        result
    }

    pub async fn forward(&self, req: &OriginRequest, body: RequestBody) -> Result<OriginResponse, OriginError> {
        let start = Instant::now();
        let result = self.origin.forward(req, body).await;
        self.record(start, result.is_err());
        result
    }

    fn record(&self, start: Instant, failed: bool) {
        self.metrics.requests.inc();
        if failed {
            self.metrics.errors.inc();
        }
        if let Some(h) = &self.metrics.latency {
            h.observe(start.elapsed().as_secs_f64());
        }
    }
}

impl Deref for MeteredOrigin {
    type Target = Origin;

    fn deref(&self) -> &Origin {
        &self.origin
    }
}
