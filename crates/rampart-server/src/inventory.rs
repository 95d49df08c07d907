//! The inventory writer: aggregates accepted reports in memory and writes them in batches.
//!
//! One task owns the aggregation map, so there is no locking on the hot path. Every
//! `flush_interval` it writes the batch in one transaction; only after the commit does it forget
//! the batch, so a failing database loses nothing (the batch is retried on the next tick, and
//! the map is bounded by [`MAX_PENDING_RESOURCES`]). Accepted reports are therefore durable once
//! one flush interval has passed. After each commit it evaluates the alert rules.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use rampart_csp::{Disposition, ResourceKind, Violation};
use rampart_store::{AlertRow, MAX_PAGES, ResourceDelta, Store};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::fetcher::FetchRequest;
use crate::intake::Accepted;
use crate::metrics::{FLUSH_ERRORS, FLUSH_SECONDS, QUEUE_DEPTH, REPORTS_DROPPED};

/// Distinct resources held between flushes; past it new resources are dropped and counted
/// (`reason="pending_full"`) until the database accepts a batch again.
pub const MAX_PENDING_RESOURCES: usize = 100_000;

struct Pending {
    host: String,
    domain: String,
    first_seen: i64,
    last_seen: i64,
    reports: i64,
    first_page: String,
    /// Distinct pages, newest first.
    pages: VecDeque<String>,
    sample: Option<String>,
    hash: Option<String>,
    /// Reported under an *enforced* policy (the browser blocked it), not report-only.
    blocked: bool,
}

type Key = (usize, ResourceKind, String);

fn kind_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Script => "script",
        ResourceKind::Connection => "connection",
    }
}

fn merge(pending: &mut HashMap<Key, Pending>, site: usize, at: i64, v: Violation) {
    let key = (site, v.kind, v.resource_key());
    let len = pending.len();
    match pending.entry(key) {
        Entry::Occupied(mut e) => {
            let p = e.get_mut();
            p.reports += 1;
            p.last_seen = p.last_seen.max(at);
            if p.pages.front() != Some(&v.document_url) {
                p.pages.retain(|x| x != &v.document_url);
                p.pages.push_front(v.document_url);
                p.pages.truncate(MAX_PAGES);
            }
            if v.sample.is_some() {
                p.sample = v.sample;
            }
            if v.hash.is_some() {
                p.hash = v.hash;
            }
            p.blocked |= v.disposition == Disposition::Enforce;
        }
        Entry::Vacant(e) => {
            if len >= MAX_PENDING_RESOURCES {
                metrics::counter!(REPORTS_DROPPED, "reason" => "pending_full").increment(1);
                return;
            }
            let blocked = v.disposition == Disposition::Enforce;
            e.insert(Pending {
                blocked,
                host: v.host().to_string(),
                domain: v.domain().to_string(),
                first_seen: at,
                last_seen: at,
                reports: 1,
                first_page: v.document_url.clone(),
                pages: VecDeque::from([v.document_url]),
                sample: v.sample,
                hash: v.hash,
            });
        }
    }
}

