//! Prometheus metrics: names and the recorder.
//!
//! Every refused or dropped report is counted here by reason — nothing is discarded silently.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const REPORTS_ACCEPTED: &str = "rampart_reports_accepted_total";
pub const REPORTS_REFUSED: &str = "rampart_reports_refused_total";
pub const REPORTS_DROPPED: &str = "rampart_reports_dropped_total";
pub const VIOLATIONS_ACCEPTED: &str = "rampart_violations_accepted_total";
pub const QUEUE_DEPTH: &str = "rampart_queue_depth";
pub const FLUSH_SECONDS: &str = "rampart_flush_seconds";
pub const FLUSH_ERRORS: &str = "rampart_flush_errors_total";
pub const ALERTS: &str = "rampart_alerts_total";
pub const DELIVERIES: &str = "rampart_deliveries_total";
pub const FETCHES: &str = "rampart_fetches_total";
pub const BGP_GAPS: &str = "rampart_ris_live_gaps_total";

/// Installs the global recorder once per process and returns the handle that renders it.
/// Tests start several servers in one process; they share the recorder.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0])
                .expect("static buckets are valid")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        REPORTS_ACCEPTED,
        "Report requests accepted (answered 204), by site"
    );
    describe_counter!(
        REPORTS_REFUSED,
        "Report requests refused, by reason (status code family)"
    );
    describe_counter!(
        REPORTS_DROPPED,
        "Individual reports dropped as noise, by reason"
    );
    describe_counter!(
        VIOLATIONS_ACCEPTED,
        "Individual violations queued for the inventory"
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Accepted requests waiting for the inventory writer"
    );
    describe_histogram!(FLUSH_SECONDS, "Time to write one inventory batch");
    describe_counter!(
        FLUSH_ERRORS,
        "Inventory batches that failed to write (kept and retried)"
    );
    describe_counter!(ALERTS, "Alerts raised, by kind");
    describe_counter!(
        DELIVERIES,
        "Notification delivery attempts, by channel and outcome"
    );
}
