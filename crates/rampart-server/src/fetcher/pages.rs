//! Watched pages: each `[[sites]] watch_pages` URL is requested every `[fetcher] interval` (and
//! at start) the way a visitor's browser navigates to it, and its security headers are compared
//! with the stored baseline (`security_headers.rs`). This is the header half of PCI DSS 11.6.1
//! for sites that add the monitoring header themselves instead of running the proxy.

use std::collections::HashMap;

use rampart_store::FetchRow;

use super::download;
use super::{Context, visitor};
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
    let fetched =
        download::page_headers(&ctx.client, &ctx.policy, page, visitor::navigation()).await;
    let (outcome, status, error) = match fetched {
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
            ("headers", Some(status), None)
        }
        Err(failure) => {
            let (outcome, status, error) = failure.record();
            tracing::warn!(site, page, %error, "watched page: {outcome}");
            (outcome, status, Some(error))
        }
    };
    metrics::counter!(crate::metrics::FETCHES, "outcome" => outcome).increment(1);
    let row = FetchRow {
        site: site.to_string(),
        url: page.to_string(),
        at: crate::time::now_ms(),
        outcome: outcome.to_string(),
        status_code: status.map(i64::from),
        error,
        sha256: None,
    };
    if let Err(e) = ctx.store.record_fetch(&row).await {
        tracing::warn!(error = %e, "cannot record a fetch");
    }
}
