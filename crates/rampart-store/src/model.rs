//! Plain data crossing the [`Store`](crate::Store) boundary.

use serde::Serialize;

/// Most recent distinct pages kept per resource.
pub const MAX_PAGES: usize = 10;

/// What one flush learned about one resource: counts and pages since the last flush.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDelta {
    pub site: String,
    /// `script` or `connection`.
    pub kind: String,
    pub url: String,
    pub host: String,
    pub domain: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub reports: i64,
    /// The page of the earliest report in this delta.
    pub first_page: String,
    /// Distinct pages, newest first, at most [`MAX_PAGES`].
    pub pages: Vec<String>,
    pub sample: Option<String>,
    pub hash: Option<String>,
}

/// A resource after a batch was applied, with its count before, so that callers can see
/// threshold crossings without a second query.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceState {
    pub site: String,
    pub kind: String,
    pub url: String,
    pub domain: String,
    pub first_seen: i64,
    pub reports_before: i64,
    pub reports: i64,
    pub first_page: String,
}

/// A registrable domain after a batch was applied.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainState {
    pub site: String,
    pub kind: String,
    pub domain: String,
    pub first_seen: i64,
    pub reports_before: i64,
    pub reports: i64,
}

/// The result of [`Store::apply_batch`](crate::Store::apply_batch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    pub resources: Vec<ResourceState>,
    pub domains: Vec<DomainState>,
}

/// A stored resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRow {
    pub site: String,
    pub kind: String,
    pub url: String,
    pub host: String,
    pub domain: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub reports: i64,
    pub first_page: String,
    pub pages: Vec<String>,
    pub sample: Option<String>,
    pub hash: Option<String>,
}

/// An alert to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub kind: String,
    pub site: String,
    pub subject: String,
    /// Joins `(site, kind, subject)` in the dedup key: empty for "once per subject", or e.g. the
    /// new structural hash for `script_changed`, so each distinct change alerts once.
    pub dedup: String,
    pub severity: String,
    pub created_at: i64,
    pub details: serde_json::Value,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub site: String,
    pub subject: String,
    pub severity: String,
    pub created_at: i64,
    pub details: serde_json::Value,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub site: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<i64>,
    /// Only alerts listed after this one (newest first): the next page of a listing.
    pub before_id: Option<i64>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRow {
    pub alert_id: i64,
    pub channel: String,
    pub attempt: i64,
    /// `delivered`, `failed`, `rate_limited` or `gave_up`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub at: i64,
}

/// A fetched script version to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub site: String,
    pub url: String,
    pub sha256: String,
    pub structural_hash: String,
    pub fetched_at: i64,
    /// JSON with capabilities, domains and parse errors.
    pub analysis: serde_json::Value,
    pub body: Vec<u8>,
}

/// A stored script version (without its body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionRow {
    pub id: i64,
    pub site: String,
    pub url: String,
    pub sha256: String,
    pub structural_hash: String,
    pub bytes: i64,
    pub fetched_at: i64,
    pub analysis: serde_json::Value,
}

/// Who authorized a script and which version they looked at (PCI DSS 4.0 6.4.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Authorization {
    pub url: String,
    pub by: String,
    pub at: i64,
    /// The structure of the version authorized; `None` when none had been fetched (the script
    /// is then authorized by its URL alone).
    pub structural_hash: Option<String>,
    pub sha256: Option<String>,
}

/// One entry of a script's authorization trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorizationEvent {
    /// `authorized` or `revoked`.
    pub action: String,
    /// Who did it.
    pub by: String,
    pub at: i64,
    /// The version authorized (`authorized` only, when one had been fetched).
    pub structural_hash: Option<String>,
    pub sha256: Option<String>,
}

/// One fetch attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetchRow {
    pub site: String,
    pub url: String,
    pub at: i64,
    /// `new_version`, `unchanged`, `error` or `refused` (SSRF guard).
    pub outcome: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub sha256: Option<String>,
}
