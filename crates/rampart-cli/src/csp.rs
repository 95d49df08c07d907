//! `rampart csp policy|lint`: from a trusted inventory to an enforceable policy, and a check of
//! any policy for what makes it bypassable.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rampart_csp::Severity;
use rampart_server::Config;
use rampart_server::policy::Scope;
use serde_json::json;

use crate::commands::Failure;

pub fn policy(config: &Config, site_id: &str, scope: Scope, as_json: bool) -> Result<(), Failure> {
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
    let s = runtime.block_on(async {
        let store = rampart_store::open(&config.database)
            .await
            .with_context(|| format!("cannot open database {}", config.database))?;
        anyhow::Ok(rampart_server::policy::suggest(&*store, config, site, &scope).await?)
    })?;
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", s.to_json(&site.id, &scope))?;
    } else {
        writeln!(out, "Content-Security-Policy: {}", s.policy.policy)?;
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "# from {} active{} scripts and {} connections of site {}",
            s.scripts,
            if scope.authorized_only {
                " authorized"
            } else {
                ""
            },
            s.connections,
            site.id
        )?;
        for (url, hash) in &s.policy.integrity {
            writeln!(err, "# integrity for {url}: {hash}")?;
        }
        for n in &s.policy.notes {
            writeln!(err, "# note: {n}")?;
        }
        for f in &s.findings {
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
