//! Alert delivery: webhook, Slack, PagerDuty Events API v2 and SMTP email.
//!
//! Each alert goes to every channel whose `min_severity` it meets. A channel has a token-bucket
//! rate limit (`rate_limit_per_minute`); an alert over the limit is recorded as `rate_limited`
//! and not sent. Otherwise delivery is attempted up to `max_attempts` times with exponential
//! backoff; every attempt is recorded in the store, the last failed one as `gave_up`. Client
//! errors (4xx other than 408/429) are not retried: they will not get better.

mod email;
mod http;
mod ratelimit;

use std::sync::Arc;
use std::time::Duration;

use rampart_store::{AlertRow, DeliveryRow, Store};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::config::{NotifyConfig, NotifyKind};
use crate::metrics::DELIVERIES;
use ratelimit::TokenBucket;

/// Alerts waiting for delivery before new ones are refused (they stay stored and listed).
pub const DEFAULT_NOTIFY_QUEUE: usize = 1024;

/// The result of one attempt.
pub(crate) enum Attempt {
    Delivered {
        status: Option<u16>,
    },
    /// Worth retrying (network error, 5xx, 408, 429).
    Retry {
        status: Option<u16>,
        error: String,
    },
    /// Not worth retrying.
    Fatal {
        status: Option<u16>,
        error: String,
    },
}

struct Channel {
    config: NotifyConfig,
    name: String,
    bucket: Mutex<TokenBucket>,
    http: reqwest::Client,
}

fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// One line a person reads first, in every channel.
pub(crate) fn summary(alert: &AlertRow) -> String {
    let what = match alert.kind.as_str() {
        "new_script" => "New script",
        "new_script_domain" => "New script domain",
        "new_connection_domain" => "New connection domain",
        "script_changed" => "Script changed",
        "malicious_script" => "Malicious script",
        "malicious_domain" => "Malicious domain",
        "page_scripts_changed" => "Payment page scripts changed",
        "security_headers_changed" => "Security headers changed",
        other => other,
    };
    let mut line = format!(
        "[{}] {what} on {}: {}",
        alert.severity, alert.site, alert.subject
    );
    // A change to a script someone authorized is what PCI DSS 11.6.1 asks to hear about first.
    if let Some(by) = alert.details["authorization_lapsed"]["authorized_by"].as_str() {
        line.push_str(&format!(" (authorized by {by}: authorization lapsed)"));
    }
    line
}

impl Channel {
    async fn attempt(&self, alert: &AlertRow) -> Attempt {
        match self.config.kind {
            NotifyKind::Webhook => http::webhook(&self.http, &self.config, alert).await,
            NotifyKind::Slack => http::slack(&self.http, &self.config, alert).await,
            NotifyKind::Pagerduty => http::pagerduty(&self.http, &self.config, alert).await,
            NotifyKind::Email => email::send(&self.config, alert).await,
        }
    }

    async fn deliver(self: Arc<Self>, store: Arc<dyn Store>, alert: Arc<AlertRow>) {
        let record =
            |attempt: u32, outcome: &str, status: Option<u16>, error: Option<String>| DeliveryRow {
                alert_id: alert.id,
                channel: self.name.clone(),
                attempt: attempt as i64,
                outcome: outcome.to_string(),
                status_code: status.map(i64::from),
                error,
                at: crate::time::now_ms(),
            };
        if !self.bucket.lock().await.take() {
            metrics::counter!(DELIVERIES, "channel" => self.name.clone(), "outcome" => "rate_limited").increment(1);
            save(&*store, record(0, "rate_limited", None, None)).await;
            return;
        }
        let max = self.config.max_attempts;
        for n in 1..=max {
            let (outcome, status, error, retry) = match self.attempt(&alert).await {
                Attempt::Delivered { status } => ("delivered", status, None, false),
                Attempt::Retry { status, error } if n < max => {
                    ("failed", status, Some(error), true)
                }
                Attempt::Retry { status, error } | Attempt::Fatal { status, error } => {
                    ("gave_up", status, Some(error), false)
                }
            };
            metrics::counter!(DELIVERIES, "channel" => self.name.clone(), "outcome" => outcome)
                .increment(1);
            if let Some(e) = &error {
                tracing::warn!(channel = %self.name, attempt = n, error = %e, "delivery failed");
            }
            save(&*store, record(n, outcome, status, error)).await;
            if !retry {
                return;
            }
            let backoff = self
                .config
                .retry_backoff
                .saturating_mul(1 << (n - 1).min(16));
            tokio::time::sleep(backoff.min(Duration::from_secs(3600))).await;
        }
    }
}

async fn save(store: &dyn Store, row: DeliveryRow) {
    if let Err(e) = store.record_delivery(&row).await {
        tracing::error!(error = %e, "could not record a delivery attempt");
    }
}

/// Starts the notifier; returns the queue to send stored alerts to, and the task to await.
/// The task ends when the sender is dropped and every delivery in flight has finished.
pub fn spawn(
    configs: &[NotifyConfig],
    store: Arc<dyn Store>,
) -> anyhow::Result<(mpsc::Sender<AlertRow>, JoinHandle<()>)> {
    let mut channels = Vec::with_capacity(configs.len());
    for c in configs {
        let http = reqwest::Client::builder()
            .timeout(c.timeout)
            .user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        channels.push(Arc::new(Channel {
            name: c.channel_name(),
            bucket: Mutex::new(TokenBucket::per_minute(c.rate_limit_per_minute)),
            config: c.clone(),
            http,
        }));
    }
    let (tx, mut rx) = mpsc::channel::<AlertRow>(DEFAULT_NOTIFY_QUEUE);
    let task = tokio::spawn(async move {
        let mut inflight = tokio::task::JoinSet::new();
        while let Some(alert) = rx.recv().await {
            let alert = Arc::new(alert);
            for ch in &channels {
                if rank(&alert.severity) >= rank(&ch.config.min_severity) {
                    inflight.spawn(ch.clone().deliver(store.clone(), alert.clone()));
                }
            }
            while inflight.try_join_next().is_some() {}
        }
        while inflight.join_next().await.is_some() {}
    });
    Ok((tx, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(details: serde_json::Value) -> AlertRow {
        AlertRow {
            id: 1,
            kind: "script_changed".into(),
            site: "shop".into(),
            subject: "https://cdn.example/a.js".into(),
            severity: "critical".into(),
            created_at: 0,
            details,
        }
    }

    #[test]
    fn the_summary_names_a_lapsed_authorization() {
        assert_eq!(
            summary(&alert(serde_json::json!({}))),
            "[critical] Script changed on shop: https://cdn.example/a.js"
        );
        let lapsed = alert(serde_json::json!({"authorization_lapsed": {"authorized_by": "alice"}}));
        assert_eq!(
            summary(&lapsed),
            "[critical] Script changed on shop: https://cdn.example/a.js (authorized by alice: authorization lapsed)"
        );
    }
}
