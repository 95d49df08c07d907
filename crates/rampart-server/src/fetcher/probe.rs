//! The second look: after each successful fetch the script is asked for again as a phone's
//! browser would ask (`[fetcher] mobile_user_agent`), and what comes back is compared with what
//! the desktop fetch got.
//!
//! Cloaking by device is how the 2024 Polyfill.io payload hid: only some mobile browsers got
//! it, every desktop — and every security crawler — the clean polyfill. Browsers' `csp-hash`
//! reports catch it after a visitor ran it; the probe can catch it before. A body that differs
//! only in bytes (a build id, another minification) is recorded and left alone; one whose
//! structure differs raises `script_cloaked` with the behavioural diff from the desktop body
//! to the mobile one, critical when the mobile variant adds what `script_changed` calls
//! dangerous or scores malicious. Each look is recorded as a fetch (`mobile_identical`,
//! `mobile_trivial`, `mobile_differs`, or the error), and a mobile body's hash counts as
//! fetched for the browser-hash check: visitors on phones ran what the probe saw.

use rampart_js::{Model, Options, Verdict};
use reqwest::header::{HeaderValue, USER_AGENT};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Attempt, Context, FetchRequest, download, versions, visitor};

/// A phone's Chrome (Android, the reduced User-Agent form).
pub const DEFAULT_MOBILE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36";

/// Fetch outcomes of the probe whose `sha256` is a body visitors may have run.
pub(crate) const OUTCOMES_WITH_BODY: [&str; 2] = ["mobile_trivial", "mobile_differs"];

/// Looks again as a phone and compares with `desktop` (the body the fetch just got).
pub(crate) async fn mobile(ctx: &Context, request: &FetchRequest, desktop: Vec<u8>) {
    let fetcher = &ctx.config.fetcher;
    if fetcher.mobile_user_agent.is_empty() {
        return; // the probe is off
    }
    let Ok(agent) = HeaderValue::from_str(&fetcher.mobile_user_agent) else {
        return; // checked when the configuration was read
    };
    let site = &ctx.config.sites[request.site];
    let visitor = |url: &reqwest::Url| {
        let mut h = visitor::headers(request.page.as_deref(), url, fetcher.referer);
        h.insert(USER_AGENT, agent);
        visitor::client_hints(&fetcher.mobile_user_agent, url, &mut h);
        h
    };
    let fetched = download::fetch(
        &ctx.client,
        &ctx.policy,
        &request.url,
        fetcher.max_script_bytes,
        visitor,
    )
    .await;
    let attempt = match fetched {
        Ok((status, body)) => {
            let sha = hex::encode(Sha256::digest(&body));
            let compared = if body == desktop {
                Ok("mobile_identical")
            } else {
                compare(ctx, &site.id, &request.url, desktop, body, &sha).await
            };
            let (outcome, error) = match compared {
                Ok(outcome) => (outcome, None),
                Err(e) => (
                    "mobile_error",
                    Some(format!("comparing the bodies failed: {e}")),
                ),
            };
            Attempt {
                outcome,
                status: Some(status),
                error,
                sha256: Some(sha),
            }
        }
        Err(failure) => Attempt {
            outcome: "mobile_error",
            ..failure.attempt()
        },
    };
    super::record(ctx, &site.id, &request.url, attempt).await;
}

/// Two different bodies: the same structure (`mobile_trivial`), or a `script_cloaked` alert
/// (`mobile_differs`).
async fn compare(
    ctx: &Context,
    site: &str,
    url: &str,
    desktop: Vec<u8>,
    mobile: Vec<u8>,
    mobile_sha: &str,
) -> anyhow::Result<&'static str> {
    let (d, mut details, verdict, structure) = tokio::task::spawn_blocking(move || {
        let options = Options::default();
        let (old, new) = (
            rampart_js::decode_text(&desktop).into_owned(),
            rampart_js::decode_text(&mobile).into_owned(),
        );
        let (a, b) = (
            rampart_js::analyze(&old, &options),
            rampart_js::analyze(&new, &options),
        );
        let d = rampart_js::diff(&a, &old, &b, &new);
        let details = versions::diff_json(&d, &old, &new);
        let verdict = (d.verdict == Verdict::Changed)
            .then(|| rampart_js::classify(&new, &options, Model::embedded()));
        (d, details, verdict, b.structural_hash)
    })
    .await?;
    let Some(verdict) = verdict else {
        return Ok("mobile_trivial");
    };
    details["url"] = json!(url);
    details["mobile_sha256"] = json!(mobile_sha);
    details["mobile_user_agent"] = json!(ctx.config.fetcher.mobile_user_agent);
    details["mobile_score"] = json!(verdict.score);
    details["mobile_reasons"] = json!(verdict.reasons);
    let alert = versions::structure_alert(
        "script_cloaked",
        site,
        url,
        &structure,
        d.is_dangerous() || verdict.malicious,
        details,
    );
    crate::alerts::raise(&*ctx.store, &ctx.alerts, alert).await;
    Ok("mobile_differs")
}
