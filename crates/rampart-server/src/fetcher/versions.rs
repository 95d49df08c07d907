//! What a fetched body means: a new version or not, a structural change or not, and whether
//! visitors ran what we fetched.

use base64::Engine;
use rampart_js::{Analysis, Classification, Diff, Model, Options, Verdict};
use rampart_store::{NewAlert, NewVersion};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Context;
use crate::config::SiteConfig;

/// Characters of each added region quoted in a `script_changed` alert.
const PREVIEW_CHARS: usize = 400;

async fn analyze(body: Vec<u8>) -> anyhow::Result<(String, Analysis)> {
    Ok(tokio::task::spawn_blocking(move || {
        let text = rampart_js::decode_text(&body).into_owned();
        let analysis = rampart_js::analyze(&text, &Options::default());
        (text, analysis)
    })
    .await?)
}

/// Analysis and verdict of a new body, from one set of views (the whole-file view is the
/// analysis, so the script is parsed once for both).
async fn analyze_and_classify(body: Vec<u8>) -> anyhow::Result<(String, Analysis, Classification)> {
    Ok(tokio::task::spawn_blocking(move || {
        let text = rampart_js::decode_text(&body).into_owned();
        let mut views = rampart_js::views(&text, &Options::default());
        let verdict = rampart_js::classify_views(&views, Model::embedded());
        let analysis = views.swap_remove(0).analysis;
        (text, analysis, verdict)
    })
    .await?)
}

/// The verdict on the code a change added, scored on its own so a 20-line skimmer is not
/// diluted by the library it was appended to.
async fn classify_added(
    regions: &[rampart_js::RegionChange],
    source: &str,
) -> anyhow::Result<Option<Classification>> {
    let mut text = String::new();
    for r in regions {
        if let Some(code) = source.get(r.region.start as usize..r.region.end as usize) {
            text.push_str(code);
            text.push('\n');
        }
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(
        tokio::task::spawn_blocking(move || {
            rampart_js::classify(&text, &Options::default(), Model::embedded())
        })
        .await?,
    ))
}

pub(crate) fn analysis_json(a: &Analysis) -> Value {
    json!({
        "capabilities": a.capabilities,
        "domains": a.domains,
        "flows": a.flows,
        "nodes": a.nodes,
        "parse_errors": a.parse_error_count,
    })
}

/// Raises `malicious_script` (critical) for a verdict under the threshold; deduplicated per
/// body, so a script that stays malicious alerts once per version.
async fn alert_malicious(
    ctx: &Context,
    site: &SiteConfig,
    url: &str,
    sha: &str,
    verdict: &Classification,
    scope: &str,
) {
    if !verdict.malicious {
        return;
    }
    crate::alerts::raise(
        &*ctx.store,
        &ctx.alerts,
        NewAlert {
            kind: "malicious_script".into(),
            site: site.id.clone(),
            subject: url.to_string(),
            dedup: sha.to_string(),
            severity: "critical".into(),
            created_at: crate::time::now_ms(),
            details: json!({
                "url": url,
                "sha256": sha,
                "scored": scope,
                "score": verdict.score,
                "categories": verdict.categories,
                "reasons": verdict.reasons,
                "model": verdict.model,
            }),
        },
    )
    .await;
}

/// Region previews for people: kind, line, size and the first characters of the code.
pub(crate) fn regions_json(regions: &[rampart_js::RegionChange], source: &str) -> Vec<Value> {
    regions
        .iter()
        .map(|r| {
            let code = source
                .get(r.region.start as usize..r.region.end as usize)
                .unwrap_or("");
            json!({
                "kind": r.region.kind,
                "name": r.region.name,
                "line": r.line,
                "bytes": code.len(),
                "code": code.chars().take(PREVIEW_CHARS).collect::<String>(),
            })
        })
        .collect()
}

/// The behavioural diff of two stored bodies as the API and the dashboard show it (analysis
/// off the async threads).
pub(crate) async fn diff_bodies(old: Vec<u8>, new: Vec<u8>) -> Option<Value> {
    tokio::task::spawn_blocking(move || {
        let (old, new) = (
            rampart_js::decode_text(&old).into_owned(),
            rampart_js::decode_text(&new).into_owned(),
        );
        let options = Options::default();
        let (a, b) = (
            rampart_js::analyze(&old, &options),
            rampart_js::analyze(&new, &options),
        );
        let d = rampart_js::diff(&a, &old, &b, &new);
        diff_json(&d, &old, &new)
    })
    .await
    .ok()
}

