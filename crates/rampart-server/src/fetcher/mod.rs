//! The script fetcher: downloads each script on first sight and every active script on a
//! schedule, through the SSRF guard, and hands bodies to [`versions`] for storage, diffing and
//! change alerts.

mod download;
mod guard;
mod pages;
mod probe;
mod versions;
mod visitor;

pub(crate) use probe::DEFAULT_MOBILE_USER_AGENT;
pub(crate) use versions::diff_bodies;
pub(crate) use visitor::DEFAULT_USER_AGENT;

use std::collections::HashSet;
use std::sync::Arc;

use rampart_store::{AlertRow, FetchRow, Store};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::config::Config;
use guard::AddressPolicy;

/// Fetch requests waiting; past it, first-sight requests are dropped (the schedule catches up).
pub const FETCH_QUEUE: usize = 4096;

/// A script to fetch.
#[derive(Debug, Clone)]
pub(crate) struct FetchRequest {
    pub site: usize,
    pub url: String,
    /// A page the script was reported on (the `Referer` a visitor's browser sends).
    pub page: Option<String>,
}

pub(crate) struct Context {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub alerts: mpsc::Sender<AlertRow>,
    /// The inventory's queue, for the inline scripts of watched pages. Weak: the inventory
    /// ends first at shutdown, and must not wait for the fetcher.
    pub queue: mpsc::WeakSender<crate::intake::Accepted>,
    client: reqwest::Client,
    policy: AddressPolicy,
}

/// Starts the fetcher; it ends when the request sender is dropped.
pub(crate) fn spawn(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    alerts: mpsc::Sender<AlertRow>,
    queue: mpsc::WeakSender<crate::intake::Accepted>,
) -> anyhow::Result<(mpsc::Sender<FetchRequest>, tokio::task::JoinHandle<()>)> {
    let (tx, mut rx) = mpsc::channel::<FetchRequest>(FETCH_QUEUE);
    let f = &config.fetcher;
    let policy = AddressPolicy {
        allow_private: f.allow_private_addresses,
        allow: f.allow_addresses.clone(),
    };
    let client = download::client(Arc::new(policy.clone()), f.timeout, &f.user_agent)?;
    let enabled = f.enabled;
    let interval = f.interval;
    let permits = Arc::new(Semaphore::new(f.concurrency.max(1)));
    let ctx = Arc::new(Context {
        config,
        store,
        alerts,
        queue,
        client,
        policy,
    });
    let task = tokio::spawn(async move {
        versions::rescore(&ctx).await;
        // Watched pages: checked now and every round, beside the script fetches.
        let mut page_rounds = JoinSet::new();
        if enabled {
            let ctx = ctx.clone();
            page_rounds.spawn(async move { pages::check_all(&ctx).await });
        }
        let inflight: Arc<Mutex<HashSet<(usize, String)>>> = Arc::default();
        let mut tasks = JoinSet::new();
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; first sight covers startup
        loop {
            let batch: Vec<FetchRequest> = tokio::select! {
                request = rx.recv() => match request {
                    Some(r) => vec![r],
                    None => break,
                },
                _ = tick.tick() => {
                    // A round of the watched pages, unless the last one is still going.
                    while page_rounds.try_join_next().is_some() {}
                    if enabled && page_rounds.is_empty() {
                        let ctx = ctx.clone();
                        page_rounds.spawn(async move { pages::check_all(&ctx).await });
                    }
                    scheduled(&ctx).await
                }
            };
            if !enabled {
                continue;
            }
            for request in batch {
                let key = (request.site, request.url.clone());
                if !inflight.lock().await.insert(key.clone()) {
                    continue;
                }
                let (ctx, permits, inflight) = (ctx.clone(), permits.clone(), inflight.clone());
                tasks.spawn(async move {
                    let Ok(_permit) = permits.acquire().await else {
                        return;
                    };
                    fetch_one(&ctx, &request).await;
                    inflight.lock().await.remove(&key);
                });
            }
            while tasks.try_join_next().is_some() {}
        }
        tasks.abort_all();
        page_rounds.abort_all();
        while tasks.join_next().await.is_some() {}
        while page_rounds.join_next().await.is_some() {}
    });
    Ok((tx, task))
}

