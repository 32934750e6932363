//! Prometheus metrics, served at `/metrics`: HTTP requests by route pattern and
//! status with their latency, refusals by problem `code`, the transfer writer's
//! batches and commits, and the database pool.
//!
//! One registry per process. Recording is a label lookup and a few atomic
//! adds, cheap enough for every request.

use std::sync::LazyLock;
use std::time::Duration;

use diesel::r2d2::{HandleEvent, event};
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Seconds, from half a millisecond (a cached read) to ten seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    refusals: IntCounterVec,
    batch_size: Histogram,
    commits: HistogramVec,
    pool_connections: IntGauge,
    pool_in_use: IntGauge,
    pool_wait: Histogram,
    pool_timeouts: IntCounter,
}

impl Metrics {
    fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("timebank".into()), None)?;
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            HistogramOpts::new(name, help).buckets(buckets.to_vec())
        };
        let metrics = Self {
            requests: HistogramVec::new(
                histogram(
                    "http_request_duration_seconds",
                    "HTTP requests by method, route pattern and status, and how long they took.",
                    LATENCY_BUCKETS,
                ),
                &["method", "route", "status"],
            )?,
            refusals: IntCounterVec::new(
                Opts::new(
                    "http_refusals_total",
                    "Problem answers (4xx and 5xx) by their problem code.",
                ),
                &["code"],
            )?,
            batch_size: Histogram::with_opts(histogram(
                "writer_batch_size",
                "Transfers committed together by the writer's group commit.",
                &[
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0,
                    4096.0,
                ],
            ))?,
            commits: HistogramVec::new(
                histogram(
                    "writer_commit_duration_seconds",
                    "Time the writer took to commit a batch, by outcome (ok or failed).",
                    LATENCY_BUCKETS,
                ),
                &["outcome"],
            )?,
            pool_connections: IntGauge::new(
                "db_pool_connections",
                "Open connections in the database pool.",
            )?,
            pool_in_use: IntGauge::new(
                "db_pool_connections_in_use",
                "Pool connections checked out right now.",
            )?,
            pool_wait: Histogram::with_opts(histogram(
                "db_pool_wait_seconds",
                "Time spent waiting for a pool connection.",
                LATENCY_BUCKETS,
            ))?,
            pool_timeouts: IntCounter::new(
                "db_pool_timeouts_total",
                "Waits for a pool connection that timed out.",
            )?,
            registry,
        };
        let r = &metrics.registry;
        r.register(Box::new(metrics.requests.clone()))?;
        r.register(Box::new(metrics.refusals.clone()))?;
        r.register(Box::new(metrics.batch_size.clone()))?;
        r.register(Box::new(metrics.commits.clone()))?;
        r.register(Box::new(metrics.pool_connections.clone()))?;
        r.register(Box::new(metrics.pool_in_use.clone()))?;
        r.register(Box::new(metrics.pool_wait.clone()))?;
        r.register(Box::new(metrics.pool_timeouts.clone()))?;
        Ok(metrics)
    }
}

/// `None` only if a definition above is invalid, which the tests would show.
static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| {
    Metrics::new()
        .inspect_err(|e| tracing::error!(error = %e, "metrics disabled"))
        .ok()
});

fn with(record: impl FnOnce(&Metrics)) {
    if let Some(m) = METRICS.as_ref() {
        record(m);
    }
}

/// One HTTP request. `route` is the matched pattern (`/v1/accounts/{id}`), so
/// ids never become labels.
pub fn observe_request(method: &str, route: &str, status: &str, elapsed: Duration) {
    with(|m| {
        m.requests
            .with_label_values(&[method, route, status])
            .observe(elapsed.as_secs_f64());
    });
}

/// A problem answer with its stable `code`.
pub fn observe_refusal(code: &str) {
    with(|m| m.refusals.with_label_values(&[code]).inc());
}

/// One group commit of the transfer writer: how many transfers it held, how
/// long the commit took, and whether it committed.
pub fn observe_batch(size: usize, commit: Duration, ok: bool) {
    with(|m| {
        m.batch_size.observe(size as f64);
        m.commits
            .with_label_values(&[if ok { "ok" } else { "failed" }])
            .observe(commit.as_secs_f64());
    });
}

/// Everything, in Prometheus' text format.
pub fn render() -> Result<String, prometheus::Error> {
    let mut text = String::new();
    if let Some(m) = METRICS.as_ref() {
        TextEncoder::new().encode_utf8(&m.registry.gather(), &mut text)?;
    }
    Ok(text)
}

/// Counts the database pool's connections and waits (given to r2d2).
#[derive(Debug)]
pub struct PoolEvents;

impl HandleEvent for PoolEvents {
    fn handle_acquire(&self, _: event::AcquireEvent) {
        with(|m| m.pool_connections.inc());
    }

    fn handle_release(&self, _: event::ReleaseEvent) {
        with(|m| m.pool_connections.dec());
    }

    fn handle_checkout(&self, e: event::CheckoutEvent) {
        with(|m| {
            m.pool_in_use.inc();
            m.pool_wait.observe(e.duration().as_secs_f64());
        });
    }

    fn handle_timeout(&self, _: event::TimeoutEvent) {
        with(|m| m.pool_timeouts.inc());
    }

    fn handle_checkin(&self, _: event::CheckinEvent) {
        with(|m| m.pool_in_use.dec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_defined_and_batches_are_counted() {
        observe_batch(3, Duration::from_millis(2), true);
        observe_batch(1, Duration::from_millis(40), false);
        observe_request("GET", "/v1/accounts/{id}", "200", Duration::from_millis(1));
        observe_refusal("insufficient_funds");
        let text = render().unwrap();
        assert!(
            text.contains("timebank_writer_batch_size_count 2"),
            "{text}"
        );
        assert!(text.contains("timebank_writer_batch_size_sum 4"), "{text}");
        assert!(text.contains("timebank_writer_commit_duration_seconds_count{outcome=\"ok\"} 1"));
        assert!(
            text.contains("timebank_writer_commit_duration_seconds_count{outcome=\"failed\"} 1")
        );
        assert!(text.contains(
            "timebank_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/accounts/{id}\",status=\"200\"} 1"
        ));
        assert!(text.contains("timebank_http_refusals_total{code=\"insufficient_funds\"} 1"));
        assert!(text.contains("# TYPE timebank_db_pool_connections gauge"));
    }
}
