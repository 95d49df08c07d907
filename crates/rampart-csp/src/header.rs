//! The monitoring header: a report-only policy under which every script and every connection
//! is a reported violation, and nothing is blocked.
//!
//! Findings from Chromium 156 on this machine (see `crates/rampart-cli/tests/chromium.rs`):
//! - `script-src 'none' 'report-sample' 'report-sha256'` still reports every external and inline
//!   script: `'report-sample'` and `'report-sha256'` are reporting keywords, not sources, so they
//!   do not cancel `'none'` the way a host or hash source would.
//! - When a policy carries `report-to`, Chromium ignores `report-uri`; and it delivers Reporting
//!   API reports only from secure pages to HTTPS endpoints. So the policy names `report-to` only
//!   when the report URL and every site origin are HTTPS — otherwise a plain-HTTP deployment
//!   would silently report nothing. The `Reporting-Endpoints` header itself is always emitted
//!   (SPEC §1 promises both lines): without a `report-to` directive naming its group it sends
//!   nothing and changes nothing, and a site that moves to HTTPS keeps the same header lines
//!   and only gains the directive (`chromium.rs` sends both lines from a plain-HTTP page).
//! - `'report-sample'` has no effect on `connect-src` and is left out there.
//! - With `'report-sha256'` and `report-to`, Chromium sends a `csp-hash` report per script with
//!   the SHA-256 of the bytes it ran — but an empty hash for a cross-origin script loaded without
//!   CORS (no `crossorigin` attribute): those bytes are opaque to the page. Cloaking detection
//!   (`script_hash_mismatch`) therefore covers same-origin and CORS-loaded scripts
//!   (`crates/rampart-cli/tests/chromium_https.rs`).

/// What the header builder needs to know about a site.
#[derive(Debug, Clone)]
pub struct HeaderOptions<'a> {
    /// The absolute report URL (`{public_url}/report/{key}`).
    pub report_url: &'a str,
    /// The site's origins; `report-to` needs all of them to be HTTPS.
    pub origins: &'a [String],
    /// Name of the Reporting API endpoint group.
    pub group: &'a str,
}

/// Returns `(name, value)` pairs: `Content-Security-Policy-Report-Only` (naming the Reporting
/// API group with `report-to` where that API can deliver) and `Reporting-Endpoints`.
pub fn monitoring_headers(opts: &HeaderOptions<'_>) -> Vec<(&'static str, String)> {
    let secure = opts.report_url.starts_with("https://")
        && !opts.origins.is_empty()
        && opts.origins.iter().all(|o| o.starts_with("https://"));
    let mut policy = format!(
        "script-src 'none' 'report-sample' 'report-sha256'; connect-src 'none'; report-uri {}",
        opts.report_url
    );
    let mut headers = Vec::with_capacity(2);
    if secure {
        policy.push_str("; report-to ");
        policy.push_str(opts.group);
    }
    headers.push(("Content-Security-Policy-Report-Only", policy));
    headers.push((
        "Reporting-Endpoints",
        format!("{}=\"{}\"", opts.group, opts.report_url),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_sites_get_both_report_uri_and_report_to() {
        let origins = vec!["https://shop.example".to_string()];
        let h = monitoring_headers(&HeaderOptions {
            report_url: "https://rampart.example/report/k1",
            origins: &origins,
            group: "rampart",
        });
        assert_eq!(h.len(), 2);
        assert_eq!(
            h[0].1,
            "script-src 'none' 'report-sample' 'report-sha256'; connect-src 'none'; \
             report-uri https://rampart.example/report/k1; report-to rampart"
        );
        assert_eq!(
            h[1],
            (
                "Reporting-Endpoints",
                "rampart=\"https://rampart.example/report/k1\"".into()
            )
        );
    }

    #[test]
    fn plain_http_policies_name_report_uri_only() {
        // Chromium ignores report-uri when report-to is present but never delivers Reporting
        // API reports from insecure pages: naming report-to here would lose every report. The
        // endpoint header is still printed: no directive names its group, so it is inert.
        let origins = vec!["http://shop.test:8080".to_string()];
        let h = monitoring_headers(&HeaderOptions {
            report_url: "http://127.0.0.1:8480/report/k1",
            origins: &origins,
            group: "rampart",
        });
        assert_eq!(h.len(), 2);
        assert!(!h[0].1.contains("report-to"));
        assert_eq!(
            h[1],
            (
                "Reporting-Endpoints",
                "rampart=\"http://127.0.0.1:8480/report/k1\"".into()
            )
        );
        assert!(
            h[0].1
                .contains("report-uri http://127.0.0.1:8480/report/k1")
        );
    }
}