/// Every active, fetchable script of every site.
async fn scheduled(ctx: &Context) -> Vec<FetchRequest> {
    let mut out = Vec::new();
    let now = crate::time::now_ms();
    for (i, site) in ctx.config.sites.iter().enumerate() {
        match ctx.store.list_resources(&site.id, "script").await {
            Ok(rows) => out.extend(
                rows.into_iter()
                    .filter(|r| r.url.starts_with("http://") || r.url.starts_with("https://"))
                    .filter(|r| {
                        crate::api::status(
                            r,
                            site,
                            ctx.config.inactive_after.as_millis() as i64,
                            now,
                        ) == "active"
                    })
                    .map(|r| FetchRequest {
                        site: i,
                        // The page it was last reported on.
                        page: r.pages.into_iter().next().or(Some(r.first_page)),
                        url: r.url,
                    }),
            ),
            Err(e) => tracing::warn!(error = %e, "cannot list scripts to fetch"),
        }
    }
    out
}

/// One fetch attempt's record: what came of it, the HTTP status, the error, the body's hash.
pub(crate) struct Attempt {
    pub outcome: &'static str,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub sha256: Option<String>,
}

/// Counts the attempt in `/metrics` and records it in the store (the API lists them per URL).
pub(crate) async fn record(ctx: &Context, site: &str, url: &str, attempt: Attempt) {
    metrics::counter!(crate::metrics::FETCHES, "outcome" => attempt.outcome).increment(1);
    let row = FetchRow {
        site: site.to_string(),
        url: url.to_string(),
        at: crate::time::now_ms(),
        outcome: attempt.outcome.to_string(),
        status_code: attempt.status.map(i64::from),
        error: attempt.error,
        sha256: attempt.sha256,
    };
    if let Err(e) = ctx.store.record_fetch(&row).await {
        tracing::warn!(error = %e, "cannot record a fetch");
    }
}

async fn fetch_one(ctx: &Context, request: &FetchRequest) {
    let site = &ctx.config.sites[request.site];
    let max = ctx.config.fetcher.max_script_bytes;
    let visitor = |url: &reqwest::Url| {
        let mut h = visitor::headers(request.page.as_deref(), url, ctx.config.fetcher.referer);
        visitor::client_hints(&ctx.config.fetcher.user_agent, url, &mut h);
        h
    };
    // The desktop body, kept for the mobile probe once the fetch is recorded.
    let mut desktop = None;
    let attempt = match download::fetch(&ctx.client, &ctx.policy, &request.url, max, visitor).await
    {
        Ok((status, body)) => {
            // A copy for the probe only when there is one (bodies run to `max_script_bytes`).
            let kept = (!ctx.config.fetcher.mobile_user_agent.is_empty()).then(|| body.clone());
            match versions::process(ctx, site, &request.url, body).await {
                Ok((outcome, sha)) => {
                    desktop = kept;
                    Attempt {
                        outcome,
                        status: Some(status),
                        error: None,
                        sha256: Some(sha),
                    }
                }
                Err(e) => Attempt {
                    outcome: "error",
                    status: Some(status),
                    error: Some(format!("storing the version failed: {e}")),
                    sha256: None,
                },
            }
        }
        Err(failure) => {
            let attempt = failure.attempt();
            if attempt.outcome == "refused" {
                tracing::warn!(site = %site.id, url = ?request.url, error = ?attempt.error, "fetch refused");
            }
            attempt
        }
    };
    record(ctx, &site.id, &request.url, attempt).await;
    if let Some(desktop) = desktop {
        probe::mobile(ctx, request, desktop).await;
    }
}
