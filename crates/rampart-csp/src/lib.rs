//! CSP violation reports in, normalized observations out — with no I/O.
//!
//! Browsers disagree on almost everything about CSP reports: the media type, the casing of keys,
//! whether the directive is `script-src` or `script-src-elem`, whether a cross-origin URL is sent
//! whole or cut to its origin, and how inline code is named. This crate turns every shape we know
//! into one [`Violation`] type, filters the noise that no site owner can act on (browser
//! extensions, `about:` and `data:` documents …) with a documented reason for each drop, and
//! builds the report-only header that makes browsers send the reports in the first place — and,
//! once the inventory is trusted, the enforceable policy it implies ([`build_policy`]) and a lint
//! for any policy ([`lint`]).
//!
//! The intake endpoint of the server is open to the whole Internet, so every function here treats
//! its input as hostile: sizes are bounded by [`Limits`], nothing panics on malformed input, and
//! errors are typed ([`ParseError`]) so the server can count each refusal by reason.
#![forbid(unsafe_code)]

mod domain;
mod header;
mod legacy;
mod lint;
mod noise;
mod normalize;
mod policy;
mod reporting_api;

pub use domain::{host_of, registrable_domain};
pub use header::{HeaderOptions, monitoring_headers};
pub use lint::{Finding, Severity, lint, parse_policy};
pub use noise::{NOISE_RULES, NoiseReason, NoiseRule};
pub use normalize::{
    Blocked, DEFAULT_MAX_REPORTS_PER_BATCH, DEFAULT_MAX_SAMPLE_CHARS, DEFAULT_MAX_URL_BYTES,
    Disposition, Limits, Outcome, ParseError, ResourceKind, SiteContext, Violation,
    external_script, parse_report, strip_query_and_fragment,
};
pub use policy::{Granularity, Policy, PolicyInput, Source, build_policy, is_hash_source};

/// The media types the intake accepts, as sent by browsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/csp-report` (legacy `report-uri`, all browsers).
    CspReport,
    /// `application/json` (legacy shape sent by some browsers and by tooling).
    Json,
    /// `application/reports+json` (Reporting API batches, `report-to`).
    ReportsJson,
}

impl MediaType {
    /// Parses a `Content-Type` header value, ignoring parameters such as `charset`.
    /// Returns `None` for every other type, which the intake answers with 415.
    pub fn from_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/csp-report") {
            Some(Self::CspReport)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Self::Json)
        } else if essence.eq_ignore_ascii_case("application/reports+json") {
            Some(Self::ReportsJson)
        } else {
            None
        }
    }
}
