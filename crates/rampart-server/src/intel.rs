//! Threat intelligence: domain and URL blocklists loaded from files (plain lists or hosts-file
//! format), each with a category, reloaded when a file changes. A script or connection whose
//! host (or any parent domain of it) or URL is listed raises `malicious_domain` at once — no
//! learning period, no `min_reports`: a listed skimmer domain is worth waking someone for.
//!
//! When the lists change, the whole inventory is checked again, so a domain listed today is
//! found on a page that loaded it last week (the alert's dedup key keeps that to one alert).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rampart_store::{AlertRow, NewAlert, Store};
use serde_json::json;
use tokio::sync::mpsc;

use crate::config::{Config, IntelConfig};

/// Where an entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub category: String,
    pub list: String,
}

/// A lookup hit: the listed entry that matched and its listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub entry: String,
    pub listing: Listing,
}

/// The loaded lists.
#[derive(Debug, Default)]
pub struct Lists {
    hosts: HashMap<String, Listing>,
    urls: HashMap<String, Listing>,
    /// Lines that were neither a domain, a URL nor a hosts-file entry.
    pub skipped: usize,
    /// Registration time (ms) of domains, from the `registrations` feed.
    registered: HashMap<String, i64>,
}

/// Hosts-file targets that mean "block" (the listed name follows them).
const SINK_ADDRESSES: &[&str] = &["0.0.0.0", "127.0.0.1", "::", "::1", "0"];
/// Names hosts files carry for the machine itself, never a blocklist entry.
const LOCAL_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "local",
    "broadcasthost",
    "ip6-localhost",
    "ip6-loopback",
];

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.contains('.')
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !h.starts_with('.')
}

/// `scheme://host[:port]/path` without query and fragment, scheme and host lowercased.
fn normalize_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if host.is_empty() {
        return None;
    }
    Some(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase(),
        if path.is_empty() { "/" } else { path }
    ))
}

/// Host of a URL (lowercase, without port and credentials).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = if host.starts_with('[') {
        host.split(']').next()?.trim_start_matches('[')
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.trim_end_matches('.').to_ascii_lowercase())
}

impl Lists {
    /// Adds the entries of one list's text.
    pub fn add(&mut self, text: &str, listing: &Listing) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('!') || line.starts_with('[') {
                continue; // comments, Adblock headers
            }
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or("");
            let entries: Vec<&str> = if SINK_ADDRESSES.contains(&first) {
                words.collect()
            } else {
                vec![first]
            };
            for entry in entries {
                let lower = entry.trim_end_matches('.').to_ascii_lowercase();
                if LOCAL_NAMES.contains(&lower.as_str()) {
                    continue;
                }
                if lower.contains("://") {
                    match normalize_url(&lower) {
                        Some(u) => {
                            self.urls.insert(u, listing.clone());
                        }
                        None => self.skipped += 1,
                    }
                } else if valid_host(&lower) {
                    self.hosts.insert(lower, listing.clone());
                } else {
                    self.skipped += 1;
                }
            }
        }
    }

    /// Adds a registration feed: `domain,YYYY-MM-DD` (or whitespace-separated, or an RFC 3339
    /// time) per line; `#` comments; unparseable lines are counted in `skipped`.
    pub fn add_registrations(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split([',', ' ', '\t']).filter(|p| !p.is_empty());
            let (Some(domain), Some(date)) = (parts.next(), parts.next()) else {
                self.skipped += 1;
                continue;
            };
            let when = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc().timestamp_millis())
                .or_else(|| {
                    chrono::DateTime::parse_from_rfc3339(date)
                        .ok()
                        .map(|t| t.timestamp_millis())
                });
            let domain = domain.trim_end_matches('.').to_ascii_lowercase();
            match when {
                Some(ms) if valid_host(&domain) => {
                    self.registered.insert(domain, ms);
                }
                _ => self.skipped += 1,
            }
        }
    }

    /// When `domain` was registered, if the feed says.
    pub fn registered(&self, domain: &str) -> Option<i64> {
        self.registered.get(&domain.to_ascii_lowercase()).copied()
    }

    pub fn len(&self) -> usize {
        self.hosts.len() + self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The listing that covers `url`: the URL itself, its host, or a parent domain of it.
    pub fn lookup(&self, url: &str) -> Option<Hit> {
        if let Some(u) = normalize_url(url)
            && let Some(l) = self.urls.get(&u)
        {
            return Some(Hit {
                entry: u,
                listing: l.clone(),
            });
        }
        let host = host_of(url)?;
        let mut candidate = host.as_str();
        loop {
            if let Some(l) = self.hosts.get(candidate) {
                return Some(Hit {
                    entry: candidate.to_string(),
                    listing: l.clone(),
                });
            }
            candidate = candidate.split_once('.')?.1;
        }
    }
}

/// The live lists and the files they came from.
pub struct Intel {
    config: IntelConfig,
    lists: RwLock<Arc<Lists>>,
    stamps: RwLock<Vec<Option<SystemTime>>>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(config: &IntelConfig) -> anyhow::Result<Lists> {
    let mut lists = Lists::default();
    if let Some(path) = &config.registrations {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read registration feed {}: {e}", path.display())
        })?;
        lists.add_registrations(&text);
    }
    for b in &config.blocklists {
        let text = std::fs::read_to_string(&b.path)
            .map_err(|e| anyhow::anyhow!("cannot read blocklist {}: {e}", b.path.display()))?;
        lists.add(
            &text,
            &Listing {
                category: b.category.clone(),
                list: list_name(&b.path),
            },
        );
    }
    Ok(lists)
}