pub(crate) fn diff_json(d: &Diff, old_src: &str, new_src: &str) -> Value {
    json!({
        "verdict": d.verdict,
        "similarity": d.similarity,
        "added_capabilities": d.added_capabilities,
        "removed_capabilities": d.removed_capabilities,
        "added_domains": d.added_domains,
        "removed_domains": d.removed_domains,
        "added_flows": d.added_flows,
        "added_regions": regions_json(&d.added_regions, new_src),
        "removed_regions": regions_json(&d.removed_regions, old_src),
    })
}

/// Stores the body as a version if it is new; alerts on structural change and on a mismatch
/// with what browsers reported running. Returns the fetch outcome and the body's SHA-256.
pub(crate) async fn process(
    ctx: &Context,
    site: &SiteConfig,
    url: &str,
    body: Vec<u8>,
) -> anyhow::Result<(&'static str, String)> {
    let digest = Sha256::digest(&body);
    let sha = hex::encode(digest);
    let csp_hash = format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    );
    let versions = ctx.store.list_versions(&site.id, url).await?;
    check_reported_hash(ctx, site, url, &csp_hash, &versions).await?;
    let previous = versions.first().cloned();
    if previous.as_ref().is_some_and(|p| p.sha256 == sha) {
        return Ok(("unchanged", sha));
    }
    let (text, analysis, verdict) = analyze_and_classify(body.clone()).await?;
    let mut stored = analysis_json(&analysis);
    stored["classification"] = json!(verdict);
    ctx.store
        .insert_version(
            &NewVersion {
                site: site.id.clone(),
                url: url.to_string(),
                sha256: sha.clone(),
                structural_hash: analysis.structural_hash.clone(),
                fetched_at: crate::time::now_ms(),
                analysis: stored,
                body,
            },
            ctx.config.fetcher.keep_versions,
        )
        .await?;
    let added = changed(ctx, site, url, &sha, &text, &analysis, previous).await?;
    // One malicious_script per version: on the code a change added when that alone is
    // malicious (the sharper statement), else on the whole script.
    match &added {
        Some(a) if a.malicious => alert_malicious(ctx, site, url, &sha, a, "added_code").await,
        _ => alert_malicious(ctx, site, url, &sha, &verdict, "script").await,
    }
    Ok(("new_version", sha))
}

/// Raises `script_changed` when the structure changed from `previous`; returns the verdict on
/// the code the change added, if any.
async fn changed(
    ctx: &Context,
    site: &SiteConfig,
    url: &str,
    sha: &str,
    text: &str,
    analysis: &Analysis,
    previous: Option<rampart_store::VersionRow>,
) -> anyhow::Result<Option<Classification>> {
    let Some(previous) = previous else {
        return Ok(None);
    };
    if previous.structural_hash == analysis.structural_hash && !analysis.structural_hash.is_empty()
    {
        return Ok(None); // trivial: new build id, re-minified, …
    }
    let Some(old_body) = ctx.store.version_body(&previous.sha256).await? else {
        return Ok(None);
    };
    let (old_text, old_analysis) = analyze(old_body).await?;
    let d = rampart_js::diff(&old_analysis, &old_text, analysis, text);
    if d.verdict != Verdict::Changed {
        return Ok(None);
    }
    let mut details = diff_json(&d, &old_text, text);
    let added = classify_added(&d.added_regions, text).await?;
    if let Some(added) = &added {
        details["added_code_score"] = json!(added.score);
        details["added_code_reasons"] = json!(added.reasons);
    }
    details["url"] = json!(url);
    details["from_sha256"] = json!(previous.sha256);
    details["to_sha256"] = json!(sha);
    // PCI DSS 11.6.1: a change to a script someone authorized is the modification the
    // authorization no longer covers (see `authorization.rs`); say whose it lapsed. A failed
    // read leaves that out; it must not cost the alert itself.
    let authorizations = ctx.store.authorizations(&site.id).await;
    if let Err(e) = &authorizations {
        tracing::warn!(error = %e, "script_changed: cannot read authorizations");
    }
    if let Some(auth) = authorizations.ok().and_then(|mut a| a.remove(url))
        && auth
            .structural_hash
            .as_ref()
            .is_some_and(|h| *h != analysis.structural_hash)
    {
        details["authorization_lapsed"] = json!({
            "authorized_by": auth.by,
            "authorized_at": crate::time::rfc3339(auth.at),
            "authorized_sha256": auth.sha256,
        });
    }
    let alert = structure_alert(
        "script_changed",
        &site.id,
        url,
        &analysis.structural_hash,
        d.is_dangerous() || added.as_ref().is_some_and(|a| a.malicious),
        details,
    );
    crate::alerts::raise(&*ctx.store, &ctx.alerts, alert).await;
    Ok(added)
}

