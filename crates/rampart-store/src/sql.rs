//! The store on SQL: SQLite (one file in WAL mode, the embedded default) or PostgreSQL (several
//! nodes sharing state), through sqlx's `Any` driver so both run the same code. The SQL here is
//! written once in a portable form and put in the backend's dialect by [`Backend::sql`];
//! each backend has its own migrations (`migrations/sqlite`, `migrations/postgres`) for the
//! same tables.
//!
//! SQLite: `synchronous = NORMAL` under WAL makes every committed transaction survive a crash
//! of the process (`kill -9`); only a power loss can roll back the last commits. That is the
//! durability the intake promises ("accepted reports survive a crash after the flush
//! interval"). PostgreSQL commits are durable as configured on the server.
//!
//! Several nodes may write one PostgreSQL database at once: rows are written in a fixed order
//! (so two batches cannot deadlock), a resource row two nodes create at the same moment is
//! inserted by one and updated by the other, and rows being updated are locked first.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::model::*;
use crate::{Result, Store, StoreError};

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Puts this crate's portable SQL in the backend's dialect. The portable form uses `?`
    /// (or `?N`) placeholders and the two-argument scalar `GREATEST`/`LEAST`; PostgreSQL
    /// numbers its placeholders `$N`, SQLite spells the scalars `MAX`/`MIN`.
    pub(crate) fn sql(self, portable: &str) -> String {
        match self {
            Backend::Sqlite => portable
                .replace("GREATEST(", "MAX(")
                .replace("LEAST(", "MIN("),
            Backend::Postgres => {
                let mut out = String::with_capacity(portable.len() + 8);
                let mut next = 0;
                let mut chars = portable.chars().peekable();
                while let Some(c) = chars.next() {
                    if c != '?' {
                        out.push(c);
                        continue;
                    }
                    out.push('$');
                    if chars.peek().is_some_and(char::is_ascii_digit) {
                        while let Some(d) = chars.next_if(char::is_ascii_digit) {
                            out.push(d);
                        }
                    } else {
                        next += 1;
                        out.push_str(&next.to_string());
                    }
                }
                out
            }
        }
    }

    /// `FOR UPDATE` where the backend has row locks (SQLite locks the whole file on write).
    fn lock_rows(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// A [`Store`] on SQLite or PostgreSQL.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Opens and migrates the database at `url`: `sqlite://PATH` (created if missing),
    /// `sqlite::memory:`, or `postgres://user@host/db`.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            Self::open_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Ok(Self {
                pool,
                backend: Backend::Postgres,
            })
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }

    async fn open_sqlite(url: &str) -> Result<Self> {
        let memory = url.contains(":memory:");
        // `mode=rwc` creates the file; the rest is set on each connection as it opens.
        let url = if memory || url.contains("mode=") {
            url.to_string()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        let journal = if memory { "MEMORY" } else { "WAL" };
        // One in-memory database exists per connection, so it gets exactly one.
        let pool = AnyPoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(
                        format!(
                            "PRAGMA journal_mode = {journal}; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool,
            backend: Backend::Sqlite,
        })
    }

    /// Which database this store is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn sql(&self, portable: &str) -> String {
        self.backend.sql(portable)
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first and then writes cannot wait for
    /// another writer — SQLite fails it with "database is locked" instead of applying
    /// `busy_timeout` — so concurrent batches (two pools on one file, or the fetcher and the
    /// inventory writer at the same moment) would fail and be retried.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

impl SqlStore {
    /// The newest `limit` rows of a per-script log (`select` names the columns and the table,
    /// which has `site`, `url` and an increasing `id`).
    async fn newest_of_script(
        &self,
        select: &str,
        site: &str,
        url: &str,
        limit: i64,
    ) -> Result<Vec<AnyRow>> {
        Ok(sqlx::query(&self.sql(&format!(
            "{select} WHERE site = ? AND url = ? ORDER BY id DESC LIMIT ?"
        )))
        .bind(site)
        .bind(url)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Appends to a script's authorization trail, inside the caller's transaction.
    async fn authorization_event(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        site: &str,
        url: &str,
        e: &AuthorizationEvent,
    ) -> Result<()> {
        sqlx::query(&self.sql(
            "INSERT INTO authorization_events (site, url, action, actor, at, structural_hash, sha256) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(site)
        .bind(url)
        .bind(&e.action)
        .bind(&e.by)
        .bind(e.at)
        .bind(e.structural_hash.as_deref())
        .bind(e.sha256.as_deref())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

fn merge_pages(newer: &[String], older: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(MAX_PAGES);
    for p in newer.iter().chain(older) {
        if out.len() == MAX_PAGES {
            break;
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

fn pages_from_json(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("pages: {e}")))
}

fn pages_to_json(pages: &[String]) -> String {
    serde_json::to_string(pages).unwrap_or_else(|_| "[]".to_string())
}

fn alert_from_row(row: &AnyRow) -> Result<AlertRow> {
    let details: String = row.try_get("details")?;
    Ok(AlertRow {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        site: row.try_get("site")?,
        subject: row.try_get("subject")?,
        severity: row.try_get("severity")?,
        created_at: row.try_get("created_at")?,
        details: serde_json::from_str(&details)
            .map_err(|e| StoreError::Corrupt(format!("alert details: {e}")))?,
    })
}

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn ensure_site(&self, site: &str, now: i64) -> Result<i64> {
        sqlx::query(&self.sql(
            "INSERT INTO sites (id, first_report_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        ))
        .bind(site)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let first: i64 =
            sqlx::query_scalar(&self.sql("SELECT first_report_at FROM sites WHERE id = ?"))
                .bind(site)
                .fetch_one(&self.pool)
                .await?;
        Ok(first)
    }

    async fn apply_batch(&self, deltas: &[ResourceDelta]) -> Result<BatchOutcome> {
        let mut tx = self.begin_write().await?;
        let mut outcome = BatchOutcome::default();
        // Rows are written in key order, so two nodes' batches lock them in the same order.
        let mut ordered: Vec<&ResourceDelta> = deltas.iter().collect();
        ordered.sort_by(|a, b| (&a.site, &a.kind, &a.url).cmp(&(&b.site, &b.kind, &b.url)));
        // Domains are aggregated first so each gets one upsert per batch.
        let mut domains: BTreeMap<(&str, &str, &str), (i64, i64, i64)> = BTreeMap::new();
        let select = self.sql(&format!(
            "SELECT reports, first_seen, first_page, pages FROM resources \
             WHERE site = ? AND kind = ? AND url = ?{}",
            self.backend.lock_rows()
        ));
        for d in ordered {
            let mut existing = sqlx::query(&select)
                .bind(&d.site)
                .bind(&d.kind)
                .bind(&d.url)
                .fetch_optional(&mut *tx)
                .await?;
            if existing.is_none() {
                let inserted = sqlx::query(&self.sql(
                    "INSERT INTO resources (site, kind, url, host, domain, first_seen, last_seen, \
                     reports, first_page, pages, sample, hash) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (site, kind, url) DO NOTHING RETURNING id",
                ))
                .bind(&d.site)
                .bind(&d.kind)
                .bind(&d.url)
                .bind(&d.host)
                .bind(&d.domain)
                .bind(d.first_seen)
                .bind(d.last_seen)
                .bind(d.reports)
                .bind(&d.first_page)
                .bind(pages_to_json(&merge_pages(&d.pages, &[])))
                .bind(&d.sample)
                .bind(&d.hash)
                .fetch_optional(&mut *tx)
                .await?;
                if inserted.is_some() {
                    outcome.resources.push(ResourceState {
                        site: d.site.clone(),
                        kind: d.kind.clone(),
                        url: d.url.clone(),
                        domain: d.domain.clone(),
                        first_seen: d.first_seen,
                        reports_before: 0,
                        reports: d.reports,
                        first_page: d.first_page.clone(),
                    });
                } else {
                    // Another node created the row since the SELECT: update it instead.
                    existing = sqlx::query(&select)
                        .bind(&d.site)
                        .bind(&d.kind)
                        .bind(&d.url)
                        .fetch_optional(&mut *tx)
                        .await?;
                }
            }
            if let Some(row) = existing {
                let before: i64 = row.try_get("reports")?;
                let first_seen: i64 = row.try_get("first_seen")?;
                let first_page: String = row.try_get("first_page")?;
                let old_pages = pages_from_json(row.try_get("pages")?)?;
                let pages = merge_pages(&d.pages, &old_pages);
                sqlx::query(&self.sql(
                    "UPDATE resources SET last_seen = GREATEST(last_seen, ?), reports = reports + ?, \
                     pages = ?, sample = COALESCE(?, sample), hash = COALESCE(?, hash), \
                     first_seen = LEAST(first_seen, ?) \
                     WHERE site = ? AND kind = ? AND url = ?",
                ))
                .bind(d.last_seen)
                .bind(d.reports)
                .bind(pages_to_json(&pages))
                .bind(&d.sample)
                .bind(&d.hash)
                .bind(d.first_seen)
                .bind(&d.site)
                .bind(&d.kind)
                .bind(&d.url)
                .execute(&mut *tx)
                .await?;
                outcome.resources.push(ResourceState {
                    site: d.site.clone(),
                    kind: d.kind.clone(),
                    url: d.url.clone(),
                    domain: d.domain.clone(),
                    first_seen: first_seen.min(d.first_seen),
                    reports_before: before,
                    reports: before + d.reports,
                    first_page,
                });
            }
            if !d.domain.is_empty() {
                let e = domains.entry((&d.site, &d.kind, &d.domain)).or_insert((
                    d.first_seen,
                    d.last_seen,
                    0,
                ));
                e.0 = e.0.min(d.first_seen);
                e.1 = e.1.max(d.last_seen);
                e.2 += d.reports;
            }
        }
        // In key order (a BTreeMap): the outcome lists domains sorted, as promised.
        for ((site, kind, domain), (first, last, reports)) in domains {
            let row = sqlx::query(&self.sql(
                "INSERT INTO domains (site, kind, domain, first_seen, last_seen, reports) \
                 VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (site, kind, domain) DO UPDATE SET \
                 first_seen = LEAST(domains.first_seen, excluded.first_seen), \
                 last_seen = GREATEST(domains.last_seen, excluded.last_seen), \
                 reports = domains.reports + excluded.reports \
                 RETURNING first_seen, reports",
            ))
            .bind(site)
            .bind(kind)
            .bind(domain)
            .bind(first)
            .bind(last)
            .bind(reports)
            .fetch_one(&mut *tx)
            .await?;
            let total: i64 = row.try_get("reports")?;
            outcome.domains.push(DomainState {
                site: site.to_string(),
                kind: kind.to_string(),
                domain: domain.to_string(),
                first_seen: row.try_get("first_seen")?,
                reports_before: total - reports,
                reports: total,
            });
        }
        // Reports per site and UTC day, for the reports-per-day chart.
        const DAY_MS: i64 = 86_400_000;
        let mut days: BTreeMap<(&str, i64), i64> = BTreeMap::new();
        for d in deltas {
            *days
                .entry((&d.site, d.last_seen.div_euclid(DAY_MS)))
                .or_default() += d.reports;
        }
        for ((site, day), reports) in days {
            let day = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(day * DAY_MS)
                .unwrap_or_default()
                .format("%Y-%m-%d")
                .to_string();
            sqlx::query(&self.sql(
                "INSERT INTO daily_reports (site, day, reports) VALUES (?, ?, ?) \
                 ON CONFLICT (site, day) DO UPDATE SET \
                 reports = daily_reports.reports + excluded.reports",
            ))
            .bind(site)
            .bind(day)
            .bind(reports)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn list_resources(&self, site: &str, kind: &str) -> Result<Vec<ResourceRow>> {
        let rows = sqlx::query(&self.sql(
            "SELECT site, kind, url, host, domain, first_seen, last_seen, reports, first_page, \
             pages, sample, hash FROM resources WHERE site = ? AND kind = ? \
             ORDER BY last_seen DESC, url",
        ))
        .bind(site)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ResourceRow {
                    site: row.try_get("site")?,
                    kind: row.try_get("kind")?,
                    url: row.try_get("url")?,
                    host: row.try_get("host")?,
                    domain: row.try_get("domain")?,
                    first_seen: row.try_get("first_seen")?,
                    last_seen: row.try_get("last_seen")?,
                    reports: row.try_get("reports")?,
                    first_page: row.try_get("first_page")?,
                    pages: pages_from_json(row.try_get("pages")?)?,
                    sample: row.try_get("sample")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    async fn insert_alert(&self, alert: &NewAlert) -> Result<Option<AlertRow>> {
        let row = sqlx::query(&self.sql(
            "INSERT INTO alerts (kind, site, subject, dedup, severity, created_at, details) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, kind, subject, dedup) DO NOTHING \
             RETURNING id, kind, site, subject, severity, created_at, details",
        ))
        .bind(&alert.kind)
        .bind(&alert.site)
        .bind(&alert.subject)
        .bind(&alert.dedup)
        .bind(&alert.severity)
        .bind(alert.created_at)
        .bind(alert.details.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRow>> {
        let mut sql = String::from(
            "SELECT id, kind, site, subject, severity, created_at, details FROM alerts WHERE TRUE",
        );
        if filter.site.is_some() {
            sql.push_str(" AND site = ?");
        }
        if filter.kind.is_some() {
            sql.push_str(" AND kind = ?");
        }
        if filter.before_id.is_some() {
            // Keyset paging in the listing's own order (an alert listed once is never repeated
            // or skipped when newer ones arrive in between).
            sql.push_str(
                " AND (created_at, id) < (SELECT created_at, id FROM alerts WHERE id = ?)",
            );
        }
        sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ?");
        let sql = self.sql(&sql);
        let mut query = sqlx::query(&sql);
        if let Some(site) = &filter.site {
            query = query.bind(site);
        }
        if let Some(kind) = &filter.kind {
            query = query.bind(kind);
        }
        if let Some(before) = filter.before_id {
            query = query.bind(before);
        }
        let rows = query
            .bind(filter.limit.unwrap_or(1000))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn record_delivery(&self, d: &DeliveryRow) -> Result<()> {
        sqlx::query(&self.sql(
            "INSERT INTO deliveries (alert_id, channel, attempt, outcome, status_code, error, at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(d.alert_id)
        .bind(&d.channel)
        .bind(d.attempt)
        .bind(&d.outcome)
        .bind(d.status_code)
        .bind(&d.error)
        .bind(d.at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_version(&self, version: &NewVersion, keep: usize) -> Result<VersionRow> {
        self.insert_version_impl(version, keep).await
    }

    async fn list_versions(&self, site: &str, url: &str) -> Result<Vec<VersionRow>> {
        let rows = sqlx::query(&self.sql(&format!(
            "SELECT {VERSION_COLUMNS} FROM script_versions WHERE site = ? AND url = ? ORDER BY id DESC"
        )))
        .bind(site)
        .bind(url)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    async fn latest_versions(&self, site: &str) -> Result<Vec<(VersionRow, i64)>> {
        let rows = sqlx::query(&self.sql(&format!(
            "SELECT {VERSION_COLUMNS}, (SELECT COUNT(*) FROM script_versions c WHERE c.site = v.site AND c.url = v.url) AS n \
             FROM script_versions v WHERE site = ? AND id = \
             (SELECT MAX(id) FROM script_versions m WHERE m.site = v.site AND m.url = v.url)"
        )))
        .bind(site)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((version_from_row(r)?, r.try_get("n")?)))
            .collect()
    }

    async fn domain_elsewhere(
        &self,
        domain: &str,
        except: &str,
    ) -> Result<(Vec<String>, Option<i64>)> {
        let rows = sqlx::query(&self.sql(
            "SELECT site, MIN(first_seen) AS first FROM domains WHERE domain = ? AND site != ? GROUP BY site ORDER BY site"),
        )
        .bind(domain)
        .bind(except)
        .fetch_all(&self.pool)
        .await?;
        let mut sites = Vec::new();
        let mut first: Option<i64> = None;
        for r in &rows {
            sites.push(r.try_get::<String, _>("site")?);
            let f: i64 = r.try_get("first")?;
            first = Some(first.map_or(f, |x| x.min(f)));
        }
        Ok((sites, first))
    }

    async fn set_justification(&self, site: &str, url: &str, text: &str, at: i64) -> Result<()> {
        if text.trim().is_empty() {
            sqlx::query(&self.sql("DELETE FROM script_justifications WHERE site = ? AND url = ?"))
                .bind(site)
                .bind(url)
                .execute(&self.pool)
                .await?;
        } else {
            sqlx::query(&self.sql(
                "INSERT INTO script_justifications (site, url, justification, updated_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (site, url) DO UPDATE SET justification = excluded.justification, updated_at = excluded.updated_at"),
            )
            .bind(site)
            .bind(url)
            .bind(text)
            .bind(at)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn justifications(
        &self,
        site: &str,
    ) -> Result<std::collections::HashMap<String, (String, i64)>> {
        let rows = sqlx::query(&self.sql(
            "SELECT url, justification, updated_at FROM script_justifications WHERE site = ?",
        ))
        .bind(site)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("url")?,
                    (r.try_get("justification")?, r.try_get("updated_at")?),
                ))
            })
            .collect()
    }

    async fn set_authorization(&self, site: &str, a: &Authorization) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&self.sql(
            "INSERT INTO script_authorizations (site, url, authorized_by, authorized_at, structural_hash, sha256) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site, url) DO UPDATE SET \
             authorized_by = excluded.authorized_by, authorized_at = excluded.authorized_at, \
             structural_hash = excluded.structural_hash, sha256 = excluded.sha256",
        ))
        .bind(site)
        .bind(&a.url)
        .bind(&a.by)
        .bind(a.at)
        .bind(a.structural_hash.as_deref())
        .bind(a.sha256.as_deref())
        .execute(&mut *tx)
        .await?;
        let event = AuthorizationEvent {
            action: "authorized".into(),
            by: a.by.clone(),
            at: a.at,
            structural_hash: a.structural_hash.clone(),
            sha256: a.sha256.clone(),
        };
        self.authorization_event(&mut tx, site, &a.url, &event)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_authorization(&self, site: &str, url: &str, by: &str, at: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query(&self.sql("DELETE FROM script_authorizations WHERE site = ? AND url = ?"))
                .bind(site)
                .bind(url)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let event = AuthorizationEvent {
            action: "revoked".into(),
            by: by.into(),
            at,
            structural_hash: None,
            sha256: None,
        };
        self.authorization_event(&mut tx, site, url, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn authorization_history(
        &self,
        site: &str,
        url: &str,
        limit: i64,
    ) -> Result<Vec<AuthorizationEvent>> {
        let rows = self
            .newest_of_script(
                "SELECT action, actor, at, structural_hash, sha256 FROM authorization_events",
                site,
                url,
                limit,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuthorizationEvent {
                    action: r.try_get("action")?,
                    by: r.try_get("actor")?,
                    at: r.try_get("at")?,
                    structural_hash: r.try_get("structural_hash")?,
                    sha256: r.try_get("sha256")?,
                })
            })
            .collect()
    }

    async fn authorizations(
        &self,
        site: &str,
    ) -> Result<std::collections::HashMap<String, Authorization>> {
        let rows = sqlx::query(&self.sql(
            "SELECT url, authorized_by, authorized_at, structural_hash, sha256 \
             FROM script_authorizations WHERE site = ?",
        ))
        .bind(site)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let url: String = r.try_get("url")?;
                Ok((
                    url.clone(),
                    Authorization {
                        url,
                        by: r.try_get("authorized_by")?,
                        at: r.try_get("authorized_at")?,
                        structural_hash: r.try_get("structural_hash")?,
                        sha256: r.try_get("sha256")?,
                    },
                ))
            })
            .collect()
    }

    async fn page_scripts(&self, site: &str, page: &str) -> Result<Option<serde_json::Value>> {
        let row =
            sqlx::query(&self.sql("SELECT scripts FROM page_scripts WHERE site = ? AND page = ?"))
                .bind(site)
                .bind(page)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            let text: String = r.try_get("scripts")?;
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("page scripts: {e}")))
        })
        .transpose()
    }

    async fn set_page_scripts(
        &self,
        site: &str,
        page: &str,
        scripts: &serde_json::Value,
        at: i64,
    ) -> Result<()> {
        sqlx::query(&self.sql(
            "INSERT INTO page_scripts (site, page, scripts, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (site, page) DO UPDATE SET scripts = excluded.scripts, \
             updated_at = excluded.updated_at",
        ))
        .bind(site)
        .bind(page)
        .bind(scripts.to_string())
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn update_version_analysis(&self, id: i64, analysis: &serde_json::Value) -> Result<()> {
        sqlx::query(&self.sql("UPDATE script_versions SET analysis = ? WHERE id = ?"))
            .bind(analysis.to_string())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn version_body(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar(&self.sql("SELECT body FROM script_blobs WHERE sha256 = ?"))
                .bind(sha256)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn record_fetch(&self, f: &FetchRow) -> Result<()> {
        sqlx::query(&self.sql(
            "INSERT INTO script_fetches (site, url, at, outcome, status_code, error, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        )
        .bind(&f.site)
        .bind(&f.url)
        .bind(f.at)
        .bind(&f.outcome)
        .bind(f.status_code)
        .bind(&f.error)
        .bind(&f.sha256)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_fetches(&self, site: &str, url: &str, limit: i64) -> Result<Vec<FetchRow>> {
        let rows = self
            .newest_of_script(
                "SELECT site, url, at, outcome, status_code, error, sha256 FROM script_fetches",
                site,
                url,
                limit,
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(FetchRow {
                    site: row.try_get("site")?,
                    url: row.try_get("url")?,
                    at: row.try_get("at")?,
                    outcome: row.try_get("outcome")?,
                    status_code: row.try_get("status_code")?,
                    error: row.try_get("error")?,
                    sha256: row.try_get("sha256")?,
                })
            })
            .collect()
    }

    async fn header_baselines(
        &self,
        site: &str,
        limit: i64,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        let rows = sqlx::query(&self.sql(
            "SELECT page, headers FROM header_baselines WHERE site = ? \
             ORDER BY updated_at DESC, page LIMIT ?",
        ))
        .bind(site)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let headers: String = r.try_get("headers")?;
                Ok((
                    r.try_get("page")?,
                    serde_json::from_str(&headers)
                        .map_err(|e| StoreError::Corrupt(format!("header baseline: {e}")))?,
                ))
            })
            .collect()
    }

    async fn delete_header_baselines(&self, site: &str, pages: &[String]) -> Result<()> {
        // In chunks: one statement per page would be thousands of round trips, one statement
        // for all could pass the backends' limits on bound parameters.
        for chunk in pages.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = self.sql(&format!(
                "DELETE FROM header_baselines WHERE site = ? AND page IN ({marks})"
            ));
            let mut query = sqlx::query(&sql).bind(site);
            for page in chunk {
                query = query.bind(page);
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn set_header_baseline(
        &self,
        site: &str,
        page: &str,
        headers: &serde_json::Value,
        at: i64,
    ) -> Result<()> {
        sqlx::query(&self.sql(
            "INSERT INTO header_baselines (site, page, headers, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (site, page) DO UPDATE SET headers = excluded.headers, \
             updated_at = excluded.updated_at \
             WHERE excluded.updated_at >= header_baselines.updated_at",
        ))
        .bind(site)
        .bind(page)
        .bind(headers.to_string())
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn daily_reports(
        &self,
        site: Option<&str>,
        from_day: &str,
    ) -> Result<Vec<(String, i64)>> {
        let sql = if site.is_some() {
            "SELECT day, CAST(SUM(reports) AS BIGINT) AS n FROM daily_reports WHERE day >= ? AND site = ? \
             GROUP BY day ORDER BY day"
        } else {
            "SELECT day, CAST(SUM(reports) AS BIGINT) AS n FROM daily_reports WHERE day >= ? \
             GROUP BY day ORDER BY day"
        };
        let sql = self.sql(sql);
        let mut query = sqlx::query(&sql).bind(from_day);
        if let Some(site) = site {
            query = query.bind(site);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("day")?, r.try_get("n")?)))
            .collect()
    }

    async fn create_session(&self, id_sha256: &str, expires_at: i64, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(&self.sql("DELETE FROM dashboard_sessions WHERE expires_at <= ?"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            &self.sql("INSERT INTO dashboard_sessions (id_sha256, expires_at) VALUES (?, ?)"),
        )
        .bind(id_sha256)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session_expiry(&self, id_sha256: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            &self.sql("SELECT expires_at FROM dashboard_sessions WHERE id_sha256 = ?"),
        )
        .bind(id_sha256)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_session(&self, id_sha256: &str) -> Result<()> {
        sqlx::query(&self.sql("DELETE FROM dashboard_sessions WHERE id_sha256 = ?"))
            .bind(id_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_deliveries(&self, alert_id: i64) -> Result<Vec<DeliveryRow>> {
        let rows = sqlx::query(&self.sql(
            "SELECT alert_id, channel, attempt, outcome, status_code, error, at FROM deliveries \
             WHERE alert_id = ? ORDER BY id",
        ))
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryRow {
                    alert_id: row.try_get("alert_id")?,
                    channel: row.try_get("channel")?,
                    attempt: row.try_get("attempt")?,
                    outcome: row.try_get("outcome")?,
                    status_code: row.try_get("status_code")?,
                    error: row.try_get("error")?,
                    at: row.try_get("at")?,
                })
            })
            .collect()
    }
}

fn version_from_row(row: &AnyRow) -> Result<VersionRow> {
    let analysis: String = row.try_get("analysis")?;
    Ok(VersionRow {
        id: row.try_get("id")?,
        site: row.try_get("site")?,
        url: row.try_get("url")?,
        sha256: row.try_get("sha256")?,
        structural_hash: row.try_get("structural_hash")?,
        bytes: row.try_get("bytes")?,
        fetched_at: row.try_get("fetched_at")?,
        analysis: serde_json::from_str(&analysis)
            .map_err(|e| StoreError::Corrupt(format!("version analysis: {e}")))?,
    })
}

const VERSION_COLUMNS: &str = "id, site, url, sha256, structural_hash, bytes, fetched_at, analysis";

impl SqlStore {
    pub(crate) async fn insert_version_impl(
        &self,
        v: &NewVersion,
        keep: usize,
    ) -> Result<VersionRow> {
        let mut tx = self.begin_write().await?;
        // Two nodes may fetch the same new version at once. Versions of one script are written
        // one transaction at a time (SQLite: the write lock; PostgreSQL: a lock on the script),
        // and a version that is already the newest is not stored twice.
        if self.backend == Backend::Postgres {
            sqlx::query(
                "SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS l",
            )
            .bind(format!("{}\n{}", v.site, v.url))
            .execute(&mut *tx)
            .await?;
        }
        let newest = sqlx::query(&self.sql(&format!(
            "SELECT {VERSION_COLUMNS} FROM script_versions WHERE site = ? AND url = ? \
             ORDER BY id DESC LIMIT 1"
        )))
        .bind(&v.site)
        .bind(&v.url)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = newest
            && row.try_get::<String, _>("sha256")? == v.sha256
        {
            tx.commit().await?;
            return version_from_row(&row);
        }
        sqlx::query(&self.sql(
            "INSERT INTO script_blobs (sha256, body) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING",
        ))
        .bind(&v.sha256)
        .bind(&v.body)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&self.sql(&format!(
            "INSERT INTO script_versions (site, url, sha256, structural_hash, bytes, fetched_at, analysis) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {VERSION_COLUMNS}"
        )))
        .bind(&v.site)
        .bind(&v.url)
        .bind(&v.sha256)
        .bind(&v.structural_hash)
        .bind(v.body.len() as i64)
        .bind(v.fetched_at)
        .bind(v.analysis.to_string())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(&self.sql(
            "DELETE FROM script_versions WHERE site = ?1 AND url = ?2 AND id NOT IN \
             (SELECT id FROM script_versions WHERE site = ?1 AND url = ?2 ORDER BY id DESC LIMIT ?3)"),
        )
        .bind(&v.site)
        .bind(&v.url)
        .bind(keep.max(1) as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.sql(
            "DELETE FROM script_blobs WHERE sha256 NOT IN (SELECT sha256 FROM script_versions)",
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        version_from_row(&row)
    }
}

#[cfg(test)]
mod tests {
    use super::merge_pages;

    #[test]
    fn pages_keep_the_newest_distinct_ten() {
        let newer: Vec<String> = (0..3).map(|i| format!("/n{i}")).collect();
        let older: Vec<String> = (0..10)
            .map(|i| format!("/o{i}"))
            .chain(["/n1".to_string()])
            .collect();
        let merged = merge_pages(&newer, &older);
        assert_eq!(merged.len(), 10);
        assert_eq!(&merged[..4], &["/n0", "/n1", "/n2", "/o0"]);
    }
}
