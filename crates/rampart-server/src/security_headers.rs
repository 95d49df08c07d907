//! Security-header tamper detection (PCI DSS 11.6.1 asks for it next to script changes): the
//! security headers each page was last served with, and `security_headers_changed` when they
//! change. Two observers share it: the proxy, for every HTML page path it serves (read before
//! it adds its own headers, so only the origin's count), and the fetcher, for the pages a site
//! lists in `watch_pages` (for sites that add the monitoring header themselves, without the
//! proxy; keyed by URL). The first sight of a page is its baseline. Baselines are kept in the
//! store: a proxy starting up loads them, the fetcher reads them each round, so a change made
//! while Rampart was down (or seen by another node) still alerts, and every new or changed
//! baseline is written back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use axum::http::HeaderMap;

/// The headers watched, lowercase.
pub(crate) const WATCHED: &[&str] = &[
    "content-security-policy",
    "content-security-policy-report-only",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
];

/// Page paths remembered; past it the memory is cleared and re-learned (from the store's most
/// recent ones at the next start).
pub(crate) const MAX_PATHS: usize = 10_000;

/// The watched headers of a response, values of repeated headers joined in order.
pub(crate) fn snapshot(headers: &HeaderMap) -> BTreeMap<&'static str, String> {
    WATCHED
        .iter()
        .filter_map(|name| {
            let values: Vec<&str> = headers
                .get_all(*name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| (*name, values.join(", ")))
        })
        .collect()
}

/// The proxy's baselines in memory: each path's headers and when it was last served (a tick).
#[derive(Default)]
pub(crate) struct Baselines {
    map: Mutex<Paths>,
}

#[derive(Default)]
struct Paths {
    by_path: HashMap<String, (BTreeMap<&'static str, String>, u64)>,
    tick: u64,
}

/// What one response changed: the new baseline to store (`changes` as in
/// [`Baselines::observe`]) and the paths evicted to make room, to delete from the store too.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Observed {
    pub changes: Option<Changes>,
    pub evicted: Vec<String>,
}

/// What changed: `(header, before, after)`, `None` meaning absent.
pub(crate) type Changes = Vec<(&'static str, Option<String>, Option<String>)>;

/// A snapshot as stored: a JSON object of header name → value.
pub(crate) fn to_json(snapshot: &BTreeMap<&'static str, String>) -> serde_json::Value {
    serde_json::Value::Object(
        snapshot
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

/// What changed from `before` to `now`, header by header.
fn changes(
    before: &BTreeMap<&'static str, String>,
    now: &BTreeMap<&'static str, String>,
) -> Changes {
    WATCHED
        .iter()
        .filter_map(|name| {
            let (b, a) = (before.get(name), now.get(name));
            (b != a).then(|| (*name, b.cloned(), a.cloned()))
        })
        .collect()
}

/// Compares a page's headers with its stored baseline (JSON, as the store holds it), with the
/// meaning of [`Baselines::observe`].
pub(crate) fn compare(
    stored: Option<&serde_json::Value>,
    now: &BTreeMap<&'static str, String>,
) -> Option<Changes> {
    let Some(stored) = stored else {
        return Some(Vec::new());
    };
    let before = from_json(stored);
    (before != *now).then(|| changes(&before, now))
}

/// The `security_headers_changed` alert for `page` (warning; critical when a CSP or HSTS got
/// weaker by disappearing), deduplicated by the new header set.
pub(crate) fn alert(site: &str, page: &str, changes: &Changes) -> rampart_store::NewAlert {
    let removed_protection = changes.iter().any(|(name, before, after)| {
        before.is_some()
            && after.is_none()
            && matches!(
                *name,
                "content-security-policy" | "strict-transport-security"
            )
    });
    let details: Vec<serde_json::Value> = changes
        .iter()
        .map(|(name, before, after)| serde_json::json!({ "header": name, "before": before, "after": after }))
        .collect();
    let dedup = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        serde_json::to_vec(&details).unwrap_or_default(),
    ));
    rampart_store::NewAlert {
        kind: "security_headers_changed".into(),
        site: site.to_string(),
        subject: page.to_string(),
        dedup,
        severity: if removed_protection {
            "critical"
        } else {
            "warning"
        }
        .into(),
        created_at: crate::time::now_ms(),
        details: serde_json::json!({ "page": page, "changes": details }),
    }
}

/// A stored snapshot; names that are not watched (any more) are left out.
fn from_json(value: &serde_json::Value) -> BTreeMap<&'static str, String> {
    let Some(object) = value.as_object() else {
        return BTreeMap::new();
    };
    WATCHED
        .iter()
        .filter_map(|name| Some((*name, object.get(*name)?.as_str()?.to_string())))
        .collect()
}

