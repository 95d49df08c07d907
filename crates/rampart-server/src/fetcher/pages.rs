//! Watched pages: each `[[sites]] watch_pages` URL is requested every `[fetcher] interval` (and
//! at start) the way a visitor's browser navigates to it. Its security headers are compared
//! with the stored baseline (`security_headers.rs`); its inline scripts go to the inventory and
//! are classified on their whole text (`inline.rs`), as the proxy does for the pages it serves,
//! and its external scripts (`<script src>`) go to the inventory as a browser would report
//! them — then to the fetcher like any other: PCI DSS 11.6.1's headers and payment-page
//! contents, for sites that do not add the monitoring header or run the proxy.

use std::collections::HashMap;

use super::download;
use super::{Attempt, Context, visitor};
use crate::{page_scripts, security_headers};

/// Checks every watched page of every site, one after another (a few pages per site, every
/// few hours: no need to hurry the sites).
pub(crate) async fn check_all(ctx: &Context) {
    for (index, site) in ctx.config.sites.iter().enumerate() {
        if site.watch_pages.is_empty() {
            continue;
        }
        let stored: HashMap<String, serde_json::Value> = match ctx
            .store
            .header_baselines(&site.id, security_headers::MAX_PATHS as i64)
            .await
        {
            Ok(rows) => rows.into_iter().collect(),
            Err(e) => {
                tracing::warn!(site = %site.id, error = %e, "cannot read security-header baselines");
                continue;
            }
        };
        for page in &site.watch_pages {
            check(ctx, index, page, stored.get(page)).await;
        }
    }
}

async fn check(ctx: &Context, index: usize, page: &str, stored: Option<&serde_json::Value>) {
    let site = ctx.config.sites[index].id.as_str();
    let visitor = |url: &reqwest::Url| {
        let mut h = visitor::navigation();
        visitor::client_hints(&ctx.config.fetcher.user_agent, url, &mut h);
        h
    };
    let max = ctx.config.fetcher.max_script_bytes;
    let fetched = download::page(&ctx.client, &ctx.policy, page, max, visitor).await;
    let attempt = match fetched {
        Ok(fetched) => {
            if let Some(html) = fetched.html {
                scan(ctx, index, page, html).await;
            }
            let now = security_headers::snapshot(&fetched.headers);
            if let Some(changes) = security_headers::compare(stored, &now) {
                let json = security_headers::to_json(&now);
                if let Err(e) = ctx
                    .store
                    .set_header_baseline(site, page, &json, crate::time::now_ms())
                    .await
                {
                    tracing::warn!(error = %e, page, "storing a security-header baseline failed");
                }
                if !changes.is_empty() {
                    let alert = security_headers::alert(site, page, &changes);
                    crate::alerts::raise(&*ctx.store, &ctx.alerts, alert).await;
                }
            }
            Attempt {
                outcome: "headers",
                status: Some(fetched.status),
                error: None,
                sha256: None,
            }
        }
        Err(failure) => {
            let attempt = failure.attempt();
            tracing::warn!(site, page, error = ?attempt.error, "watched page: {}", attempt.outcome);
            attempt
        }
    };
    super::record(ctx, site, page, attempt).await;
}

/// The page's inline scripts: inventoried, and classified on their whole text (off the async
/// threads: both parse).
async fn scan(ctx: &Context, index: usize, page: &str, html: Vec<u8>) {
    let site = &ctx.config.sites[index];
    let verdicts = crate::inline::Verdicts {
        main: tokio::runtime::Handle::current(),
        flagged: None,
        store: ctx.store.clone(),
        alerts: ctx.alerts.clone(),
        site_id: site.id.clone(),
    };
    let page = page_scripts::page_key(site, page);
    let queue = ctx.queue.clone();
    let keep_query = site.keep_query;
    let key = page.clone();
    let scanned = tokio::task::spawn_blocking(move || {
        let found = crate::inline::scripts(&html, &page, keep_query);
        crate::inline::judge(&found.inline, &found.reports, &page, &verdicts);
        let set = page_scripts::of(&found);
        // The page's `<script src>` too: a site that watches its pages instead of adding the
        // monitoring header has no browser reports of them, and an injected loader is the
        // first thing 11.6.1 must catch.
        let mut reports = found.reports;
        reports.extend(found.external);
        if let Some(queue) = queue.upgrade() {
            crate::inline::inventory(&queue, index, reports, "fetcher_queue_full");
        }
        set
    })
    .await;
    match scanned {
        Ok(set) => compare_scripts(ctx, &site.id, &key, set).await,
        Err(e) => tracing::warn!(error = %e, "scanning a watched page failed"),
    }
}

/// Compares the page's scripts with the last look and stores them; a change raises
/// `page_scripts_changed` (the first look is the baseline).
async fn compare_scripts(ctx: &Context, site: &str, page: &str, now: page_scripts::Set) {
    let before = match ctx.store.page_scripts(site, page).await {
        Ok(stored) => stored.and_then(|v| page_scripts::from_json(&v)),
        Err(e) => {
            tracing::warn!(error = %e, page, "cannot read a watched page's scripts");
            return;
        }
    };
    if before.as_ref() == Some(&now) {
        return;
    }
    let at = crate::time::now_ms();
    if let Err(e) = ctx
        .store
        .set_page_scripts(site, page, &page_scripts::to_json(&now), at)
        .await
    {
        tracing::warn!(error = %e, page, "storing a watched page's scripts failed");
        return;
    }
    if let Some(before) = before
        && let Some(change) = page_scripts::compare(&before, &now)
    {
        let alert = page_scripts::alert(site, page, &before, &now, &change);
        crate::alerts::raise(&*ctx.store, &ctx.alerts, alert).await;
    }
}
