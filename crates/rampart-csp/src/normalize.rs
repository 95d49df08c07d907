//! The normalized [`Violation`] and the entry point [`parse_report`].
//!
//! Per-browser quirks handled here (each has a fixture under `tests/fixtures/`):
//! - Chromium names the directive `script-src-elem` / `script-src-attr`; Firefox sends only
//!   `violated-directive`, sometimes with the policy's source list appended (`script-src 'none'`).
//! - Safari cuts cross-origin blocked URLs to their origin (`https://cdn.example`), so the
//!   resource is recorded as that origin with `origin_only` set.
//! - Inline code arrives as `inline` (or an empty `blocked-uri` from old browsers), `eval` and
//!   `wasm-eval` as pseudo-URLs; inline scripts are keyed by a hash of their (≤ 40 character)
//!   sample so two different inline scripts on one page stay two resources.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{host_of, registrable_domain};
use crate::legacy::LegacyEnvelope;
use crate::noise::{NoiseReason, classify_document, classify_url};
use crate::reporting_api::ApiReport;
use crate::{MediaType, reporting_api};

/// Default cap on reports in one Reporting API batch. Chromium sends at most 100 per upload.
pub const DEFAULT_MAX_REPORTS_PER_BATCH: usize = 100;
/// Default cap on any URL in a report; longer URLs are refused as malformed.
pub const DEFAULT_MAX_URL_BYTES: usize = 4096;
/// Default cap on a stored code sample (browsers send 40 characters; we keep a little slack).
pub const DEFAULT_MAX_SAMPLE_CHARS: usize = 256;

/// Bounds applied to every report; all have documented defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Reports accepted in one Reporting API batch before the whole batch is refused.
    pub max_reports_per_batch: usize,
    /// Longest URL (document, blocked or source) accepted.
    pub max_url_bytes: usize,
    /// Samples are truncated to this many characters.
    pub max_sample_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_reports_per_batch: DEFAULT_MAX_REPORTS_PER_BATCH,
            max_url_bytes: DEFAULT_MAX_URL_BYTES,
            max_sample_chars: DEFAULT_MAX_SAMPLE_CHARS,
        }
    }
}

/// Why a whole request body was refused (the intake answers 400 and counts the reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    #[error("the body is JSON but not a CSP report: {0}")]
    Shape(&'static str),
    #[error("the batch holds {0} reports, more than the limit")]
    TooManyReports(usize),
}

impl ParseError {
    /// A short, stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Json(_) => "json",
            Self::Shape(_) => "shape",
            Self::TooManyReports(_) => "too_many_reports",
        }
    }
}

/// What the inventory keeps a violation under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// `script-src*`, `worker-src`, and `csp-hash` reports for scripts.
    Script,
    /// `connect-src`: fetch, XHR, WebSocket, EventSource, beacon.
    Connection,
}

/// Whether the violated policy was enforced or report-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Report,
    Enforce,
}

/// What was blocked (or would have been, under report-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Blocked {
    /// A fetchable URL, without query and fragment unless the site opted in.
    Url {
        url: String,
        host: String,
        domain: String,
        /// Safari reported only the origin of a cross-origin URL.
        origin_only: bool,
    },
    /// Inline `<script>` (or, with `attribute`, an inline event handler).
    Inline {
        attribute: bool,
        /// Hex SHA-256 of the sample; `None` when the browser sent no sample.
        sample_sha256: Option<String>,
    },
    /// `eval`, `new Function`, string timers.
    Eval,
    /// `WebAssembly.compile` and friends without `'wasm-unsafe-eval'`.
    WasmEval,
}

/// One normalized CSP violation (or `csp-hash` report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub kind: ResourceKind,
    /// The page, without query and fragment unless the site opted in.
    pub document_url: String,
    pub blocked: Blocked,
    /// The directive as the browser named it, lowercased, first token only.
    pub directive: String,
    pub disposition: Disposition,
    /// The code sample (≤ 40 characters from browsers), truncated to the limit.
    pub sample: Option<String>,
    /// The script that caused an inline/eval violation, when the browser says.
    pub source_file: Option<String>,
    /// `csp-hash` reports: the hash of what the browser actually ran (`sha256-…`).
    pub hash: Option<String>,
}

impl Violation {
    /// The inventory key: the URL for fetchable resources, a pseudo-URL otherwise.
    pub fn resource_key(&self) -> String {
        match &self.blocked {
            Blocked::Url { url, .. } => url.clone(),
            Blocked::Inline {
                attribute,
                sample_sha256,
            } => {
                let prefix = if *attribute { "inline-attr" } else { "inline" };
                match sample_sha256 {
                    Some(h) => format!("{prefix}:sha256-{h}"),
                    None => format!("{prefix}:no-sample"),
                }
            }
            Blocked::Eval => "eval".to_string(),
            Blocked::WasmEval => "wasm-eval".to_string(),
        }
    }