impl Baselines {
    /// Baselines as the store holds them: `(page path, snapshot as JSON)`, newest first.
    pub fn load(stored: Vec<(String, serde_json::Value)>) -> Self {
        let by_path: HashMap<_, _> = stored
            .into_iter()
            .take(MAX_PATHS)
            .enumerate()
            .map(|(i, (page, headers))| (page, (from_json(&headers), (MAX_PATHS - i) as u64)))
            .collect();
        Self {
            map: Mutex::new(Paths {
                by_path,
                tick: MAX_PATHS as u64,
            }),
        }
    }

    /// Records this response's headers for `path`. `changes` is `None` when they are the same
    /// as before (nothing to record), else the new baseline to store: empty on a path's first
    /// sight, else what changed.
    ///
    /// Visitors choose the paths. When the table is full, the half served least recently goes
    /// (and `evicted` names it, for the store): a flood of made-up paths evicts made-up paths,
    /// while the pages people really load — the checkout among them — keep their baselines, so
    /// the flood cannot reset them to hide a change.
    pub fn observe(&self, path: &str, now: &BTreeMap<&'static str, String>) -> Observed {
        let mut paths = self
            .map
            .lock()
            .expect("never poisoned: no panics while held");
        paths.tick += 1;
        let tick = paths.tick;
        let mut evicted = Vec::new();
        if paths.by_path.len() >= MAX_PATHS && !paths.by_path.contains_key(path) {
            let mut ticks: Vec<u64> = paths.by_path.values().map(|(_, t)| *t).collect();
            let median = *ticks.select_nth_unstable(MAX_PATHS / 2).1;
            paths.by_path.retain(|p, (_, t)| {
                let keep = *t > median;
                if !keep {
                    evicted.push(p.clone());
                }
                keep
            });
        }
        let changes = match paths.by_path.get_mut(path) {
            Some((before, seen)) => {
                *seen = tick;
                (before != now).then(|| {
                    let c = changes(before, now);
                    *before = now.clone();
                    c
                })
            }
            None => {
                paths.by_path.insert(path.to_string(), (now.clone(), tick));
                Some(Vec::new())
            }
        };
        Observed { changes, evicted }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn first_sight_is_the_baseline_then_changes_are_reported() {
        let b = Baselines::default();
        let mut h = HeaderMap::new();
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000"),
        );
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("script-src 'self'"),
        );
        assert_eq!(
            b.observe("/checkout", &snapshot(&h)).changes,
            Some(vec![]),
            "first sight"
        );
        assert_eq!(
            b.observe("/checkout", &snapshot(&h)).changes,
            None,
            "unchanged"
        );
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("script-src *"),
        );
        h.remove("strict-transport-security");
        let c = b.observe("/checkout", &snapshot(&h)).changes.unwrap();
        assert_eq!(
            c,
            vec![
                (
                    "content-security-policy",
                    Some("script-src 'self'".into()),
                    Some("script-src *".into())
                ),
                (
                    "strict-transport-security",
                    Some("max-age=31536000".into()),
                    None
                ),
            ]
        );
        assert_eq!(
            b.observe("/other", &snapshot(&h)).changes,
            Some(vec![]),
            "paths are separate"
        );
        // What the store gives back at the next start is the same baseline.
        let stored = vec![("/checkout".to_string(), to_json(&snapshot(&h)))];
        let restarted = Baselines::load(stored);
        assert_eq!(restarted.observe("/checkout", &snapshot(&h)).changes, None);
        h.remove("content-security-policy");
        assert_eq!(
            restarted
                .observe("/checkout", &snapshot(&h))
                .changes
                .unwrap(),
            vec![("content-security-policy", Some("script-src *".into()), None)]
        );
    }

    #[test]
    fn a_flood_of_made_up_paths_evicts_made_up_paths_not_the_pages_in_use() {
        let b = Baselines::default();
        let mut h = HeaderMap::new();
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("script-src 'self'"),
        );
        let strict = snapshot(&h);
        b.observe("/checkout", &strict);
        let mut evicted = Vec::new();
        for i in 0..3 * MAX_PATHS {
            evicted.extend(b.observe(&format!("/junk/{i}"), &BTreeMap::new()).evicted);
            // The checkout is still served now and then during the flood.
            if i % 1000 == 0 {
                assert_eq!(b.observe("/checkout", &strict).changes, None, "at {i}");
            }
        }
        assert!(!evicted.is_empty() && !evicted.iter().any(|p| p == "/checkout"));
        assert!(b.map.lock().unwrap().by_path.len() <= MAX_PATHS);
        // Its baseline held: a weakened CSP is a change, not a first sight.
        let c = b.observe("/checkout", &BTreeMap::new()).changes.unwrap();
        assert_eq!(c[0].0, "content-security-policy");
    }
}
