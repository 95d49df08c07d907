//! The dashboard's pages. Every value shown is interpolated through maud (escaped); URLs taken
//! from reports are shown as text and only appear in our own links percent-encoded.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use rampart_store::{AlertFilter, AlertRow, ResourceRow, VersionRow};
use serde::Deserialize;
use serde_json::Value;

use super::{page, to_login, viewer};
use crate::app::AppState;
use crate::authorization::Tally;
use crate::config::SiteConfig;
use crate::filter::{ResourceFilter, Row};
use crate::time::{DAY_MS, day, now_ms, rfc3339};

/// Days in the overview's alert chart.
const CHART_DAYS: i64 = 14;
/// Rows per page of a table; the filters narrow a larger inventory (the export has everything).
const MAX_ROWS: usize = 500;

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn when(ms: i64) -> String {
    rfc3339(ms)
        .replace('T', " ")
        .trim_end_matches('Z')
        .chars()
        .take(19)
        .collect()
}

fn severity_badge(s: &str) -> Markup {
    let class = match s {
        "critical" => "critical",
        "warning" => "warning",
        _ => "info",
    };
    html! { span class={"badge " (class)} { (s) } }
}

fn score_badge(score: Option<u64>) -> Markup {
    match score {
        Some(s) if s < 50 => {
            html! { span.badge.bad title="1 = certainly malicious, 99 = certainly clean" { (s) } }
        }
        Some(s) => {
            html! { span.badge.good title="1 = certainly malicious, 99 = certainly clean" { (s) } }
        }
        None => html! { span.muted { "–" } },
    }
}

fn store_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "store unavailable").into_response()
}

/// Inline SVG bar chart of counts per day (oldest first); no script, no external assets.
/// `label` names the chart for screen readers; `color` fills its bars.
fn day_chart(label: &str, color: &str, counts: &[(String, usize)]) -> Markup {
    let (w, h, pad) = (26usize, 90usize, 14usize);
    let max = counts.iter().map(|(_, c)| *c).max().unwrap_or(0).max(1);
    let width = counts.len() * w + 8;
    html! {
        svg width=(width) height=(h + pad * 2) role="img" aria-label=(label) {
            @for (i, (day, c)) in counts.iter().enumerate() {
                @let bar = c * h / max;
                rect x=(4 + i * w) y=(pad + h - bar) width=(w - 6) height=(bar) fill=(color) { title { (day) ": " (c) } }
                text x=(4 + i * w) y=(h + pad * 2 - 2) { (&day[8..]) }
                @if *c > 0 { text x=(4 + i * w) y=(pad + h - bar - 2) { (c) } }
            }
        }
    }
}

/// The overview's and a site page's activity over the last [`CHART_DAYS`] days: reports (per
/// day, from the store), new scripts and connections (by first sight), alerts (by creation).
fn activity_charts(
    reports: &HashMap<String, i64>,
    new_per_day: &HashMap<String, usize>,
    alerts: &[AlertRow],
) -> Markup {
    let today = now_ms() / DAY_MS;
    let days: Vec<String> = (0..CHART_DAYS)
        .rev()
        .map(|back| day((today - back) * DAY_MS))
        .collect();
    let per_day = |count: &dyn Fn(&str) -> usize| -> Vec<(String, usize)> {
        days.iter().map(|d| (d.clone(), count(d))).collect()
    };
    let mut alert_days: HashMap<String, usize> = HashMap::new();
    for a in alerts {
        *alert_days.entry(day(a.created_at)).or_default() += 1;
    }
    let alerts_per_day = per_day(&|d| alert_days.get(d).copied().unwrap_or(0));
    let reports_per_day = per_day(&|d| reports.get(d).copied().unwrap_or(0).max(0) as usize);
    let new_per_day = per_day(&|d| new_per_day.get(d).copied().unwrap_or(0));
    html! {
        h2 { "The last " (CHART_DAYS) " days" }
        div.charts {
            figure {
                figcaption { "Reports" }
                (day_chart("reports per day", "#175cd3", &reports_per_day))
            }
            figure {
                figcaption { "New scripts and connections" }
                (day_chart("new resources per day", "#b54708", &new_per_day))
            }
            figure {
                figcaption { "Alerts" }
                (day_chart("alerts per day", "#b42318", &alerts_per_day))
            }
        }
    }
}

/// The first day the activity charts show.
fn first_chart_day() -> String {
    day((now_ms() / DAY_MS - CHART_DAYS + 1) * DAY_MS)
}

/// Resources first seen per day.
fn first_seen_per_day<'a>(rows: impl Iterator<Item = &'a ResourceRow>) -> HashMap<String, usize> {
    let mut out: HashMap<String, usize> = HashMap::new();
    for r in rows {
        *out.entry(day(r.first_seen)).or_default() += 1;
    }
    out
}

/// The URLs of the resources that are active now.
fn active_urls<'r>(
    rows: &'r [ResourceRow],
    site: &'r SiteConfig,
    inactive_after_ms: i64,
    now: i64,
) -> impl Iterator<Item = &'r str> {
    rows.iter()
        .filter(move |r| crate::api::status(r, site, inactive_after_ms, now) == "active")
        .map(|r| r.url.as_str())
}

/// A site's line in the overview.
struct SiteRow<'a> {
    site: &'a SiteConfig,
    scripts: usize,
    /// Its active scripts, justified and authorized.
    tally: Tally,
    conns: usize,
    malicious: usize,
    open: usize,
    last: Option<i64>,
}

