//! `rampart csp policy|lint`: from a trusted inventory to an enforceable policy, and a check of
//! any policy for what makes it bypassable.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rampart_csp::{Granularity, PolicyInput, Severity, Source, build_policy};
use rampart_server::Config;
use serde_json::json;

use crate::commands::Failure;

/// Which part of the active inventory a policy allows.
pub struct Scope<'a> {
    /// Only resources seen on pages matching this pattern.
    pub page: Option<&'a str>,
    /// Only scripts whose authorization holds (see `rampart_server::authorization_state`).
    pub authorized_only: bool,
}

pub fn policy(
    config: &Config,
    site_id: &str,
    scope: Scope<'_>,
    urls: bool,
    as_json: bool,
) -> Result<(), Failure> {
    let page = scope.page;
    let site = config
        .sites
        .iter()
        .find(|s| s.id == site_id)
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--site {site_id:?}: no such site in the configuration"
            ))
        })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (scripts, connections) = runtime.block_on(async {
        let store = rampart_store::open(&config.database)
            .await
            .with_context(|| format!("cannot open database {}", config.database))?;
        let now = rampart_server::now_ms();
        let active_since = now - config.inactive_after.as_millis() as i64;
        // Scripts whose authorization holds, when only those may run.
        let authorized: Option<std::collections::HashSet<String>> = if scope.authorized_only {
            let auths = store.authorizations(&site.id).await?;
            let latest: std::collections::HashMap<String, rampart_store::VersionRow> = store
                .latest_versions(&site.id)
                .await?
                .into_iter()
                .map(|(v, _)| (v.url.clone(), v))
                .collect();
            Some(
                auths
                    .iter()
                    .filter(|(url, a)| {
                        rampart_server::authorization_state(Some(a), latest.get(*url))
                            == rampart_server::AUTHORIZED
                    })
                    .map(|(url, _)| url.clone())
                    .collect(),
            )
        } else {
            None
        };
        let mut out = Vec::new();
        for kind in ["script", "connection"] {
            let rows = store.list_resources(&site.id, kind).await?;
            out.push(
                rows.into_iter()
                    .filter(|r| {
                        kind != "script" || authorized.as_ref().is_none_or(|a| a.contains(&r.url))
                    })
                    // Active: enough reports, seen recently, and (with --page) on a matching page.
                    .filter(|r| r.reports >= site.min_reports && r.last_seen >= active_since)
                    .filter(|r| {
                        page.is_none_or(|p| {
                            r.pages
                                .iter()
                                .chain([&r.first_page])
                                .any(|pg| rampart_server::page_matches(p, pg))
                        })
                    })
                    .map(|r| Source {
                        url: r.url,
                        hash: r.hash,
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let connections = out.pop().unwrap_or_default();
        let scripts = out.pop().unwrap_or_default();
        anyhow::Ok((scripts, connections))
    })?;
    let report_url = config.report_url(&site.key);
    let p = build_policy(&PolicyInput {
        origins: &site.origins,
        report_url: &report_url,
        scripts: &scripts,
        connections: &connections,
        granularity: if urls {
            Granularity::Urls
        } else {
            Granularity::Hosts
        },
    });
    let findings = rampart_csp::lint(&p.policy);
    let mut out = std::io::stdout().lock();
    if as_json {
        let v = json!({
            "site": site.id,
            "page": page,
            "authorized_only": scope.authorized_only,
            "scripts": scripts.len(),
            "connections": connections.len(),
            "policy": p.policy,
            "integrity": p.integrity.iter().map(|(u, h)| json!({"url": u, "integrity": h})).collect::<Vec<_>>(),
            "notes": p.notes,
            "lint": findings,
        });
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "Content-Security-Policy: {}", p.policy)?;
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "# from {} active{} scripts and {} connections of site {}",
            scripts.len(),
            if scope.authorized_only {
                " authorized"
            } else {
                ""
            },
            connections.len(),
            site.id
        )?;
        for (url, hash) in &p.integrity {
            writeln!(err, "# integrity for {url}: {hash}")?;
        }
        for n in &p.notes {
            writeln!(err, "# note: {n}")?;
        }
        for f in &findings {
            writeln!(
                err,
                "# lint {:?}: {} ({})",
                f.severity, f.message, f.directive
            )?;
        }
    }
    Ok(())
}

pub fn lint(policy: Option<&str>, file: Option<&Path>, as_json: bool) -> Result<(), Failure> {
    let text = match (policy, file) {
        (Some(p), _) => p.to_string(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        (None, None) => return Err(Failure::Usage("give a policy or --file".into())),
    };
    // Accept a whole header line too.
    let value = text
        .trim()
        .split_once(':')
        .filter(|(name, _)| {
            name.trim().eq_ignore_ascii_case("content-security-policy")
                || name
                    .trim()
                    .eq_ignore_ascii_case("content-security-policy-report-only")
        })
        .map_or(text.trim(), |(_, v)| v.trim());
    let findings = rampart_csp::lint(value);
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", json!({ "findings": findings }))?;
    } else if findings.is_empty() {
        writeln!(out, "no findings")?;
    } else {
        for f in &findings {
            let value = f
                .value
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            writeln!(
                out,
                "{:<6} {}{value}: {}",
                format!("{:?}", f.severity).to_lowercase(),
                f.directive,
                f.message
            )?;
        }
    }
    if findings.iter().any(|f| f.severity == Severity::High) {
        return Err(Failure::Run(anyhow::anyhow!(
            "the policy has high-severity findings"
        )));
    }
    Ok(())
}
