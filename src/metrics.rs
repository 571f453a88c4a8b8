//! Prometheus metrics (text format 0.0.4, via the Prometheus org's
//! `prometheus-client`), served on the admin listener's `/metrics`.
//!
//! The hit path pays atomic increments only: a route's counters for every
//! (status class, cache result) pair are resolved once, when the route is
//! built, into `RouteMetrics`; a request indexes into it. Labels are never
//! formatted per request. Gauges that describe state (cache entries and
//! bytes) are read when scraped.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::cache::Store;

/// X-Cache results, in the order `RouteMetrics` indexes them.
pub const RESULTS: [&str; 5] = ["Hit", "RefreshHit", "Miss", "Error", "none"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: &'static str,
    cache: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OriginLabel {
    origin: String,
}

type HistogramFamily = Family<OriginLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Every metric of a node; `Clone` shares them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    bytes_sent: Family<RouteLabel, Counter>,
    origin_requests: Family<OriginLabel, Counter>,
    origin_errors: Family<OriginLabel, Counter>,
    origin_latency: HistogramFamily,
    pub in_flight: Gauge,
    pub access_log_dropped: Counter,
    pub signature_verifications: Counter,
    entries: Gauge,
    bytes: Gauge,
    store: Arc<Store>,
}

/// A route's request counters, resolved once.
pub struct RouteMetrics {
    /// [status class][cache result].
    requests: [[Counter; RESULTS.len()]; CLASSES.len()],
    bytes_sent: Counter,
}

impl RouteMetrics {
    /// Counts one response: `status` and its `X-Cache` value.
    #[inline]
    pub fn record(&self, status: u16, x_cache: Option<&[u8]>, body_bytes: u64) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.requests[class][result_index(x_cache)].inc();
        self.bytes_sent.inc_by(body_bytes);
    }
}

fn result_index(x_cache: Option<&[u8]>) -> usize {
    match x_cache {
        Some(v) if v.starts_with(b"Hit") => 0,
        Some(v) if v.starts_with(b"RefreshHit") => 1,
        Some(v) if v.starts_with(b"Miss") => 2,
        Some(v) if v.starts_with(b"Error") => 3,
        _ => 4,
    }
}

/// An origin's counters, resolved once.
#[derive(Clone, Default)]
pub struct OriginMetrics {
    pub requests: Counter,
    pub errors: Counter,
    pub latency: Option<Histogram>,
}

impl Metrics {
    pub fn new(store: Arc<Store>) -> Metrics {
        let mut registry = Registry::with_prefix("cachefront");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by route, status class and cache result (X-Cache)",
            requests.clone(),
        );
        let bytes_sent = Family::<RouteLabel, Counter>::default();
        registry.register("sent_bytes", "Response body bytes sent, by route", bytes_sent.clone());
        let origin_requests = Family::<OriginLabel, Counter>::default();
        registry.register("origin_requests", "Requests sent to origins", origin_requests.clone());
        let origin_errors = Family::<OriginLabel, Counter>::default();
        registry.register(
            "origin_errors",
            "Origin requests that failed (unreachable, timeout, 5xx, throttled)",
            origin_errors.clone(),
        );
        let origin_latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "origin_response_seconds",
            "Time from sending an origin request to its response headers",
            origin_latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("in_flight_requests", "Edge requests being answered", in_flight.clone());
        let entries = Gauge::default();
        registry.register("cache_entries", "Entries in the cache", entries.clone());
        let bytes = Gauge::default();
        registry.register(
            "cache_bytes",
            "Weighted size of the cache (bodies, variants, headers)",
            bytes.clone(),
        );
        registry.register(
            "cache_evictions",
            "Entries removed for space or expiry",
            store.evictions.clone(),
        );
        registry.register(
            "coalesced_waiters",
            "Requests that waited for a fill already in flight",
            store.coalesced.clone(),
        );
        let access_log_dropped = Counter::default();
        registry.register(
            "access_log_dropped_lines",
            "Access log lines dropped because the writer fell behind",
            access_log_dropped.clone(),
        );
        registry.register(
            "zero_copy_sent_bytes",
            "Response body bytes sent with sendfile from memory-mapped cache entries (process-wide)",
            crate::zerocopy::SENT_BYTES.clone(),
        );
        let signature_verifications = Counter::default();
        registry.register(
            "signature_verifications",
            "CloudFront signatures checked cryptographically (a repeat of a verified one is not checked again)",
            signature_verifications.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            bytes_sent,
            origin_requests,
            origin_errors,
            origin_latency,
            in_flight,
            access_log_dropped,
            signature_verifications,
            entries,
            bytes,
            store,
        }
    }

    /// The counters of a route (the same ones again after a reload).
    pub fn route(&self, prefix: &str) -> RouteMetrics {
        let counter = |class: usize, result: usize| {
            self.requests
                .get_or_create(&RequestLabels {
                    route: prefix.to_string(),
                    status: CLASSES[class],
                    cache: RESULTS[result],
                })
                .clone()
        };
        RouteMetrics {
            requests: std::array::from_fn(|class| std::array::from_fn(|result| counter(class, result))),
            bytes_sent: self
                .bytes_sent
                .get_or_create(&RouteLabel {
                    route: prefix.to_string(),
                })
                .clone(),
        }
    }

    pub fn origin(&self, name: &str) -> OriginMetrics {
        let label = OriginLabel {
            origin: name.to_string(),
        };
        OriginMetrics {
            requests: self.origin_requests.get_or_create(&label).clone(),
            errors: self.origin_errors.get_or_create(&label).clone(),
            latency: Some(self.origin_latency.get_or_create(&label).clone()),
        }
    }

    /// The text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let usage = self.store.usage();
        self.entries.set(usage.entries as i64);
        self.bytes.set(usage.bytes as i64);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics");
        }
        out
    }
}

/// Counts a request in flight while alive.
pub struct InFlight(Gauge<i64, AtomicI64>);

impl InFlight {
    pub fn new(gauge: &Gauge) -> InFlight {
        gauge.inc();
        InFlight(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_cache_results() {
        assert_eq!(result_index(Some(b"Hit from a")), 0);
        assert_eq!(result_index(Some(b"RefreshHit from a")), 1);
        assert_eq!(result_index(Some(b"Miss from a")), 2);
        assert_eq!(result_index(Some(b"Error from a")), 3);
        assert_eq!(result_index(None), 4);
    }
}
