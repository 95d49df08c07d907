//! An enforceable Content-Security-Policy suggested from a site's active inventory — the one
//! `rampart csp policy` prints, `GET /api/v1/sites/{id}/policy` answers and the site's policy
//! page shows — so the three say the same thing about the same inventory.

use std::collections::{HashMap, HashSet};

use rampart_csp::{Finding, Granularity, Policy, PolicyInput, Source, build_policy};
use rampart_store::{Store, VersionRow};
use serde_json::{Value, json};

use crate::config::{Config, SiteConfig};

/// Which part of the active inventory the policy allows, and how.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// Only resources seen on pages matching this pattern (`*` matches anything).
    pub page: Option<String>,
    /// Only scripts whose authorization holds (see `authorization.rs`).
    pub authorized_only: bool,
    /// Exact script URLs instead of hosts.
    pub urls: bool,
}

/// The scope as query parameters (`?page=&urls=&authorized_only=`): the API's and the policy
/// page's. Strings, because a checkbox sends `on` and an empty field must mean "none".
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ScopeQuery {
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub urls: String,
    #[serde(default)]
    pub authorized_only: String,
}

impl ScopeQuery {
    pub fn scope(&self) -> Scope {
        let yes = |v: &str| matches!(v, "1" | "true" | "on" | "yes");
        Scope {
            page: Some(self.page.trim())
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            authorized_only: yes(&self.authorized_only),
            urls: yes(&self.urls),
        }
    }
}

/// The suggestion: the policy with its integrity values and notes, what it was built from,
/// and what a lint finds in it.
pub struct Suggested {
    pub policy: Policy,
    pub scripts: usize,
    pub connections: usize,
    pub findings: Vec<Finding>,
}

impl Suggested {
    /// The JSON of `rampart csp policy --json` and of the API.
    pub fn to_json(&self, site: &str, scope: &Scope) -> Value {
        json!({
            "site": site,
            "page": scope.page,
            "authorized_only": scope.authorized_only,
            "scripts": self.scripts,
            "connections": self.connections,
            "policy": self.policy.policy,
            "integrity": self
                .policy
                .integrity
                .iter()
                .map(|(u, h)| json!({"url": u, "integrity": h}))
                .collect::<Vec<_>>(),
            "notes": self.policy.notes,
            "lint": self.findings,
        })
    }
}

/// Builds the policy for `site` from the store's active inventory: enough reports, seen within
/// `inactive_after`, on a page matching `scope.page`. With `authorized_only`, the scripts are
/// those whose authorization holds, active or not: a person's authorization is the decision,
/// and a script authorized before its first reports must not be refused for having too few.
pub async fn suggest(
    store: &dyn Store,
    config: &Config,
    site: &SiteConfig,
    scope: &Scope,
) -> rampart_store::Result<Suggested> {
    let now = crate::time::now_ms();
    let active_since = now - config.inactive_after.as_millis() as i64;
    let authorized: Option<HashSet<String>> = if scope.authorized_only {
        let auths = store.authorizations(&site.id).await?;
        let latest: HashMap<String, VersionRow> = store
            .latest_versions(&site.id)
            .await?
            .into_iter()
            .map(|(v, _)| (v.url.clone(), v))
            .collect();
        Some(
            auths
                .iter()
                .filter(|(url, a)| {
                    crate::authorization::state(Some(a), latest.get(*url))
                        == crate::authorization::AUTHORIZED
                })
                .map(|(url, _)| url.clone())
                .collect(),
        )
    } else {
        None
    };
    let mut sources = Vec::new();
    for kind in ["script", "connection"] {
        let rows = store.list_resources(&site.id, kind).await?;
        sources.push(
            rows.into_iter()
                .filter(|r| match (&authorized, kind) {
                    (Some(a), "script") => a.contains(&r.url),
                    _ => r.reports >= site.min_reports && r.last_seen >= active_since,
                })
                .filter(|r| {
                    scope.page.as_deref().is_none_or(|p| {
                        r.pages
                            .iter()
                            .chain([&r.first_page])
                            .any(|pg| crate::proxy::matches_pattern(p, pg))
                    })
                })
                .map(|r| Source {
                    url: r.url,
                    hash: r.hash,
                })
                .collect::<Vec<_>>(),
        );
    }
    let connections = sources.pop().unwrap_or_default();
    let scripts = sources.pop().unwrap_or_default();
    let report_url = config.report_url(&site.key);
    let policy = build_policy(&PolicyInput {
        origins: &site.origins,
        report_url: &report_url,
        scripts: &scripts,
        connections: &connections,
        granularity: if scope.urls {
            Granularity::Urls
        } else {
            Granularity::Hosts
        },
    });
    let findings = rampart_csp::lint(&policy.policy);
    Ok(Suggested {
        policy,
        scripts: scripts.len(),
        connections: connections.len(),
        findings,
    })
}