pub(crate) async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(v) = viewer(&state, &headers).await else {
        return super::login_form(&state, None);
    };
    let alerts = match state
        .store
        .list_alerts(&AlertFilter {
            site: None,
            kind: None,
            limit: Some(2000),
            before_id: None,
        })
        .await
    {
        Ok(a) => a,
        Err(_) => return store_error(),
    };
    let now = now_ms();
    let Ok(reports) = state.store.daily_reports(None, &first_chart_day()).await else {
        return store_error();
    };
    let reports: HashMap<String, i64> = reports.into_iter().collect();
    let mut new_per_day: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    for site in &state.config.sites {
        let (Ok(scripts), Ok(conns), Ok(latest), Ok(justified), Ok(authorized)) = (
            state.store.list_resources(&site.id, "script").await,
            state.store.list_resources(&site.id, "connection").await,
            state.store.latest_versions(&site.id).await,
            state.store.justifications(&site.id).await,
            state.store.authorizations(&site.id).await,
        ) else {
            return store_error();
        };
        let inactive = state.config.inactive_after.as_millis() as i64;
        let newest: HashMap<&str, &VersionRow> =
            latest.iter().map(|(v, _)| (v.url.as_str(), v)).collect();
        let tally = Tally::of(
            active_urls(&scripts, site, inactive, now),
            &justified,
            &authorized,
            |u| newest.get(u).copied(),
        );
        let malicious = latest
            .iter()
            .filter(|(v, _)| v.analysis["classification"]["malicious"] == Value::Bool(true))
            .count();
        let last = scripts.iter().chain(&conns).map(|r| r.last_seen).max();
        for (day, n) in first_seen_per_day(scripts.iter().chain(&conns)) {
            *new_per_day.entry(day).or_default() += n;
        }
        let open = alerts.iter().filter(|a| a.site == site.id).count();
        rows.push(SiteRow {
            site,
            scripts: scripts.len(),
            tally,
            conns: conns.len(),
            malicious,
            open,
            last,
        });
    }
    let activity = activity_charts(&reports, &new_per_day, &alerts);
    let critical = alerts.iter().filter(|a| a.severity == "critical").count();
    page(
        "Sites",
        Some(&v),
        html! {
            div.cards {
                div.card { b { (state.config.sites.len()) } "sites" }
                div.card { b { (rows.iter().map(|r| r.scripts).sum::<usize>()) } "scripts" }
                div.card { b { (rows.iter().map(|r| r.malicious).sum::<usize>()) } "scored malicious" }
                div.card { b { (rows.iter().map(|r| r.tally.not_authorized()).sum::<usize>()) } "active scripts not authorized" }
                div.card { b { (critical) } "critical alerts" }
            }
            h2 { "Sites" }
            table #sites {
                thead { tr { th { "site" } th { "origins" } th { "scripts (active)" } th { "not authorized" } th { "connections" } th { "malicious" } th { "alerts" } th { "last report" } } }
                tbody {
                    @for row in &rows {
                        @let id = enc(&row.site.id);
                        tr {
                            td { a href={"/sites/" (id)} { (row.site.id) } }
                            td { @for o in &row.site.origins { (o) " " } }
                            td.num { (row.scripts) " (" (row.tally.active) ")" }
                            td.num {
                                @if row.tally.not_authorized() > 0 {
                                    a href={"/sites/" (id) "?status=active&authorization=unauthorized"} { span.badge.warning { (row.tally.not_authorized()) } }
                                } @else { "0" }
                            }
                            td.num { (row.conns) }
                            td.num { @if row.malicious > 0 { span.badge.bad { (row.malicious) } } @else { "0" } }
                            td.num { a href={"/alerts?site=" (id)} { (row.open) } }
                            td { @if let Some(l) = row.last { (when(l)) } @else { span.muted { "never" } } }
                        }
                    }
                }
            }
            (activity)
            h2 { "Latest alerts" }
            (alert_table(&alerts[..alerts.len().min(10)]))
        },
    )
}

/// The site page's query: the inventory filters (shared with the API) and where each table's
/// page starts.
#[derive(Deserialize, Default)]
pub(crate) struct SiteQuery {
    #[serde(flatten)]
    filter: ResourceFilter,
    /// First row shown of each table (pages of [`MAX_ROWS`]); strings, because an empty value
    /// must not be a 400.
    #[serde(default)]
    scripts_from: String,
    #[serde(default)]
    conns_from: String,
}

/// The site page with these filters, sorted by `sort`, each table from the given row.
fn link(
    f: &ResourceFilter,
    site: &str,
    sort: &str,
    scripts_from: usize,
    conns_from: usize,
) -> String {
    format!(
        "/sites/{}?q={}&domain={}&page={}&status={}&max_score={}&authorization={}&sort={}&scripts_from={scripts_from}&conns_from={conns_from}",
        enc(site),
        enc(&f.q),
        enc(&f.domain),
        enc(&f.page),
        enc(&f.status),
        enc(&f.max_score),
        enc(&f.authorization),
        enc(sort),
    )
}

/// Where a table of `total` rows starts when asked to start at `from`: a page boundary, never
/// past the last page.
fn page_start(from: &str, total: usize) -> usize {
    let last = total.saturating_sub(1) / MAX_ROWS * MAX_ROWS;
    (from.parse::<usize>().unwrap_or(0) / MAX_ROWS * MAX_ROWS).min(last)
}

/// "Rows a–b of n" with links to the neighbouring pages; nothing when one page holds them all.
fn pager(total: usize, from: usize, link: impl Fn(usize) -> String) -> Markup {
    let end = (from + MAX_ROWS).min(total);
    html! {
        @if total > MAX_ROWS {
            p.pager {
                "Rows " (from + 1) "–" (end) " of " (total) ". "
                @if from > 0 { a href=(link(from - MAX_ROWS)) { "← previous" } " " }
                @if end < total { a href=(link(end)) { "next →" } }
            }
        }
    }
}

