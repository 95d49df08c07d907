//! The inline scripts of an HTML page, as Rampart sees them first-hand: the proxy in the pages
//! it streams (`proxy/tee.rs`), the fetcher in the pages a site watches (`fetcher/pages.rs`).
//! Each becomes an inventory entry keyed the way Chromium keys its reports of that script (hash
//! of the first 40 characters), so first-hand sightings and browser reports of one script are
//! one resource; each is classified on its whole text, which browser reports never carry.

use base64::Engine;
use rampart_csp::{Blocked, Disposition, ResourceKind, Violation};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// Characters of an inline script Chromium sends as the report sample.
const BROWSER_SAMPLE_CHARS: usize = 40;

/// Where inline scripts that score malicious are reported: raised as `malicious_script`, and
/// flagged for the proxy's blocking mode when there is one.
pub(crate) struct Verdicts {
    /// The service's runtime: scans run on its blocking pool, their alerts on it.
    pub main: tokio::runtime::Handle,
    pub flagged: Option<std::sync::Arc<crate::proxy::Flagged>>,
    pub store: std::sync::Arc<dyn rampart_store::Store>,
    pub alerts: mpsc::Sender<rampart_store::AlertRow>,
    pub site_id: String,
}

/// The JavaScript of a page's HTML.
#[derive(Default)]
pub(crate) struct Found {
    /// Its inline scripts…
    pub inline: Vec<rampart_js::InlineScript>,
    /// …with the report each stands for.
    pub reports: Vec<Violation>,
    /// The report each external script (`<script src>`) stands for.
    pub external: Vec<Violation>,
}

/// The JavaScript of `html` (a whole page). Call it off the async threads: it parses the page.
pub(crate) fn scripts(html: &[u8], page: &str, keep_query: bool) -> Found {
    let Some(scripts) = rampart_js::extract_scripts(html) else {
        return Found::default();
    };
    let (external, inline): (Vec<_>, Vec<_>) = scripts
        .into_iter()
        .filter(|s| s.is_javascript())
        .partition(|s| s.src.is_some());
    let inline: Vec<rampart_js::InlineScript> = inline
        .into_iter()
        .filter(|s| !s.text.trim().is_empty())
        .collect();
    Found {
        reports: inline.iter().map(|s| violation(page, &s.text)).collect(),
        inline,
        external: external
            .iter()
            .filter_map(|s| rampart_csp::external_script(page, s.src.as_deref()?, keep_query))
            .take(crate::page_scripts::MAX_SCRIPTS)
            .collect(),
    }
}

/// Classifies each inline script (on the calling, blocking thread); malicious ones are flagged
/// and alerted (dedup per script hash).
pub(crate) fn judge(
    inline: &[rampart_js::InlineScript],
    violations: &[Violation],
    page: &str,
    verdicts: &Verdicts,
) {
    let model = rampart_js::Model::embedded();
    for (s, v) in inline.iter().zip(violations) {
        let verdict = rampart_js::classify(&s.text, &rampart_js::Options::default(), model);
        if !verdict.malicious {
            continue;
        }
        let Some(hash) = v.hash.clone() else { continue };
        if let Some(flagged) = &verdicts.flagged {
            flagged
                .inline
                .write()
                .expect("not poisoned")
                .insert(hash.clone());
        }
        let alert = rampart_store::NewAlert {
            kind: "malicious_script".into(),
            site: verdicts.site_id.clone(),
            subject: v.resource_key(),
            dedup: hash.clone(),
            severity: "critical".into(),
            created_at: crate::time::now_ms(),
            details: serde_json::json!({
                "page": page,
                "scored": "inline",
                "hash": hash,
                "score": verdict.score,
                "categories": verdict.categories,
                "reasons": verdict.reasons,
                "model": verdict.model,
                "sample": v.sample,
            }),
        };
        let (store, alerts) = (verdicts.store.clone(), verdicts.alerts.clone());
        verdicts
            .main
            .spawn(async move { crate::alerts::raise(&*store, &alerts, alert).await });
    }
}

/// Hands the scripts to the inventory writer as if browsers had reported them; a full queue
/// drops them, counted under `dropped` (the page is seen again later).
pub(crate) fn inventory(
    queue: &mpsc::Sender<crate::intake::Accepted>,
    site: usize,
    violations: Vec<Violation>,
    dropped: &'static str,
) {
    if violations.is_empty() {
        return;
    }
    let accepted = crate::intake::Accepted {
        site,
        at_ms: crate::time::now_ms(),
        violations,
    };
    if queue.try_send(accepted).is_err() {
        metrics::counter!(crate::metrics::REPORTS_DROPPED, "reason" => dropped).increment(1);
    }
}

/// The report a browser would send for this inline script on `page`.
fn violation(page: &str, text: &str) -> Violation {
    let sample: String = text.chars().take(BROWSER_SAMPLE_CHARS).collect();
    let full = Sha256::digest(text.as_bytes());
    Violation {
        kind: ResourceKind::Script,
        document_url: page.to_string(),
        blocked: Blocked::Inline {
            attribute: false,
            sample_sha256: Some(hex::encode(Sha256::digest(sample.as_bytes()))),
        },
        directive: "script-src-elem".into(),
        disposition: Disposition::Report,
        sample: Some(sample),
        source_file: None,
        hash: Some(format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(full)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_keyed_like_browser_reports() {
        let text = "window.dataLayer = window.dataLayer || []; gtag('js', new Date());";
        let v = violation("https://shop.example/checkout", text);
        assert_eq!(v.sample.as_deref().map(|s| s.chars().count()), Some(40));
        let Blocked::Inline { sample_sha256, .. } = &v.blocked else {
            panic!("not inline")
        };
        assert_eq!(
            sample_sha256.as_deref(),
            Some(hex::encode(Sha256::digest(&text.as_bytes()[..40])).as_str())
        );
        assert!(v.resource_key().starts_with("inline:sha256-"));
    }

    #[test]
    fn only_javascript_inline_scripts_with_text_count() {
        let html = br#"<script src="/a.js"></script><script>  </script><script type="application/ld+json">{"a":1}</script><script type="text/template"><b>x</b></script><script>go()</script><script type="module">run()</script>"#;
        let found = scripts(html, "https://shop.example/", false);
        let texts: Vec<&str> = found.inline.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["go()", "run()"]);
        assert_eq!(found.reports[0].document_url, "https://shop.example/");
    }

    #[test]
    fn external_scripts_are_reported_as_a_browser_would() {
        let html = br#"<script src="/a.js?v=1"></script><script type="module" src="https://cdn.example/m.js"></script><script type="text/template" src="/t.html"></script><script src="data:text/javascript,1"></script><script>go()</script>"#;
        let found = scripts(html, "https://shop.example/pay", false);
        let urls: Vec<String> = found.external.iter().map(|v| v.resource_key()).collect();
        assert_eq!(
            urls,
            ["https://shop.example/a.js", "https://cdn.example/m.js"]
        );
        assert!(
            found
                .external
                .iter()
                .all(|v| v.document_url == "https://shop.example/pay")
        );
        assert_eq!(found.inline.len(), 1);
    }
}
