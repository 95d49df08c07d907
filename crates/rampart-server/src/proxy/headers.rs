//! Security-header tamper detection (PCI DSS 11.6.1 asks for it next to script changes): the
//! proxy remembers the security headers each page path was last served with and raises
//! `security_headers_changed` when they change. Read before the proxy adds its own headers, so
//! only the origin's headers count. The first sight of a path is its baseline (kept in memory:
//! a restart re-learns it).

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

/// Page paths remembered; past it the memory is cleared and re-learned.
const MAX_PATHS: usize = 10_000;

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

impl Baselines {
    /// Records this response's headers for `path`; returns the changes from the previous ones.
    pub fn observe(&self, path: &str, now: BTreeMap<&'static str, String>) -> Changes {
        let mut map = self
            .map
            .lock()
            .expect("never poisoned: no panics while held");
        if map.len() >= MAX_PATHS && !map.contains_key(path) {
            map.clear();
        }
        let Some(before) = map.insert(path.to_string(), now.clone()) else {
            return Vec::new();
        };
        WATCHED
            .iter()
            .filter_map(|name| {
                let (b, a) = (before.get(name), now.get(name));
                (b != a).then(|| (*name, b.cloned(), a.cloned()))
            })
            .collect()
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
        assert!(b.observe("/checkout", snapshot(&h)).is_empty());
        assert!(b.observe("/checkout", snapshot(&h)).is_empty());
        h.insert(
            "content-security-policy",
            HeaderValue::from_static("script-src *"),
        );
        h.remove("strict-transport-security");
        let c = b.observe("/checkout", snapshot(&h));
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
        assert!(
            b.observe("/other", snapshot(&h)).is_empty(),
            "paths are separate"
        );
    }
}
