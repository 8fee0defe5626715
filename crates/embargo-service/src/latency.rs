//! HTTP request latency as a Prometheus histogram: the server observes
//! each request, `/metrics` prints it. Counted lock-free.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
};

/// Upper bounds (seconds) of the request-latency buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Request latency so far.
#[derive(Default)]
pub struct Latency {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Latency {
    /// Counts one request that took `seconds`.
    pub fn observe(&self, seconds: f64) {
        for (bound, counter) in BUCKETS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The histogram in the text exposition format.
    pub fn exposition(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP embargo_http_request_duration_seconds Time to answer HTTP requests.\n\
             # TYPE embargo_http_request_duration_seconds histogram"
        );
        for (bound, counter) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "embargo_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "embargo_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             embargo_http_request_duration_seconds_sum {}\n\
             embargo_http_request_duration_seconds_count {count}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        out
    }
}