    /// Host of the blocked resource, empty for inline and eval.
    pub fn host(&self) -> &str {
        match &self.blocked {
            Blocked::Url { host, .. } => host,
            _ => "",
        }
    }

    /// Registrable domain of the blocked resource, empty for inline and eval.
    pub fn domain(&self) -> &str {
        match &self.blocked {
            Blocked::Url { domain, .. } => domain,
            _ => "",
        }
    }
}

/// One report of a request, after normalization: kept, or dropped as noise with a reason.
pub type Outcome = Result<Violation, NoiseReason>;

/// Per-site context for normalization.
#[derive(Debug, Clone, Default)]
pub struct SiteContext<'a> {
    /// Origins the site serves pages from (`https://shop.example`); reports about other
    /// documents are dropped as `foreign_document`. Empty means "accept any".
    pub origins: &'a [String],
    /// Keep query strings and fragments in stored URLs (off by default: they carry PII).
    pub keep_query: bool,
}

/// Parses one request body into per-report outcomes.
///
/// `Err` means the body as a whole is unusable (answer 400); a well-formed body whose reports are
/// all noise is `Ok` with every outcome an `Err(NoiseReason)` (answer 204, count the drops).
/// The media type is a hint: a legacy object and a Reporting API array are told apart by shape,
/// because browsers and proxies do not always label them right.
pub fn parse_report(
    media: MediaType,
    body: &[u8],
    site: &SiteContext<'_>,
    limits: &Limits,
) -> Result<Vec<Outcome>, ParseError> {
    let _ = media;
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    match trimmed[0] {
        b'[' => {
            let reports: Vec<ApiReport> =
                serde_json::from_slice(trimmed).map_err(|e| ParseError::Json(e.to_string()))?;
            if reports.len() > limits.max_reports_per_batch {
                return Err(ParseError::TooManyReports(reports.len()));
            }
            Ok(reports
                .into_iter()
                .map(|r| reporting_api::normalize(r, site, limits))
                .collect())
        }
        b'{' => {
            let envelope: LegacyEnvelope =
                serde_json::from_slice(trimmed).map_err(|e| ParseError::Json(e.to_string()))?;
            let report = envelope
                .csp_report
                .ok_or(ParseError::Shape("no \"csp-report\" object"))?;
            Ok(vec![crate::legacy::normalize(report, site, limits)])
        }
        _ => Err(ParseError::Shape("neither an object nor an array")),
    }
}

/// The fields common to both report formats, before normalization.
pub(crate) struct RawViolation {
    pub document_url: Option<String>,
    pub blocked: Option<String>,
    pub effective_directive: Option<String>,
    pub violated_directive: Option<String>,
    pub disposition: Option<String>,
    pub sample: Option<String>,
    pub source_file: Option<String>,
}

impl RawViolation {
    pub(crate) fn normalize(self, site: &SiteContext<'_>, limits: &Limits) -> Outcome {
        let document_url = self.document_url.unwrap_or_default();
        if document_url.len() > limits.max_url_bytes {
            return Err(NoiseReason::Oversized);
        }
        let document = classify_document(&document_url, site.origins)?;
        let directive = first_token(
            self.effective_directive
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .or(self.violated_directive.as_deref())
                .unwrap_or(""),
        );
        let kind = match directive.as_str() {
            "script-src" | "script-src-elem" | "script-src-attr" | "worker-src" => {
                ResourceKind::Script
            }
            "connect-src" => ResourceKind::Connection,
            _ => return Err(NoiseReason::UnmonitoredDirective),
        };
        if let Some(source) = self.source_file.as_deref() {
            classify_url(source)?;
        }
        let blocked_raw = self.blocked.unwrap_or_default();
        if blocked_raw.len() > limits.max_url_bytes {
            return Err(NoiseReason::Oversized);
        }
        let sample = self
            .sample
            .filter(|s| !s.is_empty())
            .map(|s| truncate_chars(&s, limits.max_sample_chars));
        let blocked = match blocked_raw.trim() {
            "" | "inline" => Blocked::Inline {
                attribute: directive == "script-src-attr",
                sample_sha256: sample.as_deref().map(sha256_hex),
            },
            "eval" => Blocked::Eval,
            "wasm-eval" => Blocked::WasmEval,
            "self" => url_blocked(&document, site.keep_query, true, limits.max_url_bytes)?,
            other => url_blocked(other, site.keep_query, false, limits.max_url_bytes)?,
        };
        let disposition = match self.disposition.as_deref() {
            Some("enforce") => Disposition::Enforce,
            _ => Disposition::Report,
        };
        Ok(Violation {
            kind,
            document_url: clean_url(&document, site.keep_query),
            blocked,
            directive,
            disposition,
            sample,
            source_file: self
                .source_file
                .filter(|s| !s.is_empty() && s.len() <= limits.max_url_bytes)
                .map(|s| clean_url(&s, site.keep_query)),
            hash: None,
        })
    }
}