/// A table of scripts or connections. With `select` (scripts, signed in with a session: its
/// CSRF token) each script gets a checkbox, and a form above the table authorizes the ticked
/// ones in one go.
fn resource_table(
    site: &str,
    rows: &[Row<'_>],
    scripts: bool,
    f: &ResourceFilter,
    select: Option<&str>,
) -> Markup {
    let sort_link = |key: &str| link(f, site, key, 0, 0);
    let select = select.filter(|_| scripts && !rows.is_empty());
    html! {
        @if let Some(csrf) = select {
            form.filters #bulk method="post" action={"/sites/" (enc(site)) "/scripts/authorize"} {
                input type="hidden" name="csrf" value=(csrf);
                input type="text" name="authorized_by" placeholder="your name" maxlength="200";
                button type="submit" { "Authorize the ticked scripts as they are now" }
            }
        }
        table.resources {
            thead { tr {
                @if select.is_some() { th { } }
                th { "url" }
                th { a href=(sort_link("domain")) { "domain" } }
                th { "status" }
                th { a href=(sort_link("reports")) { "reports" } }
                th { a href=(sort_link("first_seen")) { "first seen" } }
                th { a href=(sort_link("last_seen")) { "last seen" } }
                th { "pages" }
                @if scripts { th { a href=(sort_link("score")) { "score" } } th { "versions" } th { "authorization" } }
            } }
            tbody {
                @for x in rows {
                    tr {
                        @if select.is_some() {
                            td { input type="checkbox" name="url" value=(x.r.url) form="bulk"; }
                        }
                        td.url {
                            @if scripts {
                                a href={"/sites/" (enc(site)) "/script?url=" (enc(&x.r.url))} { (x.r.url) }
                            } @else { (x.r.url) }
                            @if let Some(s) = &x.r.sample { br; span.muted { "sample: " code { (s) } } }
                        }
                        td { (x.r.domain) }
                        td { (x.status) }
                        td.num { (x.r.reports) }
                        td { (when(x.r.first_seen)) }
                        td { (when(x.r.last_seen)) }
                        td.num { (x.r.pages.len()) }
                        @if scripts {
                            td { (score_badge(x.score)) } td.num { (x.versions) }
                            td { (authorization_badge(x.authorization.unwrap_or(crate::authorization::UNAUTHORIZED))) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn site(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(SiteQuery {
        filter: f,
        scripts_from,
        conns_from,
    }): Query<SiteQuery>,
) -> Response {
    let Some(v) = viewer(&state, &headers).await else {
        return to_login();
    };
    let Some(site) = state.config.sites.iter().find(|s| s.id == id) else {
        return (StatusCode::NOT_FOUND, "unknown site").into_response();
    };
    let (Ok(scripts), Ok(conns), Ok(latest), Ok(reports), Ok(alerts), Ok(baselines)) = (
        state.store.list_resources(&site.id, "script").await,
        state.store.list_resources(&site.id, "connection").await,
        state.store.latest_versions(&site.id).await,
        state
            .store
            .daily_reports(Some(&site.id), &first_chart_day())
            .await,
        state
            .store
            .list_alerts(&AlertFilter {
                site: Some(site.id.clone()),
                kind: None,
                limit: Some(2000),
                before_id: None,
            })
            .await,
        state
            .store
            .header_baselines(&site.id, MAX_ROWS as i64)
            .await,
    ) else {
        return store_error();
    };
    let (Ok(authorized), Ok(justified), Ok(watched)) = (
        state.store.authorizations(&site.id).await,
        state.store.justifications(&site.id).await,
        crate::page_scripts::watched(&state.store, site).await,
    ) else {
        return store_error();
    };
    let activity = activity_charts(
        &reports.into_iter().collect(),
        &first_seen_per_day(scripts.iter().chain(&conns)),
        &alerts,
    );
    let latest: HashMap<&str, &(VersionRow, i64)> =
        latest.iter().map(|l| (l.0.url.as_str(), l)).collect();
    let now = now_ms();
    let inactive = state.config.inactive_after.as_millis() as i64;
    let tally = Tally::of(
        active_urls(&scripts, site, inactive, now),
        &justified,
        &authorized,
        |u| latest.get(u).map(|(v, _)| v),
    );
    let script_rows = f.apply(
        scripts
            .iter()
            .map(|r| {
                let l = latest.get(r.url.as_str());
                Row {
                    r,
                    status: crate::api::status(r, site, inactive, now),
                    score: l.and_then(|(v, _)| v.analysis["classification"]["score"].as_u64()),
                    versions: l.map_or(0, |(_, n)| *n),
                    authorization: Some(crate::authorization::state(
                        authorized.get(&r.url),
                        l.map(|(v, _)| v),
                    )),
                }
            })
            .collect(),
    );
    // The script-only filters do not apply to connections.
    let conn_rows = ResourceFilter {
        max_score: String::new(),
        authorization: String::new(),
        ..f.clone()
    }
    .apply(
        conns
            .iter()
            .map(|r| Row {
                r,
                status: crate::api::status(r, site, inactive, now),
                score: None,
                versions: 0,
                authorization: None,
            })
            .collect(),
    );
    let (sf, cf) = (
        page_start(&scripts_from, script_rows.len()),
        page_start(&conns_from, conn_rows.len()),
    );
    let csrf = match &v {
        super::Viewer::Session { csrf } => Some(csrf.as_str()),
        _ => None,
    };
    let domains: std::collections::BTreeSet<&str> = scripts
        .iter()
        .chain(&conns)
        .map(|r| r.domain.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    page(
        &format!("Site {}", site.id),
        Some(&v),
        html! {
            form.filters method="get" action={"/sites/" (enc(&site.id))} {
                input type="search" name="q" placeholder="URL contains" value=(f.q);
                select name="domain" {
                    option value="" { "any domain" }
                    @for d in &domains { option value=(d) selected[f.domain == *d] { (d) } }
                }
                input type="search" name="page" placeholder="page contains" value=(f.page);
                select name="status" {
                    @for s in ["", "active", "infrequent", "inactive"] {
                        option value=(s) selected[f.status == s] { @if s.is_empty() { "any status" } @else { (s) } }
                    }
                }
                select name="max_score" {
                    option value="" { "any score" }
                    option value="49" selected[f.max_score() == Some(49)] { "malicious (< 50)" }
                    option value="79" selected[f.max_score() == Some(79)] { "below 80" }
                }
                select name="authorization" {
                    option value="" { "any authorization" }
                    @for s in crate::authorization::STATES {
                        option value=(s) selected[f.authorization == s] { (s) }
                    }
                }
                input type="hidden" name="sort" value=(f.sort);
                button type="submit" { "Filter" }
            }
            (activity)
            (compliance_cards(&site.id, &tally))
            p {
                "Compliance export (PCI DSS 6.4.3, with justifications and authorizations): "
                a href={"/sites/" (enc(&site.id)) "/inventory.csv"} { "CSV" } " · "
                a href={"/sites/" (enc(&site.id)) "/inventory.json"} { "JSON" }
                " · "
                a href={"/sites/" (enc(&site.id)) "/policy?authorized_only=on"} { "Suggested policy" }
            }
            h2 { "Scripts (" (script_rows.len()) " of " (scripts.len()) ")" }
            (pager(script_rows.len(), sf, |from| link(&f, &site.id, &f.sort, from, cf)))
            (resource_table(&site.id, &script_rows[sf..(sf + MAX_ROWS).min(script_rows.len())], true, &f, csrf))
            h2 { "Connections (" (conn_rows.len()) " of " (conns.len()) ")" }
            (pager(conn_rows.len(), cf, |from| link(&f, &site.id, &f.sort, sf, from)))
            (resource_table(&site.id, &conn_rows[cf..(cf + MAX_ROWS).min(conn_rows.len())], false, &f, None))
            (security_headers(&baselines))
            (watched_pages(&watched))
        },
    )
}

/// The scripts each watched payment page carried at the fetcher's last look (PCI DSS 11.6.1).
fn watched_pages(pages: &[(String, Option<crate::page_scripts::Set>)]) -> Markup {
    html! {
        @if !pages.is_empty() {
            h2 { "Watched pages (" (pages.len()) ")" }
            table #watched {
                thead { tr { th { "page" } th { "scripts at the last look" } } }
                tbody { @for (page, set) in pages { tr {
                    td.url { (page) }
                    td.url {
                        @match set {
                            None => { span.muted { "not looked at yet" } }
                            Some(set) if set.is_empty() => { span.muted { "no script" } }
                            Some(set) => {
                                @for e in crate::page_scripts::entries(set) {
                                    @if let Some(url) = e["url"].as_str() { code { (url) } }
                                    @else {
                                        span.muted { "inline " }
                                        code { (e["sample"].as_str().unwrap_or_default()) }
                                    }
                                    br;
                                }
                            }
                        }
                    }
                } } }
            }
        }
    }
}

/// PCI DSS 6.4.3 at a glance: the site's active scripts, justified and authorized, each count a
/// link to the scripts it counts.
fn compliance_cards(site: &str, t: &Tally) -> Markup {
    let active = format!("/sites/{}?status=active", enc(site));
    let with = |state: &str| format!("{active}&authorization={state}");
    html! {
        h2 { "Script authorization (PCI DSS 6.4.3)" }
        div.cards #compliance {
            a.card href=(active) { b { (t.active) } "active scripts" }
            div.card { b { (t.justified) } "justified" }
            a.card href=(with(crate::authorization::AUTHORIZED)) { b { (t.authorized) } "authorized" }
            a.card href=(with(crate::authorization::CHANGED)) {
                b { @if t.changed > 0 { span.badge.bad { (t.changed) } } @else { "0" } }
                "changed since authorized"
            }
            a.card href=(with(crate::authorization::UNAUTHORIZED)) {
                b { @if t.unauthorized > 0 { span.badge.warning { (t.unauthorized) } } @else { "0" } }
                "never authorized"
            }
        }
    }
}

/// The security headers each page was last served with (PCI DSS 11.6.1), most recently
/// changed first.
fn security_headers(baselines: &[(String, Value)]) -> Markup {
    html! {
        h2 { "Security headers (" (baselines.len()) " pages)" }
        @if baselines.is_empty() {
            p.muted { "No page watched yet: list payment pages in " code { "watch_pages" } " or serve the site through the proxy." }
        } @else {
            table {
                thead { tr { th { "page" } th { "header" } th { "value" } } }
                tbody {
                    @for (page, headers) in baselines {
                        @let headers = headers.as_object().cloned().unwrap_or_default();
                        @if headers.is_empty() {
                            tr { td.url { (page) } td.muted colspan="2" { "none of the watched headers" } }
                        }
                        @for (i, (name, value)) in headers.iter().enumerate() {
                            tr {
                                td.url { @if i == 0 { (page) } }
                                td { code { (name) } }
                                td.url { code { (value.as_str().unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct ScriptQuery {
    url: String,
}

fn list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn script(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ScriptQuery>,
) -> Response {
    let Some(v) = viewer(&state, &headers).await else {
        return to_login();
    };
    let Some(site) = state.config.sites.iter().find(|s| s.id == id) else {
        return (StatusCode::NOT_FOUND, "unknown site").into_response();
    };
    let (Ok(resources), Ok(versions), Ok(fetches)) = (
        state.store.list_resources(&site.id, "script").await,
        state.store.list_versions(&site.id, &q.url).await,
        state
            .store
            .list_fetches(&site.id, &q.url, FETCHES_SHOWN)
            .await,
    ) else {
        return store_error();
    };
    let resource = resources.iter().find(|r| r.url == q.url);
    let justification = state
        .store
        .justifications(&site.id)
        .await
        .ok()
        .and_then(|mut j| j.remove(&q.url));
    let authorization = state
        .store
        .authorizations(&site.id)
        .await
        .ok()
        .and_then(|mut a| a.remove(&q.url));
    let trail = state
        .store
        .authorization_history(&site.id, &q.url, crate::authorization::HISTORY_SHOWN)
        .await
        .unwrap_or_default();
    let diff = match (versions.first(), versions.get(1)) {
        (Some(new), Some(old)) => match (
            state.store.version_body(&old.sha256).await,
            state.store.version_body(&new.sha256).await,
        ) {
            (Ok(Some(o)), Ok(Some(n))) => crate::fetcher::diff_bodies(o, n).await,
            _ => None,
        },
        _ => None,
    };
    let latest = versions.first();
    let c = latest.map(|l| &l.analysis["classification"]);
    page(
        "Script",
        Some(&v),
        html! {
            dl {
                dt { "url" } dd { code { (q.url) } }
                @if let Some(r) = resource {
                    dt { "domain" } dd { (r.domain) }
                    @if let Some(sample) = &r.sample { dt { "sample" } dd { code { (sample) } } }
                    @if let Some(hash) = &r.hash { dt { "hash browsers ran" } dd { code { (hash) } } }
                    dt { "reports" } dd { (r.reports) }
                    dt { "first seen" } dd { (when(r.first_seen)) " on " (r.first_page) }
                    dt { "last seen" } dd { (when(r.last_seen)) }
                    dt { "pages" } dd { @for p in &r.pages { (p) br; } }
                }
                @if let Some(l) = latest {
                    dt { "capabilities" } dd { @for cap in list(&l.analysis["capabilities"]) { span.badge.info { (cap) } " " } }
                    dt { "domains in code" } dd { @for d in list(&l.analysis["domains"]) { (d) " " } }
                    dt { "data flows" } dd { @for d in list(&l.analysis["flows"]) { (d) br; } }
                }
                @if let Some(c) = c.filter(|c| !c.is_null()) {
                    dt { "score" } dd {
                        (score_badge(c["score"].as_u64()))
                        " magecart " (c["categories"]["magecart"]) " · cryptomining " (c["categories"]["cryptomining"]) " · malware " (c["categories"]["malware"])
                        span.muted { " (model " (c["model"].as_str().unwrap_or("?")) ")" }
                        ul.reasons { @for r in list(&c["reasons"]) { li { (r) } } }
                    }
                }
            }
            h2 { "Justification" }
            @if let Some((text, at)) = &justification {
                p { (text) span.muted { " (" (when(*at)) ")" } }
            } @else {
                p.muted { "None yet: PCI DSS 6.4.3 asks why each payment-page script is needed." }
            }
            @if let super::Viewer::Session { csrf } = &v {
                form.justify method="post" action={"/sites/" (enc(&site.id)) "/script/justification"} {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="url" value=(q.url);
                    textarea name="justification" rows="2" cols="80" maxlength="4096" {
                        @if let Some((text, _)) = &justification { (text) }
                    }
                    button type="submit" { "Save justification" }
                }
            }
            (authorization_section(&v, &site.id, &q.url, authorization.as_ref(), latest))
            @if !trail.is_empty() {
                table #trail {
                    thead { tr { th { "when" } th { "what" } th { "by" } th { "structure" } th { "sha256" } } }
                    tbody { @for e in &trail { tr {
                        td { (when(e.at)) }
                        td { (e.action) }
                        td { (e.by) }
                        td { @if let Some(h) = &e.structural_hash { code { (short(h)) } } }
                        td { @if let Some(h) = &e.sha256 { code { (short(h)) } } }
                    } } }
                }
            }
            h2 { "Versions" }
            @if versions.is_empty() {
                p.muted { "Not fetched yet." }
            } @else {
                table #versions {
                    thead { tr { th { "fetched" } th { "sha256" } th { "structure" } th { "bytes" } th { "score" } } }
                    tbody { @for ver in &versions { tr {
                        td { (when(ver.fetched_at)) }
                        td { code { (short(&ver.sha256)) } }
                        td { code { (short(&ver.structural_hash)) } }
                        td.num { (ver.bytes) }
                        td { (score_badge(ver.analysis["classification"]["score"].as_u64())) }
                    } } }
                }
            }
            (fetch_table(&fetches))
            @if let Some(d) = &diff {
                h2 { "What changed in the newest version" }
                p {
                    "verdict " b { (d["verdict"].as_str().unwrap_or("")) }
                    ", similarity " (format!("{:.3}", d["similarity"].as_f64().unwrap_or(0.0)))
                    @for cap in list(&d["added_capabilities"]) { " " span.badge.bad { "+ " (cap) } }
                    @for dom in list(&d["added_domains"]) { " " span.badge.warning { "+ " (dom) } }
                }
                div.diff #diff {
                    div { h2 { "Removed" }
                        @if d["removed_regions"].as_array().is_none_or(|a| a.is_empty()) { p.muted { "nothing removed" } }
                        @for r in d["removed_regions"].as_array().into_iter().flatten() {
                            p.muted { (r["kind"].as_str().unwrap_or("")) " at line " (r["line"]) }
                            pre.removed { (r["code"].as_str().unwrap_or("")) }
                        }
                    }
                    div { h2 { "Added" }
                        @for r in d["added_regions"].as_array().into_iter().flatten() {
                            p.muted { (r["kind"].as_str().unwrap_or("")) " at line " (r["line"]) }
                            pre.added { (r["code"].as_str().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    )
}

/// Who authorized the script and which version (PCI DSS 6.4.3), with the forms to authorize
/// it as it is now or to revoke.
fn authorization_section(
    v: &super::Viewer,
    site: &str,
    url: &str,
    auth: Option<&rampart_store::Authorization>,
    latest: Option<&VersionRow>,
) -> Markup {
    let state = crate::authorization::state(auth, latest);
    let action = format!("/sites/{}/script/authorization", enc(site));
    html! {
        h2 { "Authorization" }
        p #authorization {
            (authorization_badge(state))
            @if let Some(a) = auth {
                " by " b { (a.by) } " " (when(a.at))
                @match &a.structural_hash {
                    Some(h) => { " · structure " code { (short(h)) } }
                    None => { span.muted { " · by URL: no version had been fetched" } }
                }
                @if state == crate::authorization::CHANGED {
                    br; span.muted { "The newest version's structure differs from the one authorized: look at the change below and authorize it again." }
                }
            } @else {
                span.muted { " PCI DSS 6.4.3 asks that each payment-page script be authorized." }
            }
        }
        @if latest.is_some_and(|l| l.analysis["classification"]["malicious"] == true) {
            p.error { "This version scores as malicious: read its reasons and the diff before authorizing it." }
        }
        @if let super::Viewer::Session { csrf } = v {
            form.authorize method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="url" value=(url);
                @if let Some(l) = latest { input type="hidden" name="sha256" value=(l.sha256); }
                input type="text" name="authorized_by" placeholder="your name" maxlength="200";
                button type="submit" name="action" value="authorize" { "Authorize this version" }
                @if auth.is_some() {
                    " " button type="submit" name="action" value="revoke" { "Revoke" }
                }
            }
        }
    }
}

fn authorization_badge(state: &str) -> Markup {
    let class = match state {
        crate::authorization::AUTHORIZED => "badge good",
        crate::authorization::CHANGED => "badge bad",
        _ => "badge warning",
    };
    html! { span class=(class) { (state) } }
}

/// The first 16 characters of a hash (hex, ASCII), enough to tell versions apart.
fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

/// Fetch attempts shown on a script's page, newest first.
const FETCHES_SHOWN: i64 = 20;

/// The fetcher's recent attempts at a script: the desktop fetch and the phone's second look,
/// refusals by the SSRF guard and errors, as recorded.
fn fetch_table(fetches: &[rampart_store::FetchRow]) -> Markup {
    html! {
        h2 { "Fetches" }
        @if fetches.is_empty() {
            p.muted { "None yet." }
        } @else {
            table #fetches {
                thead { tr { th { "time" } th { "outcome" } th { "status" } th { "sha256" } th { "error" } } }
                tbody { @for f in fetches { tr {
                    td { (when(f.at)) }
                    td {
                        @let bad = matches!(f.outcome.as_str(), "refused" | "error" | "mobile_error" | "mobile_differs");
                        @if bad { span.badge.warning { (f.outcome) } } @else { (f.outcome) }
                    }
                    td.num { @if let Some(code) = f.status_code { (code) } }
                    td { @if let Some(sha) = &f.sha256 { code { (short(sha)) } } }
                    td.url { @if let Some(e) = &f.error { (e) } }
                } } }
            }
        }
    }
}

fn alert_table(alerts: &[AlertRow]) -> Markup {
    html! {
        table.alerts {
            thead { tr { th { "time" } th { "severity" } th { "kind" } th { "site" } th { "subject" } th { "details" } } }
            tbody {
                @for a in alerts {
                    tr {
                        td { (when(a.created_at)) }
                        td { (severity_badge(&a.severity)) }
                        td { (a.kind) }
                        td { (a.site) }
                        td.url {
                            // Script subjects link to the script's page; pages and BGP events do not.
                            @if a.subject.starts_with("http") && a.site != crate::bgp::BGP_SITE
                                && !matches!(a.kind.as_str(), "security_headers_changed" | "page_scripts_changed") {
                                a href={"/sites/" (enc(&a.site)) "/script?url=" (enc(&a.subject))} { (a.subject) }
                            } @else { (a.subject) }
                        }
                        td { (details(&a.details)) }
                    }
                }
            }
        }
    }
}

/// Alert details as a short list of the scalar fields (the API has the rest).
fn details(v: &Value) -> Markup {
    let fields: Vec<(&String, String)> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, val)| match val {
            Value::String(s) => Some((k, s.chars().take(160).collect())),
            Value::Number(n) => Some((k, n.to_string())),
            // Strings, or objects naming a script by `url` or by a `sample` of its code
            // (`page_scripts_changed`).
            Value::Array(a) if !a.is_empty() => {
                let names: Vec<String> = a
                    .iter()
                    .filter_map(|x| match x {
                        Value::String(s) => Some(s.clone()),
                        Value::Object(o) => o
                            .get("url")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .or_else(|| {
                                let sample = o.get("sample")?.as_str()?;
                                Some(format!(
                                    "inline: {}",
                                    sample.chars().take(60).collect::<String>()
                                ))
                            }),
                        _ => None,
                    })
                    .take(6)
                    .collect();
                (!names.is_empty()).then(|| (k, names.join(", ")))
            }
            _ => None,
        })
        .take(8)
        .collect();
    html! { @for (k, val) in fields { span.muted { (k) ": " } (val) br; } }
}

#[derive(Deserialize)]
pub(crate) struct AlertQuery {
    #[serde(default)]
    site: String,
    #[serde(default)]
    kind: String,
    /// The next page: alerts listed after the one with this id (a string: empty is no page).
    #[serde(default)]
    before_id: String,
}

/// Alerts per page of the timeline.
const ALERTS_PER_PAGE: usize = 200;

pub(crate) async fn alerts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AlertQuery>,
) -> Response {
    let Some(v) = viewer(&state, &headers).await else {
        return to_login();
    };
    let Ok(rows) = state
        .store
        .list_alerts(&AlertFilter {
            site: Some(q.site.clone()).filter(|s| !s.is_empty()),
            kind: Some(q.kind.clone()).filter(|s| !s.is_empty()),
            // One more than a page: whether there is a next page.
            limit: Some(ALERTS_PER_PAGE as i64 + 1),
            before_id: q.before_id.parse().ok(),
        })
        .await
    else {
        return store_error();
    };
    let kinds = [
        "new_script",
        "new_script_domain",
        "new_connection_domain",
        "script_changed",
        "script_hash_mismatch",
        "script_cloaked",
        "malicious_script",
        "malicious_domain",
        "policy_violation",
        "script_blocked",
        "security_headers_changed",
        "page_scripts_changed",
    ];
    page(
        "Alerts",
        Some(&v),
        html! {
            form.filters method="get" action="/alerts" {
                select name="site" {
                    option value="" { "any site" }
                    @for s in &state.config.sites { option value=(s.id) selected[q.site == s.id] { (s.id) } }
                    option value=(crate::bgp::BGP_SITE) selected[q.site == crate::bgp::BGP_SITE] { "bgp" }
                }
                select name="kind" {
                    option value="" { "any kind" }
                    @for k in kinds { option value=(k) selected[q.kind == k] { (k) } }
                }
                button type="submit" { "Filter" }
            }
            @let shown = &rows[..rows.len().min(ALERTS_PER_PAGE)];
            p.muted {
                (shown.len()) " alerts, newest first"
                @if !q.before_id.is_empty() { ", after the first page" }
                "."
            }
            (alert_table(shown))
            @if rows.len() > ALERTS_PER_PAGE {
                @if let Some(last) = shown.last() {
                    p.pager {
                        a href={"/alerts?site=" (enc(&q.site)) "&kind=" (enc(&q.kind)) "&before_id=" (last.id)} { "older →" }
                    }
                }
            }
        },
    )
}

pub(crate) async fn bgp(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(v) = viewer(&state, &headers).await else {
        return to_login();
    };
    let Ok(rows) = state
        .store
        .list_alerts(&AlertFilter {
            site: Some(crate::bgp::BGP_SITE.to_string()),
            kind: None,
            limit: Some(2000),
            before_id: None,
        })
        .await
    else {
        return store_error();
    };
    let mut by_prefix: BTreeMap<String, Vec<&AlertRow>> = BTreeMap::new();
    for a in &rows {
        let p = a.details["monitored_prefix"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        by_prefix.entry(p).or_default().push(a);
    }
    let view = state.bgp_view.read().expect("never poisoned").clone();
    for p in &view {
        by_prefix.entry(p.prefix.clone()).or_default();
    }
    page(
        "Routes",
        Some(&v),
        html! {
            @if by_prefix.is_empty() {
                p.muted { "No route events. Configure [bgp] to watch your prefixes." }
            }
            @for (prefix, events) in &by_prefix {
                h2 { (prefix) }
                @if let Some(now) = view.iter().find(|v| &v.prefix == prefix) {
                    p.muted {
                        (now.description) " · expected origins "
                        @for o in &now.expected_origins { "AS" (o) " " }
                        "· seen by " (now.visible_peers) " peer ASNs"
                    }
                    table.routes {
                        thead { tr { th { "prefix now" } th { "origin" } th { "peer ASNs" } th { "RPKI" } } }
                        tbody { @for r in &now.routes { tr {
                            td { (r.prefix) }
                            td {
                                @if let Some(o) = r.origin { "AS" (o) } @else { "–" }
                                @if !r.expected { " " span.badge.bad { "unexpected" } }
                            }
                            td.num { (r.peers) }
                            td {
                                @match r.rpki {
                                    Some("invalid") => span.badge.bad { "invalid" },
                                    Some("valid") => span.badge.good { "valid" },
                                    Some(other) => (other),
                                    None => span.muted { "no VRPs" },
                                }
                            }
                        } } }
                    }
                }
                table.bgp {
                    thead { tr { th { "time" } th { "event" } th { "kind" } th { "prefix" } th { "origin" } th { "peers" } th { "rpki" } th { "path" } } }
                    tbody { @for a in events { tr {
                        td { (when(a.created_at)) }
                        td { (a.details["event"].as_str().unwrap_or("")) }
                        td { (severity_badge(&a.severity)) " " (a.kind) }
                        td { (a.details["prefix"].as_str().unwrap_or("")) }
                        td { (a.details["origin"]) }
                        td.num { (a.details["peers"]) }
                        td { (a.details["rpki"].as_str().unwrap_or("–")) }
                        td { (a.details["as_path"]) }
                    } } }
                }
            }
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct JustifyForm {
    csrf: String,
    url: String,
    justification: String,
}

/// Saves a justification from the script page (session and CSRF token required).
pub(crate) async fn justify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Form(f): axum::extract::Form<JustifyForm>,
) -> Response {
    let site = match form_site(&state, &headers, &id, &f.csrf).await {
        Ok(site) => site,
        Err(refused) => return refused,
    };
    if f.justification.len() > crate::api::MAX_JUSTIFICATION
        || f.url.len() > crate::api::MAX_JUSTIFIED_URL
    {
        return (StatusCode::PAYLOAD_TOO_LARGE, "justification too long").into_response();
    }
    if state
        .store
        .set_justification(&site.id, &f.url, &f.justification, now_ms())
        .await
        .is_err()
    {
        return store_error();
    }
    back_to_script(site, &f.url)
}

/// The site a script page's form posts to, once the session and its CSRF token check out;
/// else the answer that refuses the post.
async fn form_site<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
    id: &str,
    csrf_given: &str,
) -> Result<&'s SiteConfig, Response> {
    let Some(super::Viewer::Session { csrf }) = viewer(state, headers).await else {
        return Err(to_login());
    };
    if !crate::api::same(csrf.as_bytes(), csrf_given.as_bytes()) {
        return Err((StatusCode::FORBIDDEN, "bad CSRF token").into_response());
    }
    state
        .config
        .sites
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| (StatusCode::NOT_FOUND, "unknown site").into_response())
}

fn back_to_script(site: &SiteConfig, url: &str) -> Response {
    super::redirect(&format!("/sites/{}/script?url={}", enc(&site.id), enc(url)))
}

/// The enforceable CSP suggested from the active inventory (what `rampart csp policy` prints),
/// with the scope in a form.
pub(crate) async fn policy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<crate::policy::ScopeQuery>,
) -> Response {
    let Some(v) = viewer(&state, &headers).await else {
        return to_login();
    };
    let Some(site) = state.config.sites.iter().find(|s| s.id == id) else {
        return (StatusCode::NOT_FOUND, "unknown site").into_response();
    };
    let scope = q.scope();
    let Ok(s) = crate::policy::suggest(&*state.store, &state.config, site, &scope).await else {
        return store_error();
    };
    page(
        &format!("Suggested policy for {}", site.id),
        Some(&v),
        html! {
            form.filters method="get" action={"/sites/" (enc(&site.id)) "/policy"} {
                input type="search" name="page" placeholder="page pattern, e.g. https://shop.example/checkout*" size="48" value=(scope.page.as_deref().unwrap_or_default());
                label { input type="checkbox" name="authorized_only" checked[scope.authorized_only]; " authorized scripts only" }
                label { input type="checkbox" name="urls" checked[scope.urls]; " exact script URLs" }
                button type="submit" { "Suggest" }
            }
            p {
                "From " (s.scripts) " active" @if scope.authorized_only { " authorized" }
                " scripts and " (s.connections) " connections. Apply it report-only first ("
                code { "[[proxy.policies]] mode = \"log\"" } "), enforce once nothing legitimate is refused."
            }
            pre #policy { "Content-Security-Policy: " (s.policy.policy) }
            @if !s.policy.integrity.is_empty() {
                h2 { "Subresource Integrity" }
                table { thead { tr { th { "script" } th { "integrity" } } }
                    tbody { @for (url, hash) in &s.policy.integrity { tr { td.url { (url) } td { code { (hash) } } } } } }
            }
            @if !s.policy.notes.is_empty() {
                h2 { "Notes" }
                ul { @for n in &s.policy.notes { li { (n) } } }
            }
            h2 { "Lint" }
            @if s.findings.is_empty() { p.muted { "Nothing found." } }
            ul { @for f in &s.findings { li { (format!("{:?}", f.severity)) ": " (f.message) " (" code { (f.directive) } ")" } } }
        },
    )
}

#[derive(Deserialize)]
pub(crate) struct AuthorizeForm {
    csrf: String,
    url: String,
    #[serde(default)]
    authorized_by: String,
    /// The version the page showed (refused if the fetcher stored another since).
    sha256: Option<String>,
    /// `authorize` or `revoke`.
    action: String,
}

/// Authorizes a script as it is now, or revokes its authorization, from the script page
/// (session and CSRF token required).
pub(crate) async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Form(f): axum::extract::Form<AuthorizeForm>,
) -> Response {
    let site = match form_site(&state, &headers, &id, &f.csrf).await {
        Ok(site) => site,
        Err(refused) => return refused,
    };
    match f.action.as_str() {
        "authorize" => {
            let request = [crate::authorization::Request {
                url: f.url.clone(),
                seen_sha256: f.sha256.clone().filter(|s| !s.is_empty()),
            }];
            match crate::authorization::authorize(&state, site, &request, &f.authorized_by).await {
                Ok((_, refused)) if refused.is_empty() => {}
                Ok((_, refused)) => return refused_page(&refused[0].1),
                Err(e) => return refused_page(&e),
            }
        }
        "revoke" => {
            if let Err(e) =
                crate::authorization::revoke(&state, site, &f.url, &f.authorized_by).await
            {
                return refused_page(&e);
            }
        }
        _ => return (StatusCode::BAD_REQUEST, "unknown action").into_response(),
    }
    back_to_script(site, &f.url)
}

/// The answer to a refused authorization, for a person.
fn refused_page(e: &crate::authorization::Refused) -> Response {
    (e.status(), e.message()).into_response()
}

/// Authorizes the scripts ticked in a site page's table (session and CSRF token required).
/// The form repeats `url`, which a derived form type cannot take, so the body is read here.
pub(crate) async fn authorize_selected(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let (mut csrf, mut by, mut urls) = (String::new(), String::new(), Vec::new());
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "authorized_by" => by = v.into_owned(),
            "url" if urls.len() < crate::authorization::MAX_BATCH => urls.push(v.into_owned()),
            "url" => {
                return (StatusCode::PAYLOAD_TOO_LARGE, "too many scripts at once").into_response();
            }
            _ => {}
        }
    }
    let site = match form_site(&state, &headers, &id, &csrf).await {
        Ok(site) => site,
        Err(refused) => return refused,
    };
    if urls.is_empty() {
        return (StatusCode::BAD_REQUEST, "no script selected").into_response();
    }
    let requests: Vec<_> = urls
        .iter()
        .map(|u| crate::authorization::Request::now(u))
        .collect();
    match crate::authorization::authorize(&state, site, &requests, &by).await {
        Ok(_) => super::redirect(&format!(
            "/sites/{}?authorization=authorized",
            enc(&site.id)
        )),
        Err(e) => refused_page(&e),
    }
}

async fn export(state: &AppState, headers: &HeaderMap, id: &str, csv: bool) -> Response {
    if viewer(state, headers).await.is_none() {
        return to_login();
    }
    let Some(site) = state.config.sites.iter().find(|s| s.id == id) else {
        return (StatusCode::NOT_FOUND, "unknown site").into_response();
    };
    let Ok(rows) = crate::export::inventory(state, site).await else {
        return store_error();
    };
    let (body, kind, ext) = if csv {
        (
            crate::export::to_csv(&rows),
            "text/csv; charset=utf-8",
            "csv",
        )
    } else {
        (
            serde_json::json!({ "site": site.id, "scripts": rows }).to_string(),
            "application/json",
            "json",
        )
    };
    (
        [
            (axum::http::header::CONTENT_TYPE, kind.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-scripts.{ext}\"", site.id),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn export_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    export(&state, &headers, &id, true).await
}

pub(crate) async fn export_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    export(&state, &headers, &id, false).await
}