/// The files whose changes trigger a reload.
fn watched(config: &IntelConfig) -> impl Iterator<Item = &PathBuf> {
    config
        .blocklists
        .iter()
        .map(|b| &b.path)
        .chain(config.registrations.iter())
}

fn list_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl Intel {
    /// Loads every configured list; a missing or unreadable file is an error naming it.
    pub fn load(config: &IntelConfig) -> anyhow::Result<Self> {
        let stamps = watched(config).map(|p| modified(p)).collect();
        let lists = load(config)?;
        tracing::info!(
            entries = lists.len(),
            skipped = lists.skipped,
            "blocklists loaded"
        );
        Ok(Self {
            config: config.clone(),
            lists: RwLock::new(Arc::new(lists)),
            stamps: RwLock::new(stamps),
        })
    }

    pub fn lists(&self) -> Arc<Lists> {
        self.lists
            .read()
            .expect("never poisoned: no panics while held")
            .clone()
    }

    /// Reloads when any file's modification time changed. A file that cannot be read keeps
    /// the previous lists (and is logged) rather than silently emptying them.
    pub fn reload_if_changed(&self) -> bool {
        let now: Vec<Option<SystemTime>> = watched(&self.config).map(|p| modified(p)).collect();
        if *self.stamps.read().expect("not poisoned") == now {
            return false;
        }
        match load(&self.config) {
            Ok(lists) => {
                tracing::info!(entries = lists.len(), "blocklists reloaded");
                *self.lists.write().expect("not poisoned") = Arc::new(lists);
                *self.stamps.write().expect("not poisoned") = now;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "blocklist reload failed; keeping the previous lists");
                false
            }
        }
    }

    pub fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        watched(&self.config)
    }
}

/// The `malicious_domain` alert for a listed resource.
pub fn alert(site: &str, kind: &str, url: &str, hit: &Hit, now: i64) -> NewAlert {
    NewAlert {
        kind: "malicious_domain".into(),
        site: site.to_string(),
        subject: host_of(url).unwrap_or_else(|| hit.entry.clone()),
        dedup: String::new(),
        severity: "critical".into(),
        created_at: now,
        details: json!({
            "url": url,
            "resource": kind,
            "listed": hit.entry,
            "category": hit.listing.category,
            "list": hit.listing.list,
        }),
    }
}

/// Checks the whole stored inventory against the lists (at start and after each reload).
pub async fn sweep(
    config: &Config,
    store: &dyn Store,
    intel: &Intel,
    alerts: &mpsc::Sender<AlertRow>,
) {
    let lists = intel.lists();
    if lists.is_empty() {
        return;
    }
    for site in &config.sites {
        for kind in ["script", "connection"] {
            let rows = match store.list_resources(&site.id, kind).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "blocklist sweep could not list resources");
                    continue;
                }
            };
            for r in rows {
                if let Some(hit) = lists.lookup(&r.url) {
                    crate::alerts::raise(
                        store,
                        alerts,
                        alert(&site.id, kind, &r.url, &hit, crate::time::now_ms()),
                    )
                    .await;
                }
            }
        }
    }
}

/// Sweeps once, then watches the files and sweeps again after each change.
pub fn spawn(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    intel: Arc<Intel>,
    alerts: mpsc::Sender<AlertRow>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        sweep(&config, &*store, &intel, &alerts).await;
        let mut tick = tokio::time::interval(config.intel.reload_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let check = intel.clone();
            let changed = tokio::task::spawn_blocking(move || check.reload_if_changed())
                .await
                .unwrap_or(false);
            if changed {
                sweep(&config, &*store, &intel, &alerts).await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> Listing {
        Listing {
            category: "magecart".into(),
            list: "t".into(),
        }
    }

    #[test]
    fn plain_and_hosts_formats() {
        let mut l = Lists::default();
        l.add(
            "# comment\nevil.example\n0.0.0.0 tracker.bad.example other.example # trailing\n127.0.0.1 localhost\nhttps://cdn.example/skim.js?x=1\nnot a domain\n",
            &listing(),
        );
        assert_eq!(l.len(), 4, "{l:?}");
        assert_eq!(l.skipped, 1, "\"not a domain\" is one bad line");
        assert_eq!(
            l.lookup("https://evil.example/a.js").unwrap().entry,
            "evil.example"
        );
        assert_eq!(
            l.lookup("https://x.y.evil.example:8443/a.js")
                .unwrap()
                .entry,
            "evil.example"
        );
        assert!(
            l.lookup("https://bad.example/").is_none(),
            "a parent of a listed host is not listed"
        );
        assert!(l.lookup("https://tracker.bad.example/p").is_some());
        assert!(l.lookup("https://cdn.example/skim.js?v=2").is_some());
        assert!(l.lookup("https://cdn.example/other.js").is_none());
        assert!(l.lookup("https://notevil.example/").is_none());
        assert!(l.lookup("https://localhost/").is_none());
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            host_of("https://User@Ex.COM.:443/p").as_deref(),
            Some("ex.com")
        );
        assert_eq!(host_of("wss://[::1]:9/").as_deref(), Some("::1"));
        assert_eq!(host_of("https:///").as_deref(), None);
    }
}