/// Builds [`Blocked::Url`] from a reported URL, refusing noise schemes.
pub(crate) fn url_blocked(
    raw: &str,
    keep_query: bool,
    origin_only_hint: bool,
    max_len: usize,
) -> Result<Blocked, NoiseReason> {
    classify_url(raw)?;
    let parsed = url::Url::parse(raw).map_err(|_| NoiseReason::UnparsableUrl)?;
    let host = host_of(parsed.as_str()).ok_or(NoiseReason::UnparsableUrl)?;
    // Safari sends `https://cdn.example` for a cross-origin script: no path at all in the
    // original string. The parsed URL then has path "/", which we must not present as a file.
    let origin_only = origin_only_hint || is_bare_origin(raw);
    let url = if origin_only {
        parsed.origin().ascii_serialization()
    } else {
        clean_url(parsed.as_str(), keep_query)
    };
    // Parsing percent-encodes non-ASCII, which can grow a URL several times over: re-check.
    if url.len() > max_len {
        return Err(NoiseReason::Oversized);
    }
    Ok(Blocked::Url {
        domain: registrable_domain(&host),
        host,
        url,
        origin_only,
    })
}

/// The report a browser would send for the external script `src` that `page` loads (a
/// `<script src>` read from the page's own HTML, by a crawler rather than a browser): `src`
/// resolved against the page and normalized as reported URLs are. `None` for what intake drops
/// as noise (`data:`, `blob:`, extension schemes) and for unparsable or oversized URLs.
pub fn external_script(page: &str, src: &str, keep_query: bool) -> Option<Violation> {
    let resolved = url::Url::parse(page).ok()?.join(src.trim()).ok()?;
    if resolved.as_str().len() > DEFAULT_MAX_URL_BYTES {
        return None;
    }
    let blocked = url_blocked(resolved.as_str(), keep_query, false, DEFAULT_MAX_URL_BYTES).ok()?;
    Some(Violation {
        kind: ResourceKind::Script,
        document_url: page.to_string(),
        blocked,
        directive: "script-src-elem".into(),
        disposition: Disposition::Report,
        sample: None,
        source_file: None,
        hash: None,
    })
}

fn is_bare_origin(raw: &str) -> bool {
    match raw.split_once("://") {
        Some((_, rest)) => !rest.contains('/'),
        None => false,
    }
}

/// Removes query and fragment from an absolute URL unless asked to keep them.
pub fn strip_query_and_fragment(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_string()
}

fn clean_url(url: &str, keep_query: bool) -> String {
    if keep_query {
        url.to_string()
    } else {
        strip_query_and_fragment(url)
    }
}

fn first_token(directive: &str) -> String {
    directive
        .split_ascii_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((idx, _)) => s[..idx].to_string(),
        None => s.to_string(),
    }
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn external_scripts_resolve_against_their_page_and_drop_noise() {
        let page = "https://shop.example/checkout/pay";
        let v = external_script(page, "../static/app.js?v=3#x", false).unwrap();
        assert_eq!(v.resource_key(), "https://shop.example/static/app.js");
        assert_eq!((v.host(), v.domain()), ("shop.example", "shop.example"));
        assert_eq!(v.directive, "script-src-elem");
        let v = external_script(page, "//cdn.vendor.co.uk/lib.js?id=1", true).unwrap();
        assert_eq!(v.resource_key(), "https://cdn.vendor.co.uk/lib.js?id=1");
        assert_eq!(v.domain(), "vendor.co.uk");
        for noise in [
            "data:text/javascript,alert(1)",
            "blob:https://shop.example/1",
            "chrome-extension://abc/x.js",
        ] {
            assert!(external_script(page, noise, false).is_none(), "{noise}");
        }
        let long = format!("/{}", "a".repeat(DEFAULT_MAX_URL_BYTES));
        assert!(external_script(page, &long, false).is_none());
        assert!(external_script("not a url", "/x.js", false).is_none());
    }

    use super::*;

    #[test]
    fn query_and_fragment_are_stripped() {
        assert_eq!(
            strip_query_and_fragment("https://a.example/x.js?token=secret#frag"),
            "https://a.example/x.js"
        );
        assert_eq!(
            strip_query_and_fragment("https://a.example/#x"),
            "https://a.example/"
        );
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("ééé", 2), "éé");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }

    #[test]
    fn bare_origins_are_detected() {
        assert!(is_bare_origin("https://cdn.example"));
        assert!(!is_bare_origin("https://cdn.example/"));
        assert!(!is_bare_origin("https://cdn.example/a.js"));
    }
}
