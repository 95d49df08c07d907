//! Rampart's store: one trait, [`Store`], and its backends.
//!
//! Callers hold an `Arc<dyn Store>` from [`open`] and never see SQL; SQLite and PostgreSQL are
//! one implementation ([`SqlStore`]), chosen by the database URL. The store keeps data and enforces uniqueness (one resource per
//! `(site, kind, url)`, one alert per `(site, kind, subject)`); it holds no business rules —
//! thresholds, learning periods and severities live in the server.
//!
//! Times are Unix milliseconds, UTC, everywhere in this crate.
#![forbid(unsafe_code)]

mod model;
mod sql;

use std::sync::Arc;

pub use model::{
    AlertFilter, AlertRow, Authorization, AuthorizationEvent, BatchOutcome, DeliveryRow,
    DomainState, FetchRow, MAX_PAGES, NewAlert, NewVersion, ResourceDelta, ResourceRow,
    ResourceState, VersionRow,
};
pub use sql::{Backend, SqlStore};

/// A store failure. Backends map their driver errors here so callers stay backend-agnostic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the server persists. Implementations must be safe to share between tasks.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Records that `site` has reported, returning when it first did (starts its learning period).
    async fn ensure_site(&self, site: &str, now: i64) -> Result<i64>;

    /// Applies aggregated report deltas atomically: all of the batch is stored, or none.
    async fn apply_batch(&self, deltas: &[ResourceDelta]) -> Result<BatchOutcome>;

    /// The inventory of one kind (`script` or `connection`) for a site, most recently seen first.
    async fn list_resources(&self, site: &str, kind: &str) -> Result<Vec<ResourceRow>>;

    /// Inserts an alert unless one for the same `(site, kind, subject)` exists (then `None`).
    async fn insert_alert(&self, alert: &NewAlert) -> Result<Option<AlertRow>>;

    /// Alerts, newest first.
    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRow>>;

    /// Records one delivery attempt of one alert to one channel.
    async fn record_delivery(&self, delivery: &DeliveryRow) -> Result<()>;

    /// Delivery attempts of an alert, oldest first.
    async fn list_deliveries(&self, alert_id: i64) -> Result<Vec<DeliveryRow>>;

    /// Stores a fetched version (body content-addressed) and keeps only the newest `keep`
    /// versions of that script, dropping bodies no version references any more.
    async fn insert_version(&self, version: &NewVersion, keep: usize) -> Result<VersionRow>;

    /// Versions of a script, newest first.
    async fn list_versions(&self, site: &str, url: &str) -> Result<Vec<VersionRow>>;

    /// The newest version of every fetched script of a site.
    async fn latest_versions(&self, site: &str) -> Result<Vec<(VersionRow, i64)>>;

    /// Where else this deployment has seen a registrable domain: the sites (other than
    /// `except`) and the earliest first sight among them.
    async fn domain_elsewhere(
        &self,
        domain: &str,
        except: &str,
    ) -> Result<(Vec<String>, Option<i64>)>;

    /// Sets (or, with empty text, clears) the justification of a script (PCI DSS 6.4.3).
    async fn set_justification(&self, site: &str, url: &str, text: &str, at: i64) -> Result<()>;

    /// Justifications of a site's scripts: URL → (text, updated at).
    async fn justifications(
        &self,
        site: &str,
    ) -> Result<std::collections::HashMap<String, (String, i64)>>;

    /// Records (or replaces) who authorized a script, and the version they looked at; the
    /// trail keeps every authorization.
    async fn set_authorization(&self, site: &str, authorization: &Authorization) -> Result<()>;

    /// Withdraws a script's authorization in the name of `by`; false when it had none (and
    /// nothing goes to the trail).
    async fn revoke_authorization(&self, site: &str, url: &str, by: &str, at: i64) -> Result<bool>;

    /// A script's authorizations and revocations, newest first, at most `limit`.
    async fn authorization_history(
        &self,
        site: &str,
        url: &str,
        limit: i64,
    ) -> Result<Vec<AuthorizationEvent>>;

    /// Authorizations of a site's scripts, by URL.
    async fn authorizations(
        &self,
        site: &str,
    ) -> Result<std::collections::HashMap<String, Authorization>>;

    /// The scripts a watched page carried when last fetched (a JSON object), if it was.
    async fn page_scripts(&self, site: &str, page: &str) -> Result<Option<serde_json::Value>>;

    /// Records the scripts a watched page carries now.
    async fn set_page_scripts(
        &self,
        site: &str,
        page: &str,
        scripts: &serde_json::Value,
        at: i64,
    ) -> Result<()>;

    /// Replaces a stored version's analysis (rescoring with a new model).
    async fn update_version_analysis(&self, id: i64, analysis: &serde_json::Value) -> Result<()>;

    /// A stored body by its SHA-256.
    async fn version_body(&self, sha256: &str) -> Result<Option<Vec<u8>>>;

    /// Records one fetch attempt.
    async fn record_fetch(&self, fetch: &FetchRow) -> Result<()>;

    /// Fetch attempts of a script, newest first.
    async fn list_fetches(&self, site: &str, url: &str, limit: i64) -> Result<Vec<FetchRow>>;

    /// The security headers (a JSON object) each page of a site was last served with, at most
    /// `limit` pages, most recently updated first.
    async fn header_baselines(
        &self,
        site: &str,
        limit: i64,
    ) -> Result<Vec<(String, serde_json::Value)>>;

    /// Reports accepted per UTC day (`YYYY-MM-DD`, oldest first) from `from_day` on, for one
    /// site or (`None`) all of them together. `apply_batch` counts them.
    async fn daily_reports(&self, site: Option<&str>, from_day: &str)
    -> Result<Vec<(String, i64)>>;

    /// Starts a dashboard session (by the SHA-256 of its id), and forgets expired ones.
    async fn create_session(&self, id_sha256: &str, expires_at: i64, now: i64) -> Result<()>;

    /// When a dashboard session expires, if it exists.
    async fn session_expiry(&self, id_sha256: &str) -> Result<Option<i64>>;

    /// Ends a dashboard session.
    async fn delete_session(&self, id_sha256: &str) -> Result<()>;

    /// Forgets the baselines of these pages (a proxy that evicted them from memory).
    async fn delete_header_baselines(&self, site: &str, pages: &[String]) -> Result<()>;

    /// Records the security headers a page was served with at `at`. Writes may land out of
    /// order (each is spawned as its response passes): one older than the stored baseline is
    /// ignored, so the store keeps the latest observation.
    async fn set_header_baseline(
        &self,
        site: &str,
        page: &str,
        headers: &serde_json::Value,
        at: i64,
    ) -> Result<()>;
}

/// Opens the store named by a database URL (`sqlite://rampart.db`, `sqlite::memory:`,
/// `postgres://user@host/db`), creating or migrating its tables.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::open(url).await?))
}