/// An alert about a script's structure (`script_changed`, `script_cloaked`): once per new
/// structure, critical when the difference is dangerous (see `Diff::is_dangerous`) or scored
/// malicious, else a warning.
pub(crate) fn structure_alert(
    kind: &str,
    site: &str,
    url: &str,
    structure: &str,
    critical: bool,
    details: Value,
) -> NewAlert {
    NewAlert {
        kind: kind.into(),
        site: site.into(),
        subject: url.into(),
        dedup: structure.into(),
        severity: if critical { "critical" } else { "warning" }.into(),
        created_at: crate::time::now_ms(),
        details,
    }
}

/// Rescores the newest version of every script whose stored verdict came from another model
/// (or from none): a new model sees the inventory at once, not at the next fetch.
pub(crate) async fn rescore(ctx: &Context) {
    let model = Model::embedded();
    for site in &ctx.config.sites {
        let latest = match ctx.store.latest_versions(&site.id).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "rescoring: cannot list versions");
                return;
            }
        };
        for (version, _) in latest {
            if version.analysis["classification"]["model"].as_str() == Some(model.version.as_str())
            {
                continue;
            }
            let Ok(Some(body)) = ctx.store.version_body(&version.sha256).await else {
                continue;
            };
            let Ok((_, _, verdict)) = analyze_and_classify(body).await else {
                continue;
            };
            let mut analysis = version.analysis.clone();
            analysis["classification"] = json!(verdict);
            if let Err(e) = ctx
                .store
                .update_version_analysis(version.id, &analysis)
                .await
            {
                tracing::warn!(error = %e, "rescoring: cannot store the verdict");
                continue;
            }
            tracing::info!(url = %version.url, score = verdict.score, model = %model.version, "rescored");
            alert_malicious(ctx, site, &version.url, &version.sha256, &verdict, "script").await;
        }
    }
}

/// Browsers with `'report-sha256'` report the hash of the script they ran. If none of the
/// versions we ever fetched has that hash, visitors are being served something else: cloaking,
/// as in the 2024 Polyfill.io attack, which served the payload only to some visitors.
async fn check_reported_hash(
    ctx: &Context,
    site: &SiteConfig,
    url: &str,
    fetched: &str,
    versions: &[rampart_store::VersionRow],
) -> anyhow::Result<()> {
    let rows = ctx.store.list_resources(&site.id, "script").await?;
    let Some(reported) = rows.into_iter().find(|r| r.url == url).and_then(|r| r.hash) else {
        return Ok(());
    };
    // Bodies the mobile probe saw count as fetched (see `probe.rs`).
    let probed = ctx.store.list_fetches(&site.id, url, 50).await?;
    let as_csp = |sha: &str| {
        hex::decode(sha)
            .map(|raw| {
                format!(
                    "sha256-{}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            })
            .ok()
    };
    let known = |h: &str| {
        h == fetched
            || versions
                .iter()
                .any(|v| as_csp(&v.sha256).as_deref() == Some(h))
            || probed.iter().any(|f| {
                super::probe::OUTCOMES_WITH_BODY.contains(&f.outcome.as_str())
                    && f.sha256.as_deref().and_then(as_csp).as_deref() == Some(h)
            })
    };
    if known(&reported) {
        return Ok(());
    }
    crate::alerts::raise(
        &*ctx.store,
        &ctx.alerts,
        NewAlert {
            kind: "script_hash_mismatch".into(),
            site: site.id.clone(),
            subject: url.to_string(),
            dedup: reported.clone(),
            severity: "critical".into(),
            created_at: crate::time::now_ms(),
            details: json!({
                "url": url,
                "reported_by_browsers": reported,
                "fetched": fetched,
                "meaning": "visitors ran code whose hash matches no version Rampart fetched (possible cloaking)",
            }),
        },
    )
    .await;
    Ok(())
}
