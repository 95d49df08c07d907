//! The Reporting API format (`report-to` / `Reporting-Endpoints`): a JSON array of
//! `{type, age, url, user_agent, body}` with camelCase bodies, sent as `application/reports+json`.
//!
//! Two report types matter: `csp-violation` (the same facts as the legacy format) and `csp-hash`
//! (Chromium, with `'report-sha256'`: the SHA-256 of each script the page actually ran, which the
//! fetcher compares with what it downloads to catch cloaking).

use serde::Deserialize;

use crate::legacy::lenient;
use crate::noise::{NoiseReason, classify_document};
use crate::normalize::{
    Disposition, Limits, Outcome, RawViolation, ResourceKind, SiteContext, Violation,
    strip_query_and_fragment, url_blocked,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ApiReport {
    #[serde(rename = "type", deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(deserialize_with = "lenient")]
    url: Option<String>,
    body: Option<ApiBody>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApiBody {
    #[serde(rename = "documentURL", deserialize_with = "lenient")]
    document_url: Option<String>,
    #[serde(rename = "blockedURL", deserialize_with = "lenient")]
    blocked_url: Option<String>,
    #[serde(rename = "effectiveDirective", deserialize_with = "lenient")]
    effective_directive: Option<String>,
    #[serde(deserialize_with = "lenient")]
    disposition: Option<String>,
    #[serde(deserialize_with = "lenient")]
    sample: Option<String>,
    #[serde(rename = "sourceFile", deserialize_with = "lenient")]
    source_file: Option<String>,
    // csp-hash
    #[serde(rename = "subresourceURL", deserialize_with = "lenient")]
    subresource_url: Option<String>,
    #[serde(deserialize_with = "lenient")]
    hash: Option<String>,
    #[serde(deserialize_with = "lenient")]
    destination: Option<String>,
}

pub(crate) fn normalize(report: ApiReport, site: &SiteContext<'_>, limits: &Limits) -> Outcome {
    let body = report.body.unwrap_or_default();
    // The envelope's `url` is the document; bodies repeat it as documentURL. Prefer the body.
    let document_url = body.document_url.or(report.url);
    match report.kind.as_deref() {
        Some("csp-violation") => RawViolation {
            document_url,
            blocked: body.blocked_url,
            effective_directive: body.effective_directive,
            violated_directive: None,
            disposition: body.disposition,
            sample: body.sample,
            source_file: body.source_file,
        }
        .normalize(site, limits),
        Some("csp-hash") => {
            let document = document_url.unwrap_or_default();
            if document.len() > limits.max_url_bytes {
                return Err(NoiseReason::Oversized);
            }
            let document = classify_document(&document, site.origins)?;
            if body.destination.as_deref().is_some_and(|d| d != "script") {
                return Err(NoiseReason::UnmonitoredDirective);
            }
            let subresource = body.subresource_url.unwrap_or_default();
            if subresource.len() > limits.max_url_bytes {
                return Err(NoiseReason::Oversized);
            }
            // Chromium sends an empty hash for cross-origin scripts loaded without CORS (their
            // bytes are opaque to the page); the load itself is still worth inventorying.
            // Anything but a well-formed hash is dropped: it is shown, compared and written into
            // `integrity` values (`policy.rs`).
            let hash = body
                .hash
                .filter(|h| h.len() <= 128 && crate::is_hash_source(h));
            let document_url = if site.keep_query {
                document
            } else {
                strip_query_and_fragment(&document)
            };
            Ok(Violation {
                kind: ResourceKind::Script,
                document_url,
                blocked: url_blocked(&subresource, site.keep_query, false, limits.max_url_bytes)?,
                directive: "csp-hash".to_string(),
                disposition: Disposition::Report,
                sample: None,
                source_file: None,
                hash,
            })
        }
        _ => Err(NoiseReason::OtherReportType),
    }
}
