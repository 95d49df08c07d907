//! Security-header tamper detection (PCI DSS 11.6.1 asks for it next to script changes): the
//! proxy remembers the security headers each page path was last served with and raises
//! `security_headers_changed` when they change. Read before the proxy adds its own headers, so
//! only the origin's headers count. The first sight of a path is its baseline. Baselines are
//! kept in the store too: a proxy starting up loads them, so a change made while it was down
//! (or seen by another node) still alerts, and every new or changed baseline is written back.

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

#[derive(Default)]
pub(crate) struct Baselines {
    map: Mutex<HashMap<String, BTreeMap<&'static str, String>>>,
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
    /// Baselines as the store holds them: `(page path, snapshot as JSON)`.
    pub fn load(stored: Vec<(String, serde_json::Value)>) -> Self {
        let map = stored
            .into_iter()
            .take(MAX_PATHS)
            .map(|(page, headers)| (page, from_json(&headers)))
            .collect();
        Self {
            map: Mutex::new(map),
        }
    }

    /// Records this response's headers for `path`. `None`: the same as before, nothing to
    /// record. `Some(changes)`: a new baseline to store — empty on a path's first sight, else
    /// what changed.
    pub fn observe(&self, path: &str, now: &BTreeMap<&'static str, String>) -> Option<Changes> {
        let mut map = self
            .map
            .lock()
            .expect("never poisoned: no panics while held");
        if map.len() >= MAX_PATHS && !map.contains_key(path) {
            map.clear();
        }
        if map.get(path) == Some(now) {
            return None;
        }
        let Some(before) = map.insert(path.to_string(), now.clone()) else {
            return Some(Vec::new());
        };
        Some(
            WATCHED
                .iter()
                .filter_map(|name| {
                    let (b, a) = (before.get(name), now.get(name));
                    (b != a).then(|| (*name, b.cloned(), a.cloned()))
                })
                .collect(),
        )
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
            b.observe("/checkout", &snapshot(&h)),
            Some(vec![]),
            "first sight"
        );
        assert_eq!(b.observe("/checkout", &snapshot(&h)), None, "unchanged");
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("script-src *"),
        );
        h.remove("strict-transport-security");
        let c = b.observe("/checkout", &snapshot(&h)).unwrap();
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
            b.observe("/other", &snapshot(&h)),
            Some(vec![]),
            "paths are separate"
        );
        // What the store gives back at the next start is the same baseline.
        let stored = vec![("/checkout".to_string(), to_json(&snapshot(&h)))];
        let restarted = Baselines::load(stored);
        assert_eq!(restarted.observe("/checkout", &snapshot(&h)), None);
        h.remove("content-security-policy");
        assert_eq!(
            restarted.observe("/checkout", &snapshot(&h)).unwrap(),
            vec![("content-security-policy", Some("script-src *".into()), None)]
        );
    }
}