/// Runs until the queue's senders are all gone, then flushes what is left and returns.
pub(crate) async fn run(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    mut queue: mpsc::Receiver<Accepted>,
    alerts: mpsc::Sender<AlertRow>,
    fetches: mpsc::Sender<FetchRequest>,
    intel: Arc<crate::intel::Intel>,
) {
    let mut pending: HashMap<Key, Pending> = HashMap::new();
    let mut learning_start: HashMap<usize, i64> = HashMap::new();
    let mut tick = tokio::time::interval(config.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = queue.recv() => match message {
                Some(a) => {
                    for v in a.violations {
                        merge(&mut pending, a.site, a.at_ms, v);
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                metrics::gauge!(QUEUE_DEPTH).set(queue.len() as f64);
                flush(&config, &*store, &mut pending, &mut learning_start, &alerts, &fetches, &intel).await;
            }
        }
    }
    // Shutdown: keep trying briefly so a transient database error does not lose the last batch.
    for _ in 0..5 {
        flush(
            &config,
            &*store,
            &mut pending,
            &mut learning_start,
            &alerts,
            &fetches,
            &intel,
        )
        .await;
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(config.flush_interval).await;
    }
}

async fn flush(
    config: &Config,
    store: &dyn Store,
    pending: &mut HashMap<Key, Pending>,
    learning_start: &mut HashMap<usize, i64>,
    alerts: &mpsc::Sender<AlertRow>,
    fetches: &mpsc::Sender<FetchRequest>,
    intel: &crate::intel::Intel,
) {
    if pending.is_empty() {
        return;
    }
    let started = Instant::now();
    for &(site, _, _) in pending.keys() {
        if let Entry::Vacant(e) = learning_start.entry(site) {
            let first = pending
                .iter()
                .filter(|((s, _, _), _)| *s == site)
                .map(|(_, p)| p.first_seen)
                .min()
                .unwrap_or_else(crate::time::now_ms);
            match store.ensure_site(&config.sites[site].id, first).await {
                Ok(at) => {
                    e.insert(at);
                }
                Err(err) => {
                    metrics::counter!(FLUSH_ERRORS).increment(1);
                    tracing::warn!(error = %err, "inventory flush failed; will retry");
                    return;
                }
            }
        }
    }
    let deltas: Vec<ResourceDelta> = pending
        .iter()
        .map(|((site, kind, url), p)| ResourceDelta {
            site: config.sites[*site].id.clone(),
            kind: kind_name(*kind).to_string(),
            url: url.clone(),
            host: p.host.clone(),
            domain: p.domain.clone(),
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            reports: p.reports,
            first_page: p.first_page.clone(),
            pages: p.pages.iter().cloned().collect(),
            sample: p.sample.clone(),
            hash: p.hash.clone(),
        })
        .collect();
    let outcome = match store.apply_batch(&deltas).await {
        Ok(o) => o,
        Err(err) => {
            metrics::counter!(FLUSH_ERRORS).increment(1);
            tracing::warn!(error = %err, resources = deltas.len(), "inventory flush failed; will retry");
            return;
        }
    };
    // Enforced-policy violations: the browser refused something the policy did not list.
    let now = crate::time::now_ms();
    let blocked: Vec<rampart_store::NewAlert> = pending
        .iter()
        .filter(|(_, p)| p.blocked)
        .map(|((site, kind, url), p)| rampart_store::NewAlert {
            kind: "policy_violation".into(),
            site: config.sites[*site].id.clone(),
            subject: url.clone(),
            dedup: String::new(),
            severity: "warning".into(),
            created_at: now,
            details: serde_json::json!({
                "url": url,
                "resource": kind_name(*kind),
                "page": p.pages.front(),
                "reports": p.reports,
            }),
        })
        .collect();
    pending.clear();
    for alert in blocked {
        crate::alerts::raise(store, alerts, alert).await;
    }
    metrics::histogram!(FLUSH_SECONDS).record(started.elapsed().as_secs_f64());
    let learning: HashMap<&str, i64> = learning_start
        .iter()
        .map(|(i, at)| (config.sites[*i].id.as_str(), *at))
        .collect();
    let lists = intel.lists();
    for alert in crate::alerts::evaluate(
        &outcome,
        &config.sites,
        &learning,
        &lists,
        crate::time::now_ms(),
    ) {
        let alert = crate::alerts::enrich_domain_alert(alert, store, &lists).await;
        crate::alerts::raise(store, alerts, alert).await;
    }
    // First sight of a fetchable script: fetch it now rather than at the next scheduled round.
    for r in outcome
        .resources
        .iter()
        .filter(|r| r.reports_before == 0 && r.kind == "script")
    {
        if !(r.url.starts_with("http://") || r.url.starts_with("https://")) {
            continue;
        }
        if let Some(site) = config.sites.iter().position(|s| s.id == r.site) {
            // Full queue: the scheduled round will fetch it.
            let _ = fetches.try_send(FetchRequest {
                site,
                url: r.url.clone(),
                page: Some(r.first_page.clone()),
            });
        }
    }
}
