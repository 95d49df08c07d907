//! Watched pages: each `[[sites]] watch_pages` URL is requested every `[fetcher] interval` (and
//! at start) the way a visitor's browser navigates to it, and its security headers are compared
//! with the stored baseline (`security_headers.rs`). This is the header half of PCI DSS 11.6.1
//! for sites that add the monitoring header themselves instead of running the proxy.

use std::collections::HashMap;

use super::download;
use super::{Attempt, Context, visitor};
use crate::security_headers;

/// Checks every watched page of every site, one after another (a few pages per site, every
/// few hours: no need to hurry the sites).
pub(crate) async fn check_all(ctx: &Context) {
    for site in ctx
        .config
        .sites
        .iter()
        .filter(|s| !s.watch_pages.is_empty())
    {
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
            check(ctx, &site.id, page, stored.get(page)).await;
        }
    }
}

async fn check(ctx: &Context, site: &str, page: &str, stored: Option<&serde_json::Value>) {
    let visitor = |url: &reqwest::Url| {
        let mut h = visitor::navigation();
        visitor::client_hints(&ctx.config.fetcher.user_agent, url, &mut h);
        h
    };
    let fetched = download::page_headers(&ctx.client, &ctx.policy, page, visitor).await;
    let attempt = match fetched {
        Ok((status, headers)) => {
            let now = security_headers::snapshot(&headers);
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
                status: Some(status),
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
