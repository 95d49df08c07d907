//! The L7 alert rules: what is "new" enough to tell someone about.
//!
//! A resource (or domain) alerts once, when its report count first reaches the site's
//! `min_reports` — one forged report cannot page anyone — and only if it was first seen after
//! the site's learning period (which starts at the site's first report). Dedup per subject is
//! the store's unique key, so a restart or a race never alerts twice.

use std::collections::HashMap;

use rampart_store::{AlertRow, BatchOutcome, NewAlert, Store};
use serde_json::json;
use tokio::sync::mpsc;

use crate::config::SiteConfig;

fn learning_over(site: &SiteConfig, learning: &HashMap<&str, i64>, first_seen: i64) -> bool {
    let start = learning
        .get(site.id.as_str())
        .copied()
        .unwrap_or(first_seen);
    first_seen >= start + site.learning_period.as_millis() as i64
}

/// Stores an alert (unless its dedup key exists) and queues it for delivery.
pub(crate) async fn raise(store: &dyn Store, notify: &mpsc::Sender<AlertRow>, alert: NewAlert) {
    match store.insert_alert(&alert).await {
        Ok(Some(row)) => {
            metrics::counter!(crate::metrics::ALERTS, "kind" => row.kind.clone()).increment(1);
            tracing::info!(kind = %row.kind, site = %row.site, subject = ?row.subject, "alert");
            if notify.try_send(row).is_err() {
                tracing::warn!("notification queue full; alert stored but not delivered");
            }
        }
        Ok(None) => {} // already alerted on this subject
        Err(err) => tracing::warn!(error = %err, "could not store alert"),
    }
}

/// How young a domain registration must be to count as "newly registered".
const NEWLY_REGISTERED_MS: i64 = 30 * 86_400_000;

/// Adds the deployment-wide view to a new-domain alert: whether any other site here has seen
/// the domain (`first_in_deployment`), and, with a registration feed, whether it was registered
/// in the last 30 days (then the alert is critical: skimmer domains are usually days old).
pub(crate) async fn enrich_domain_alert(
    mut alert: NewAlert,
    store: &dyn Store,
    intel: &crate::intel::Lists,
) -> NewAlert {
    if !matches!(
        alert.kind.as_str(),
        "new_script_domain" | "new_connection_domain"
    ) {
        return alert;
    }
    let domain = alert.subject.clone();
    if let Ok((sites, first)) = store.domain_elsewhere(&domain, &alert.site).await {
        alert.details["first_in_deployment"] = json!(sites.is_empty());
        if !sites.is_empty() {
            alert.details["seen_on_sites"] = json!(sites);
            alert.details["first_seen_in_deployment"] = json!(first.map(crate::time::rfc3339));
        }
    }
    if let Some(registered) = intel.registered(&domain) {
        alert.details["registered"] = json!(crate::time::rfc3339(registered));
        let young = alert.created_at - registered < NEWLY_REGISTERED_MS;
        alert.details["newly_registered"] = json!(young);
        if young {
            alert.severity = "critical".into();
        }
    }
    alert
}

/// The alerts a committed batch gives rise to.
pub(crate) fn evaluate(
    outcome: &BatchOutcome,
    sites: &[SiteConfig],
    learning: &HashMap<&str, i64>,
    intel: &crate::intel::Lists,
    now: i64,
) -> Vec<NewAlert> {
    let site_of = |id: &str| sites.iter().find(|s| s.id == id);
    let crossed = |before: i64, after: i64, min: i64| before < min && after >= min;
    let mut out = Vec::new();
    // Listed hosts alert on first sight, learning period or not (see `intel.rs`).
    for r in outcome.resources.iter().filter(|r| r.reports_before == 0) {
        if let Some(hit) = intel.lookup(&r.url) {
            out.push(crate::intel::alert(&r.site, &r.kind, &r.url, &hit, now));
        }
    }
    for r in &outcome.resources {
        // Only fetchable scripts alert; inline samples and eval are inventoried (they churn with
        // page content and would drown the signal).
        if r.kind != "script" || r.domain.is_empty() {
            continue;
        }
        let Some(site) = site_of(&r.site) else {
            continue;
        };
        if crossed(r.reports_before, r.reports, site.min_reports)
            && learning_over(site, learning, r.first_seen)
        {
            out.push(NewAlert {
                kind: "new_script".into(),
                site: r.site.clone(),
                subject: r.url.clone(),
                dedup: String::new(),
                severity: "info".into(),
                created_at: now,
                details: json!({
                    "url": r.url,
                    "domain": r.domain,
                    "first_page": r.first_page,
                    "first_seen": crate::time::rfc3339(r.first_seen),
                    "reports": r.reports,
                }),
            });
        }
    }
    for d in &outcome.domains {
        let Some(site) = site_of(&d.site) else {
            continue;
        };
        let kind = match d.kind.as_str() {
            "script" => "new_script_domain",
            "connection" => "new_connection_domain",
            _ => continue,
        };
        if crossed(d.reports_before, d.reports, site.min_reports)
            && learning_over(site, learning, d.first_seen)
        {
            out.push(NewAlert {
                kind: kind.into(),
                site: d.site.clone(),
                subject: d.domain.clone(),
                dedup: String::new(),
                severity: "warning".into(),
                created_at: now,
                details: json!({
                    "domain": d.domain,
                    "first_seen": crate::time::rfc3339(d.first_seen),
                    "reports": d.reports,
                }),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_store::{DomainState, ResourceState};
    use std::time::Duration;

    fn site(min_reports: i64, learning: Duration) -> SiteConfig {
        SiteConfig {
            id: "shop".into(),
            key: "k".into(),
            origins: vec![],
            sample_rate: 1.0,
            min_reports,
            learning_period: learning,
            keep_query: false,
            watch_pages: Vec::new(),
        }
    }

    fn script(before: i64, after: i64, first_seen: i64) -> BatchOutcome {
        BatchOutcome {
            resources: vec![ResourceState {
                site: "shop".into(),
                kind: "script".into(),
                url: "https://cdn.x.example/a.js".into(),
                domain: "x.example".into(),
                first_seen,
                reports_before: before,
                reports: after,
                first_page: "https://shop/".into(),
            }],
            domains: vec![DomainState {
                site: "shop".into(),
                kind: "script".into(),
                domain: "x.example".into(),
                first_seen,
                reports_before: before,
                reports: after,
            }],
        }
    }

    #[test]
    fn alerts_fire_once_when_min_reports_is_reached() {
        let sites = [site(3, Duration::ZERO)];
        let learning = HashMap::from([("shop", 0)]);
        assert!(evaluate(&script(0, 2, 10), &sites, &learning, &Default::default(), 0).is_empty());
        let fired = evaluate(&script(2, 3, 10), &sites, &learning, &Default::default(), 0);
        assert_eq!(
            fired.iter().map(|a| a.kind.as_str()).collect::<Vec<_>>(),
            ["new_script", "new_script_domain"]
        );
        assert!(evaluate(&script(3, 9, 10), &sites, &learning, &Default::default(), 0).is_empty());
    }

    #[test]
    fn resources_first_seen_while_learning_never_alert() {
        let sites = [site(1, Duration::from_secs(3600))];
        let learning = HashMap::from([("shop", 1_000)]);
        assert!(
            evaluate(
                &script(0, 5, 1_000 + 3_599_999),
                &sites,
                &learning,
                &Default::default(),
                0
            )
            .is_empty()
        );
        assert_eq!(
            evaluate(
                &script(0, 5, 1_000 + 3_600_000),
                &sites,
                &learning,
                &Default::default(),
                0
            )
            .len(),
            2
        );
    }
}
